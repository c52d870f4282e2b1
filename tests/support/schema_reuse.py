"""Reuse a migrated schema between tests: empty its tables instead of dropping them and migrating again.

Migrating an empty PostgreSQL or MariaDB database is most of a test's start-up (0.5-0.9 s); emptying
the tables of a schema already at head, which the app's start then leaves alone, takes a few
milliseconds. It is done only when the schema's fingerprint equals the one taken right after a
fresh migration in this process, so a schema a test altered or built by hand is dropped instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

KEEP = "alembic_version"  # the one table whose rows are schema: it says the schema is at head

_PG_FINGERPRINT = """
SELECT concat_ws(E'\\n--\\n',
  (SELECT string_agg(format('%s %s %s %s %s', c.relname, c.relkind, c.relpersistence,
                            c.relrowsecurity, c.reloptions), E'\\n' ORDER BY c.relname)
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(format('%s.%s %s %s %s %s %s %s', c.relname, a.attname,
                            format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                            a.attgenerated, a.attcollation, pg_get_expr(d.adbin, d.adrelid)),
                     E'\\n' ORDER BY c.relname, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\\n' ORDER BY 1)
     FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(format('%s %s %s', x.conrelid::regclass, x.conname, pg_get_constraintdef(x.oid)),
                     E'\\n' ORDER BY 1)
     FROM pg_constraint x WHERE x.connamespace = 'public'::regnamespace),
  (SELECT string_agg(pg_get_triggerdef(t.oid), E'\\n' ORDER BY 1)
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal),
  (SELECT string_agg(format('%s %s %s %s %s %s %s %s', c.relname, s.seqtypid::regtype, s.seqstart,
                            s.seqincrement, s.seqmin, s.seqmax, s.seqcycle,
                            (SELECT format('%s.%s', d.refobjid::regclass, d.refobjsubid) FROM pg_depend d
                              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                AND d.deptype IN ('a', 'i'))),
                     E'\\n' ORDER BY c.relname)
     FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    WHERE c.relnamespace = 'public'::regnamespace),
  (SELECT string_agg(format('%s %s', c.relname, pg_get_viewdef(c.oid)), E'\\n' ORDER BY 1)
     FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('v', 'm')),
  (SELECT string_agg(p.oid::regprocedure::text, E'\\n' ORDER BY 1)
     FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace),
  (SELECT string_agg(format('%s %s', t.typname, t.typtype), E'\\n' ORDER BY 1)
     FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace),
  (SELECT string_agg(e.extname, E'\\n' ORDER BY 1)
     FROM pg_extension e WHERE e.extnamespace = 'public'::regnamespace)
)
"""

# One statement per catalog: MariaDB's information_schema reads are cheap one at a time.
_MYSQL_FINGERPRINT = (
    """SELECT table_name, table_type, engine, table_collation, create_options FROM information_schema.tables
        WHERE table_schema = DATABASE() ORDER BY table_name""",
    """SELECT table_name, column_name, ordinal_position, column_type, is_nullable, column_default, extra,
              collation_name, generation_expression FROM information_schema.columns
        WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position""",
    """SELECT table_name, index_name, non_unique, seq_in_index, column_name, sub_part, index_type
         FROM information_schema.statistics
        WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index""",
    """SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints
        WHERE table_schema = DATABASE() ORDER BY table_name, constraint_name""",
    """SELECT table_name, constraint_name, column_name, referenced_table_name, referenced_column_name
         FROM information_schema.key_column_usage WHERE table_schema = DATABASE()
        ORDER BY table_name, constraint_name, ordinal_position""",
    """SELECT constraint_name, check_clause FROM information_schema.check_constraints
        WHERE constraint_schema = DATABASE() ORDER BY constraint_name""",
    """SELECT trigger_name, event_manipulation, event_object_table, action_timing, action_statement
         FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY trigger_name""",
    """SELECT routine_name, routine_type FROM information_schema.routines
        WHERE routine_schema = DATABASE() ORDER BY routine_name""",
)


def fingerprint(conn: sa.Connection) -> str:
    """The schema as text: tables, columns (type, nullability, default), indexes, constraints,
    triggers, sequences, views, routines, and the rows of alembic_version."""
    if conn.dialect.name == "postgresql":
        parts = [str(conn.execute(sa.text(_PG_FINGERPRINT)).scalar())]
    else:
        parts = [repr(conn.execute(sa.text(query)).all()) for query in _MYSQL_FINGERPRINT]
    if sa.inspect(conn).has_table(KEEP):
        parts.append(repr(conn.execute(sa.text(f"SELECT * FROM {KEEP} ORDER BY 1")).all()))
    return "\n--\n".join(parts)


@dataclass(frozen=True)
class Reference:
    """The schema a fresh migration made in this process, and its tables."""

    fingerprint: str
    tables: tuple[str, ...]


_references: dict[str, Reference] = {}  # by database URL


def has_reference(url: str) -> bool:
    return url in _references


def record(conn: sa.Connection, url: str) -> None:
    """Keep the schema just migrated from an empty database as the one that may be reused."""
    tables = tuple(sorted(t for t in sa.inspect(conn).get_table_names() if t != KEEP))
    _references[url] = Reference(fingerprint(conn), tables)


def empty_if_fresh(conn: sa.Connection, url: str) -> bool:
    """Remove every row (restarting ids at 1) if the schema is the reference; False, untouched, if not."""
    reference = _references.get(url)
    if reference is None or fingerprint(conn) != reference.fingerprint:
        return False
    if conn.dialect.name == "postgresql":
        _empty_pg(conn, reference.tables)
    else:
        _empty_mysql(conn, reference.tables)
    return True


def _with_rows(tables: tuple[str, ...], quote: str) -> str:
    """A query naming the tables that hold a row (one EXISTS each, one round trip)."""
    return " UNION ALL ".join(
        f"SELECT '{t}' AS name FROM (SELECT 1) AS one WHERE EXISTS (SELECT 1 FROM {quote}{t}{quote})"
        for t in tables
    )


# Sequences that handed out a value: owned ones restart with their table's TRUNCATE, others alone.
_PG_USED_SEQUENCES = """
SELECT q.relname, t.relname
  FROM pg_sequences s
  JOIN pg_class q ON q.relname = s.sequencename AND q.relnamespace = 'public'::regnamespace
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = q.oid AND d.deptype IN ('a', 'i')
  LEFT JOIN pg_class t ON t.oid = d.refobjid
 WHERE s.schemaname = 'public' AND s.last_value IS NOT NULL
"""


def _empty_pg(conn: sa.Connection, tables: tuple[str, ...]) -> None:
    """TRUNCATE only the tables touched since the last reset: each one costs a new file per relation."""
    dirty = {row[0] for row in conn.execute(sa.text(_with_rows(tables, '"')))}
    for sequence, owner in conn.execute(sa.text(_PG_USED_SEQUENCES)).all():
        if owner is None:
            conn.execute(sa.text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        else:
            dirty.add(owner)
    if dirty:
        names = ", ".join(f'"{t}"' for t in sorted(dirty))
        conn.execute(sa.text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))


_MYSQL_USED_COUNTERS = """
SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND auto_increment > 1
"""


def _empty_mysql(conn: sa.Connection, tables: tuple[str, ...]) -> None:
    """TRUNCATE (which also restarts AUTO_INCREMENT) only the tables touched since the last reset."""
    if not getattr(conn.dialect, "is_mariadb", False):
        conn.execute(sa.text("SET SESSION information_schema_stats_expiry = 0"))  # MySQL 8 caches it
    dirty = {row[0] for row in conn.execute(sa.text(_with_rows(tables, "`")))}
    dirty |= {row[0] for row in conn.execute(sa.text(_MYSQL_USED_COUNTERS))}
    if not dirty:
        return
    conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
    for name in sorted(dirty):
        conn.execute(sa.text(f"TRUNCATE TABLE `{name}`"))
    conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))

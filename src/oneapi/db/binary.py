"""Byte columns that bind on every driver we use (the fork's varbinary/bytea/blob columns).

aiomysql 0.3 escapes `bytes` parameters with a PyMySQL helper that PyMySQL 1.2 removed, so a
bytes value cannot be bound on MySQL/MariaDB. There the value is sent as hex text and turned
back into bytes by the server (`UNHEX(...)`); reads are unaffected. Other databases bind bytes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary, func
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine


class _MysqlHexBytes(mysql.VARBINARY):
    """VARBINARY(n) on MySQL, written through UNHEX so no bytes parameter is ever bound."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def to_hex(value: Any) -> Any:
            return None if value is None else bytes(value).hex()

        return to_hex

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return func.unhex(bindvalue, type_=LargeBinary())


def Bytes(length: int) -> TypeEngine[bytes]:
    """A byte string column: varbinary(length) on MySQL, bytea on PostgreSQL, blob on SQLite."""
    return LargeBinary().with_variant(_MysqlHexBytes(length), "mysql")

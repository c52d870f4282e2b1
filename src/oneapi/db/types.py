"""Column types that come out as One API's own types on SQLite, PostgreSQL and MySQL."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.dialects import mysql

# Go int64 ids: `integer` on SQLite (so they are rowid aliases and autoincrement), bigint elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Go int64 counters: bigint on PostgreSQL/MySQL, integer (64-bit anyway) on SQLite.
Big = BigInteger().with_variant(Integer(), "sqlite")
# Go strings without a size: text on SQLite/PostgreSQL, longtext on MySQL.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql")


def IndexedText(length: int = 191) -> String:
    """An indexed Go string: GORM gives such a column varchar(191) on MySQL, which can index it."""
    return String(length)

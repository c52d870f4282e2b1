"""SQL_DSN in One API's forms and as SQLAlchemy URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneapi.db.dsn import DsnError, backend_of, to_async_url


def test_empty_dsn_is_sqlite_at_sqlite_path(tmp_path: Path) -> None:
    url = to_async_url("", str(tmp_path / "sub" / "x.db"))
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'x.db'}"
    assert (tmp_path / "sub").is_dir()


@pytest.mark.parametrize(
    ("dsn", "url"),
    [
        ("postgres://u:p@db:5432/oneapi", "postgresql+asyncpg://u:p@db:5432/oneapi"),
        ("postgres://u@db/oneapi?sslmode=disable", "postgresql+asyncpg://u@db/oneapi"),
        ("postgresql://u@db/oneapi?sslmode=require", "postgresql+asyncpg://u@db/oneapi?ssl=require"),
        (
            "root:secret@tcp(localhost:3306)/oneapi?charset=utf8mb4&parseTime=True&loc=Local",
            "mysql+aiomysql://root:secret@localhost:3306/oneapi?charset=utf8mb4",
        ),
        ("root@tcp(127.0.0.1:3306)/test", "mysql+aiomysql://root@127.0.0.1:3306/test?charset=utf8mb4"),
        ("u:p@ss:w@rd@tcp(h:3306)/d", "mysql+aiomysql://u:p%40ss%3Aw%40rd@h:3306/d?charset=utf8mb4"),
        ("mysql://u:p@h:3306/d", "mysql+aiomysql://u:p@h:3306/d?charset=utf8mb4"),
        ("mysql+pymysql://u:p@h/d?charset=utf8", "mysql+aiomysql://u:p@h/d?charset=utf8"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_dsn_forms(dsn: str, url: str) -> None:
    assert to_async_url(dsn, "unused") == url


@pytest.mark.parametrize("dsn", ["oracle://u@h/d", "root@unix(/tmp/sock)/db", "not a dsn"])
def test_unsupported_dsn_is_refused_clearly(dsn: str) -> None:
    with pytest.raises(DsnError):
        to_async_url(dsn, "unused")


def test_backend_of() -> None:
    assert backend_of("postgresql+asyncpg://h/d") == "postgresql"
    assert backend_of("mysql+aiomysql://h/d") == "mysql"
    assert backend_of("sqlite+aiosqlite:///x") == "sqlite"

"""One API's list conventions: zero-based `p`, `size` capped by MAX_ITEMS_PER_PAGE, sort whitelist."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Column, ColumnElement, Table

DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def _int_param(request: Request, *names: str) -> int:
    for name in names:
        raw = request.query_params.get(name)
        if raw:
            try:
                return int(raw)
            except ValueError:
                return 0
    return 0


def page_of(request: Request, max_items: int) -> Page:
    """Offset and limit from `p` and `size` (logs also take `items_per_page`)."""
    page = max(0, _int_param(request, "p"))
    size = _int_param(request, "size", "page_size", "items_per_page")
    if size <= 0:
        size = DEFAULT_PAGE_SIZE
    if max_items > 0:
        size = min(size, max_items)
    return Page(offset=page * size, limit=size)


def order_of(
    request: Request,
    table: Table,
    allowed: Sequence[str],
    legacy: Mapping[str, Sequence[ColumnElement]] | None = None,
) -> list[ColumnElement]:
    """ORDER BY from `sort`/`order` (or `sort_by`/`sort_order`); default `id desc`."""
    sort = request.query_params.get("sort") or request.query_params.get("sort_by") or ""
    direction = (request.query_params.get("order") or request.query_params.get("sort_order") or "").lower()
    if legacy and not sort and direction in legacy:
        return list(legacy[direction])
    if sort in allowed:
        column: Column = table.c[sort]
        return [column.asc() if direction == "asc" else column.desc(), table.c.id.desc()]
    return [table.c.id.desc()]

"""Pagination of multi-column selects (db.paginate keeps only the first column)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import Select, func

from portal.errors import BadInput
from portal.extensions import db

# No list has anywhere near this many pages; the bound keeps a huge ?page= from
# overflowing the database's OFFSET (a 500) and answers it as bad input instead.
MAX_PAGE = 100_000


@dataclass
class Page:
    """One page of rows, with what the shared ``pager`` macro needs (like Flask-SQLAlchemy's Pagination)."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page_arg(name: str = "page") -> int:
    """The page number from the query string: 1 when absent, BadInput (400) unless 1..MAX_PAGE.

    Every paginated view reads its page here, so no list can be asked for page 10**22.
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadInput(_("The page number is not valid."))
    return int(raw)


def paginate_rows(query: Select, page: int, per_page: int) -> Page:
    """The rows of one page (clamped to the last page) and the total: two statements."""
    total = db.session.scalar(db.select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def paginate_statements(count: Select, rows: Select, values: dict, page: int, per_page: int) -> Page:
    """``paginate_rows`` over kept statements: ``count`` counts what ``rows`` selects, ``rows`` takes the
    bound parameters ``limit`` and ``offset``; both run with ``values``."""
    total = db.session.scalar(count, values) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    found = db.session.execute(rows, {**values, "limit": per_page, "offset": (page - 1) * per_page}).all()
    return Page(items=list(found), page=page, per_page=per_page, total=total)

"""Pagination of multi-column selects (db.paginate keeps only the first column)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func

from portal.extensions import db


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


def paginate_rows(query: Select, page: int, per_page: int) -> Page:
    """The rows of one page (clamped to the last page) and the total: two statements."""
    total = db.session.scalar(db.select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)

"""Bulk writes of plain tuples: COPY on PostgreSQL, chunked executemany elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table
from sqlalchemy.engine import Connection

CHUNK_ROWS = 10_000  # rows per executemany batch on databases without COPY


@dataclass
class Counts:
    """Rows written per table, and elapsed time."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n


def column_defaults(table: Table, columns: Sequence[str]) -> tuple[list[str], tuple]:
    """The columns a caller leaves out that have a model default, and their values.

    A callable default (timestamps) is evaluated once per call, so new defaulted
    columns need no change in the generator.
    """
    names, values = [], []
    for column in table.columns:
        if column.name in columns or column.default is None:
            continue
        default = column.default
        names.append(column.name)
        values.append(default.arg(None) if default.is_callable else default.arg)
    return names, tuple(values)


class BulkWriter:
    """Writes tuples to a table and counts them."""

    def __init__(self, conn: Connection, counts: Counts) -> None:
        self.conn = conn
        self.counts = counts
        self.postgres = conn.dialect.name == "postgresql"

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        extra_cols, extra_vals = column_defaults(table, columns)
        all_cols = [*columns, *extra_cols]
        if self.postgres:
            n = self._copy(table, all_cols, rows, extra_vals)
        else:
            n = self._insert_chunks(table, all_cols, rows, extra_vals)
        self.counts.add(table.name, n)
        return n

    def _copy(self, table: Table, columns: Sequence[str], rows: Iterable[tuple], extra: tuple) -> int:
        cursor = self.conn.connection.driver_connection.cursor()
        names = ", ".join(f'"{c}"' for c in columns)
        n = 0
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            write_row = copy.write_row
            # Two loops so the common case (no defaults to add) builds no new tuples.
            if extra:
                for row in rows:
                    write_row(row + extra)
                    n += 1
            else:
                for row in rows:
                    write_row(row)
                    n += 1
        return n

    def _insert_chunks(self, table: Table, columns: Sequence[str], rows: Iterable[tuple], extra: tuple) -> int:
        statement = table.insert()
        n = 0
        batch: list[dict] = []
        for row in rows:
            batch.append(dict(zip(columns, row + extra, strict=True)))
            if len(batch) >= CHUNK_ROWS:
                self.conn.execute(statement, batch)
                n += len(batch)
                batch = []
        if batch:
            self.conn.execute(statement, batch)
            n += len(batch)
        return n

"""Several read-only statements of one request run side by side, all reading one snapshot.

A report (the Outcomes page and its downloads) runs a few statements of some hundreds of
milliseconds each, every one only reading. In turn, the request waits for their sum. On
PostgreSQL they run at once, each on its own connection from the pool, and each imports the
snapshot the request's own transaction exports (``pg_export_snapshot``): all of them read the
database as of one instant, as one statement would (in turn, under READ COMMITTED, each would see
the writes committed between them).

Another connection cannot see what the request's transaction wrote and has not committed: when
a statement names a table the request has written (a session's activity stamp, written once a
minute, concerns no report), the statements run in turn on the request's session. So they do on
SQLite, which cannot hand one snapshot to another connection (and keeps its in-memory test
database on one). Either way the rows are the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, RowMapping

from portal.extensions import db
from portal.sqlutil import dialect_name, uncommitted_tables

Read = tuple[Any, Mapping[str, Any]]  # (an executable statement, its bound values)

# What pg_export_snapshot returns (hex groups and a number): checked before it is put into the
# SET TRANSACTION SNAPSHOT command, which takes no bound parameters.
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+(-[0-9A-F]+)+$")


def read_all(reads: Sequence[Read]) -> list[list[RowMapping]]:
    """Each statement's rows (as mappings), in the order given."""
    session = db.session()
    session.flush()  # changes still pending count as written, as any query's autoflush would write them
    if len(reads) < 2 or dialect_name() != "postgresql" or _reads_own_writes(reads, session.connection()):
        return [session.execute(statement, values).mappings().all() for statement, values in reads]
    snapshot = session.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    if not _SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    engine = db.engine
    # The request's transaction stays open (holding the snapshot) until every read has imported it.
    with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="snapshot-read") as pool:
        futures = [pool.submit(_read_in_snapshot, engine, snapshot, statement, values) for statement, values in reads]
        return [future.result() for future in futures]


def _reads_own_writes(reads: Sequence[Read], conn) -> bool:
    """Whether a statement names a table this transaction has written and not committed."""
    written = uncommitted_tables(conn)
    if not written:
        return False
    named = " ".join(str(statement) for statement, _ in reads).lower()
    return any(re.search(rf"\b{re.escape(table)}\b", named) for table in written)


def _read_in_snapshot(engine: Engine, snapshot: str, statement: Any, values: Mapping[str, Any]) -> list[RowMapping]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        rows = conn.execute(statement, values).mappings().all()
        # COMMIT, not the rollback of closing: psycopg keeps the statements it prepared on this
        # connection only across a commit (see portal.sqlutil.end_reads_with_commit).
        conn.commit()
        return rows

"""The sessions each patient did per day, as adherence counts them, kept by the database itself.

``item_done_day`` holds, per patient and day with any session counted, the sessions counted as
done that day: the care rule's SQL form (``portal.care.adherence_sql.done_sessions_sql``), each
item log against its schedule row in force that day, at most its times a day, none on a day the
row does not ask for or on a paused day. Adherence over many patients (the Outcomes report)
reads these rows, a handful per patient and week, instead of matching a week of every
patient's item logs (251,000 at 10,000 patients) to their schedule rows on each request.

Triggers keep the rows, whichever code wrote (marking an item done, the API, a coach's plan
edit, the demo seed, a test, a console):

- an item log written, changed (its item, patient, day or sessions) or deleted recounts its
  patient's day (before and after the change);
- a schedule row (its item, patient, days in force, times a day or weekdays) or a pause (its
  item or days) recounts the days of its run on which that item has logs, before and after
  the change: a few rows each, read by the item's (item, day) index.

A recount deletes the days' rows and inserts them again from ``done_sessions_sql``, so it is
right whatever the previous state. A bulk load may drop the triggers, write, then ``rebuild``
and put them back (``bench.data`` does). The SQL is text assembled from constants alone.
"""

from __future__ import annotations

from portal.care.adherence_sql import DONE_TABLE, done_sessions_sql
from portal.sqlutil import TriggerKeptTable

_LOG_COLUMNS = "plan_item_id, patient_id, day, sessions_done"
# A schedule row or a pause moves the counts of the days of its run [first, end) (end NULL: no end)
# of its item's patients (those of the item's schedule rows: a log counts against its own
# patient's rows only). (table, trigger name, the columns whose change moves a count, first, end)
_RUNS = (
    (
        "plan_item_schedule",
        "item_done_day_schedule",
        "plan_item_id, patient_id, valid_from, valid_to, times_per_day, weekdays",
        "valid_from",
        "valid_to",
    ),
    ("plan_item_pause", "item_done_day_pause", "plan_item_id, started_on, ended_on", "started_on", "ended_on"),
)
_LOG_TRIGGER = "item_done_day_log"
_LOCK_CLASS = 74_110  # the first key of the recounts' per-patient advisory locks (the second: the patient)


def recount_sql(dialect: str, patients: str, days: str, lock: str = "") -> list[str]:
    """The statements that recount the days of some patients: ``patients`` and ``days`` are SQL
    conditions on the columns ``patient_id`` and ``day`` (of the kept rows and of the logs alike).

    On PostgreSQL a recount first takes a lock per patient (``lock``: a SELECT of their ids),
    held to the end of the transaction: two transactions writing the same patient's logs at
    once would otherwise both delete the old row and insert their own (a duplicate key), or
    count without the other's logs. Waiting for the lock, the recount's statements then see
    what the other committed. SQLite runs one writer at a time."""
    where = f"{patients.format(c='l.patient_id')} AND {days.format(c='l.day')}"
    locked = []
    if dialect == "postgresql":
        locked = [f"PERFORM pg_advisory_xact_lock({_LOCK_CLASS}, q.patient_id) FROM ({lock}) q"]
    return locked + [
        f"DELETE FROM {DONE_TABLE} WHERE {patients.format(c='patient_id')} AND {days.format(c='day')}",  # noqa: S608 - constants only  # nosec B608
        f"INSERT INTO {DONE_TABLE} (patient_id, day, done)\n{done_sessions_sql(dialect, where)}",  # noqa: S608 - constants only  # nosec B608
    ]


def _log_recount(dialect: str, row: str) -> list[str]:
    """Recount the day of the item log ``row`` (NEW or OLD in a trigger)."""
    return recount_sql(
        dialect, f"{{c}} = {row}.patient_id", f"{{c}} = {row}.day", f"SELECT {row}.patient_id AS patient_id"
    )


def _run_recount(dialect: str, table: str, first: str, end: str, row: str) -> list[str]:
    """Recount the days of the run of ``row`` (a schedule row or a pause, NEW or OLD) for its item's patients."""
    ids = f"SELECT DISTINCT k.patient_id FROM plan_item_schedule k WHERE k.plan_item_id = {row}.plan_item_id"  # noqa: S608 - constants only  # nosec B608
    patients, lock = f"{{c}} IN ({ids})", f"{ids} ORDER BY 1"
    if table == "plan_item_schedule":
        patients, lock = f"{{c}} = {row}.patient_id", f"SELECT {row}.patient_id AS patient_id"
    days = f"{{c}} >= {row}.{first} AND ({row}.{end} IS NULL OR {{c}} < {row}.{end})"
    return recount_sql(dialect, patients, days, lock)


def rebuild_sql(dialect: str) -> list[str]:
    """The statements that recount every patient's days."""
    return [
        f"DELETE FROM {DONE_TABLE}",  # noqa: S608 - constants only  # nosec B608
        f"INSERT INTO {DONE_TABLE} (patient_id, day, done)\n{done_sessions_sql(dialect, '1 = 1')}",  # noqa: S608 - constants only  # nosec B608
    ]


def _body(statements: list[str]) -> str:
    return "".join(f"  {s};\n" for s in statements)


def _pg_function(name: str, old: list[str], new: list[str]) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
{_body(old)}  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
{_body(new)}  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql"""


def _watched(dialect: str):
    """(table, trigger name, watched columns, the recount for a row) of each table a count depends on."""
    yield "item_log", _LOG_TRIGGER, _LOG_COLUMNS, lambda row: _log_recount(dialect, row)
    for table, name, columns, first, end in _RUNS:
        yield table, name, columns, lambda row, t=table, f=first, e=end: _run_recount(dialect, t, f, e, row)


def create_triggers_sql(dialect: str) -> list[str]:
    """The triggers (and on PostgreSQL their functions) that keep ``item_done_day``: a recount after
    any insert, delete or change of a watched column, of the days before and after the change."""
    statements = []
    for table, name, columns, recount in _watched(dialect):
        if dialect == "postgresql":
            statements.append(_pg_function(f"{name}_on_change", recount("OLD"), recount("NEW")))
            statements.append(
                f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_on_change()"
            )
            continue
        for change, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), (f"UPDATE OF {columns}", ("OLD", "NEW"))):
            body = _body([s for row in rows for s in recount(row)])
            suffix = change.split()[0].lower()
            statements.append(f"CREATE TRIGGER {name}_{suffix} AFTER {change} ON {table} FOR EACH ROW BEGIN\n{body}END")
    return statements


def drop_triggers_sql(dialect: str) -> list[str]:
    watched = [(table, name) for table, name, _, _ in _watched(dialect)]
    if dialect == "postgresql":
        statements = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in watched]
        return statements + [f"DROP FUNCTION IF EXISTS {name}_on_change()" for _, name in watched]
    return [
        f"DROP TRIGGER IF EXISTS {name}_{suffix}" for _, name in watched for suffix in ("insert", "delete", "update")
    ]


_kept = TriggerKeptTable(create_triggers_sql, drop_triggers_sql, rebuild_sql)
create_triggers = _kept.create_triggers
drop_triggers = _kept.drop_triggers
rebuild = _kept.rebuild  # recount every patient's days (after a load written without the triggers)
attach = _kept.attach  # make the triggers with the tables in create_all (the tests)

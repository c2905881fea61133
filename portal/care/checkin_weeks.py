"""Each patient's check-ins summed per week of their programme, kept by the database itself.

A patient's programme starts with their first plan (the earliest ``plan.start_date``): week 0
is days 0-6 from it, week 1 days 7-13, and so on. ``checkin_week`` holds, per patient and week
with check-ins, the sum and count of the pains and the latest check-in day; check-ins before the
start are in no week. The Outcomes pain chart reads these rows (some 130,000 at 10,000 patients
over a 13-week chart) instead of grouping every check-in of the practice (660,000).

Triggers keep the rows: any insert, delete or change of a check-in (its patient, day or pain) or
of a plan (its patient or start) recounts that patient's weeks from their check-ins, whichever
code wrote it (the check-in form, the API, the demo seed, a test, a console). A patient's
recount reads their own check-ins by the (patient, day) index: a year of them is a few hundred
rows. A bulk load may drop the triggers, write, then ``rebuild`` and put them back
(``bench.data`` does).

One definition of the summary for every use: ``recount_sql`` (one patient, in the triggers) and
``rebuild_sql`` (every patient: the migration's backfill and the bench's load) group the same
way. The SQL is text assembled from this module's constants alone.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.engine import Connection

TABLE = "checkin_week"
# (table, trigger name prefix, the columns whose change moves a week)
WATCHED = (
    ("checkin", "checkin_week_checkin", "patient_id, day, pain"),
    ("plan", "checkin_week_plan", "patient_id, start_date"),
)
_FUNCTIONS = ("checkin_week_on_change()", "checkin_week_recount(integer)")

# Whole days from the start to a check-in's day.
_DAYS = {
    "postgresql": "(c.day - s.start_date)",
    "sqlite": "CAST(julianday(c.day) - julianday(s.start_date) AS INTEGER)",
}


def _grouped(dialect: str, starts: str, where: str) -> str:
    """INSERT the weeks of the check-ins of ``where`` counted from ``starts`` (patient_id, start_date)."""
    week = f"{_DAYS[dialect]} / 7"
    return f"""INSERT INTO {TABLE} (patient_id, week, pain_sum, pain_n, last_day)
SELECT c.patient_id, {week}, SUM(c.pain), COUNT(*), MAX(c.day)
FROM checkin c JOIN ({starts}) s ON s.patient_id = c.patient_id
WHERE {where} AND c.day >= s.start_date
GROUP BY c.patient_id, {week}"""  # noqa: S608 - constants only  # nosec B608


def recount_sql(dialect: str, patient: str) -> list[str]:
    """The statements that recount the weeks of the patient whose id is the SQL expression ``patient``."""
    starts = f"SELECT p.patient_id, MIN(p.start_date) AS start_date FROM plan p WHERE p.patient_id = {patient} GROUP BY p.patient_id"  # noqa: S608 - constants only  # nosec B608
    return [
        f"DELETE FROM {TABLE} WHERE patient_id = {patient}",  # noqa: S608 - constants only  # nosec B608
        _grouped(dialect, starts, f"c.patient_id = {patient}"),
    ]


def rebuild_sql(dialect: str) -> list[str]:
    """The statements that recount every patient's weeks."""
    starts = "SELECT p.patient_id, MIN(p.start_date) AS start_date FROM plan p GROUP BY p.patient_id"
    return [f"DELETE FROM {TABLE}", _grouped(dialect, starts, "1 = 1")]  # noqa: S608 - constants only  # nosec B608


def create_triggers_sql(dialect: str) -> list[str]:
    """The triggers (and on PostgreSQL their functions) that keep ``checkin_week``."""
    if dialect == "postgresql":
        body = ";\n  ".join(recount_sql(dialect, "pid"))
        statements = [
            f"""CREATE OR REPLACE FUNCTION checkin_week_recount(pid integer) RETURNS void AS $$
BEGIN
  {body};
END $$ LANGUAGE plpgsql""",
            """CREATE OR REPLACE FUNCTION checkin_week_on_change() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM checkin_week_recount(NEW.patient_id);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM checkin_week_recount(OLD.patient_id);
  ELSE
    PERFORM checkin_week_recount(OLD.patient_id);
    IF NEW.patient_id <> OLD.patient_id THEN
      PERFORM checkin_week_recount(NEW.patient_id);
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
        ]
        for table, name, columns in WATCHED:
            statements.append(
                f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION checkin_week_on_change()"
            )
        return statements
    statements = []
    for table, name, columns in WATCHED:
        for change, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), (f"UPDATE OF {columns}", ("OLD", "NEW"))):
            body = "".join(f"  {s};\n" for row in rows for s in recount_sql(dialect, f"{row}.patient_id"))
            suffix = change.split()[0].lower()
            statements.append(f"CREATE TRIGGER {name}_{suffix} AFTER {change} ON {table} FOR EACH ROW BEGIN\n{body}END")
    return statements


def drop_triggers_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        statements = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name, _ in WATCHED]
        return statements + [f"DROP FUNCTION IF EXISTS {function}" for function in _FUNCTIONS]
    return [
        f"DROP TRIGGER IF EXISTS {name}_{suffix}" for _, name, _ in WATCHED for suffix in ("insert", "delete", "update")
    ]


def _run(conn: Connection, statements: list[str]) -> None:
    for statement in statements:
        conn.execute(text(statement))


def create_triggers(conn: Connection) -> None:
    _run(conn, create_triggers_sql(conn.dialect.name))


def drop_triggers(conn: Connection) -> None:
    _run(conn, drop_triggers_sql(conn.dialect.name))


def rebuild(conn: Connection) -> None:
    """Recount every patient's weeks (after a load written without the triggers)."""
    _run(conn, rebuild_sql(conn.dialect.name))


def attach(metadata) -> None:
    """Create the triggers whenever ``metadata.create_all`` makes the tables (the tests; the
    migrations create them themselves)."""

    def create(target, connection, **kw) -> None:
        drop_triggers(connection)  # create_all on existing tables fires this too
        create_triggers(connection)

    event.listen(metadata, "after_create", create)

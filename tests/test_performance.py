"""Cost guards: what a page loads, in how many statements, on generated data."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bench.data import EMAIL_DOMAIN, bench_data_command
from portal.auth.models import Role, User
from portal.care import pauses, progress
from portal.care import plans as plan_service
from portal.care.attention import order_by_attention
from portal.care.checkins import patient_today
from portal.care.models import CheckIn, PlanItem, PlanItemSchedule
from portal.care.plans import active_plan
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.coaching.review import review_for
from portal.timeutil import utcnow
from tests.conftest import login
from tests.plan_factories import make_item, make_plan


@pytest.fixture
def bench(app, db):
    """A small generated practice: 12 patients, one coach, 40 days of history."""
    result = app.test_cli_runner().invoke(bench_data_command, args=["--patients", "12", "--days", "40", "--seed", "7"])
    assert result.exit_code == 0, result.output
    patients = list(
        db.session.scalars(
            select(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"), User.role == Role.PATIENT).order_by(User.id)
        )
    )
    coach = db.session.get(User, patients[0].coach_id)
    return patients, coach


def test_active_plan_loads_in_one_statement(bench, queries, db):
    patients, _coach = bench
    db.session.expunge_all()
    with queries() as stmts:
        plan = active_plan(patients[0].id)
        titles = [item.library_item.title for item in plan.items]
        coach_name = plan.coach.name
    assert len(stmts) == 1
    assert 6 <= len(titles) <= 10 and coach_name
    db.session.expunge_all()
    with queries() as stmts:
        plan = plan_service.active_plan(patients[0].id)
        _ = [item.library_item.title for item in plan.items], plan.coach.name
    assert len(stmts) == 1


def test_chart_data_matches_the_progress_page_with_fewer_statements(bench, queries):
    patients, _coach = bench
    patient = patients[0]
    today = patient_today(patient)
    with queries() as page_stmts:
        full = progress.progress_for(patient.id, today, 30)
    with queries() as chart_stmts:
        charts = progress.chart_data_for(patient.id, today, 30)
    assert charts == full.chart_data()
    assert len(chart_stmts) < len(page_stmts)


def test_progress_page_reads_plan_items_once(bench, queries):
    patients, _coach = bench
    with queries() as stmts:
        data = progress.progress_for(patients[0].id, patient_today(patients[0]), 30)
    # The items' schedule rows (the done counts join them too, but from item_log).
    item_reads = [s for s in stmts if re.search(r"FROM plan_item_schedule\b", s)]
    assert len(item_reads) == 1
    # Both adherence figures still come out of that one read.
    assert data.items and any(week["due"] for week in data.weekly_adherence)


def test_progress_page_counts_done_sessions_once_with_the_figures_of_each_rule(bench, queries):
    """The weekly chart and the last four weeks per item come out of one done-count statement,
    with the figures ``weekly_adherence`` and ``item_adherence`` give on their own."""
    patients, _coach = bench
    for patient in patients:
        today = patient_today(patient)
        with queries() as stmts:
            data = progress.progress_for(patient.id, today, 30)
        assert len([s for s in stmts if re.search(r"FROM item_log\b", s)]) == 1
        alone = progress.item_adherence(patient.id, today - timedelta(days=27), today)
        assert [(a.item.id, a.due, a.done, a.current) for a in data.items] == [
            (a.item.id, a.due, a.done, a.current) for a in alone
        ]
        assert data.weekly_adherence == progress.weekly_adherence(patient.id, today)


def test_roster_review_is_right_and_flat_in_history(bench, queries, db):
    patients, _coach = bench
    ids = [p.id for p in patients]
    today = patient_today(patients[0])
    expected = {}
    for pid in ids:
        last = db.session.scalar(select(CheckIn).where(CheckIn.patient_id == pid).order_by(CheckIn.day.desc()).limit(1))
        expected[pid] = (last.day, last.pain) if last else (None, None)
    with queries() as first:
        review = review_for(ids, today)
    assert {pid: (r.last_checkin, r.latest_pain) for pid, r in review.items()} == expected
    # Another year of history for everyone: the same statements (no per-day or per-patient work).
    for pid in ids:
        for back in range(41, 400, 3):
            db.session.add(CheckIn(patient_id=pid, day=today - timedelta(days=back), pain=5, stiffness=5))
    db.session.commit()
    with queries() as second:
        again = review_for(ids, today)
    assert len(second) == len(first)
    assert {pid: r.last_checkin for pid, r in again.items()} == {pid: v[0] for pid, v in expected.items()}


def test_attention_order_uses_only_the_coachs_patients(bench, db):
    patients, coach = bench
    query = order_by_attention(plan_service.roster_query(coach), date.today(), utcnow())
    sql = str(query.compile(db.engine))
    # Correlated per-patient subqueries, not a GROUP BY over the whole check-in table.
    assert "GROUP BY" not in sql.upper()
    rows = db.session.execute(query).all()
    assert {row[0].id for row in rows} == {p.id for p in patients}


def test_generated_coach_pages_render(bench, app):
    patients, coach = bench
    client = app.test_client()
    assert login(client, coach, password=app.config["DEMO_PASSWORD"]).status_code == 302
    assert client.get("/coach/?sort=attention").status_code == 200
    assert client.get(f"/coach/patients/{patients[0].id}/progress/data.json").status_code == 200


def test_patient_page_is_audited_without_reloading_people(bench, app, queries, db):
    from portal.audit import AuditEvent

    patients, coach = bench
    client = app.test_client()
    assert login(client, coach, password=app.config["DEMO_PASSWORD"]).status_code == 302
    with queries() as stmts:
        assert client.get(f"/coach/patients/{patients[0].id}").status_code == 200
    # Rendering happens before the audit commit, so nothing is expired mid-page: after the
    # audit INSERT the coach is re-read at most once, by Flask-Login at the very end.
    insert_at = next(i for i, s in enumerate(stmts) if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"))
    reloads = [i for i, s in enumerate(stmts) if i > insert_at and s.lstrip().startswith("SELECT user_account.id")]
    assert all(i == len(stmts) - 1 for i in reloads), reloads
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.view"))
    assert event is not None and event.patient_id == patients[0].id


def test_due_count_matches_the_day_by_day_schedule():
    from datetime import date

    from portal.care.models import PlanItem

    start = date(2026, 1, 1)
    for weekdays in ("0123456", "024", "5", "135"):
        item = PlanItem(weekdays=weekdays)
        for plan_start, plan_end, lo, hi in (
            (start, None, start, start + timedelta(days=40)),
            (start + timedelta(days=3), start + timedelta(days=17), start, start + timedelta(days=27)),
            (start + timedelta(days=30), None, start, start + timedelta(days=6)),
        ):
            first, last = max(lo, plan_start), min(hi, plan_end) if plan_end else hi
            expected = sum(item.is_due_on(first + timedelta(days=n)) for n in range((last - first).days + 1))
            assert progress._due_count(weekdays, plan_start, plan_end, lo, hi) == expected


def test_roster_adherence_builds_no_plan_item_objects(bench, queries):
    patients, _coach = bench
    ids = [p.id for p in patients]
    today = patient_today(patients[0])
    with queries() as stmts:
        totals = progress.adherence_by_patient(ids, today - timedelta(days=6), today)
    # Columns only: no library item texts joined in for a page of patients.
    assert not any("library_item" in s for s in stmts)
    assert set(totals) == set(ids) and all(done <= due for due, done in totals.values())


def test_private_pages_stay_no_store_without_reloading_the_user(bench, app, queries):
    import re

    patients, _coach = bench
    client = app.test_client()
    assert login(client, patients[0], password=app.config["DEMO_PASSWORD"]).status_code == 302
    html = client.get("/me/").get_data(as_text=True)
    action = re.search(r'action="(/me/today/items/\d+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    with queries() as stmts:
        response = client.post(action, data={"csrf_token": token, "done": "1"})
    assert response.status_code in (302, 303)
    assert response.headers["Cache-Control"] == "no-store"
    # The commit expired the user; deciding "private page" must not read it back.
    assert not stmts[-1].lstrip().startswith("SELECT user_account")
    assert client.get("/me/").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("page", ["today", "step", "summary"])
def test_today_and_session_pages_stay_flat_as_the_plan_grows(patient, patient_client, queries, db, page):
    from portal.care.models import PlanItem
    from tests.plan_factories import make_item, make_plan

    def path(movements: int) -> str:
        return {"today": "/me/", "step": "/me/today/session/1", "summary": f"/me/today/session/{movements + 1}"}[page]

    plan = make_plan(patient, items=[make_item(kind=k) for k in ("exercise", "exercise", "posture", "diet")])
    patient_client.get(path(2))  # warm: the first request of a client signs the session in
    with queries() as few:
        first = patient_client.get(path(2))
    for n in range(20):
        db.session.add(PlanItem(plan_id=plan.id, library_item_id=make_item().id, times_per_day=3, position=5 + n))
    db.session.commit()
    with queries() as many:
        second = patient_client.get(path(22))
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(many) == len(few)


def test_today_and_coach_page_stay_flat_as_items_are_paused(patient, coach, patient_client, coach_client, queries, db):
    """Each item's pause (and who paused it) comes with the plan's one statement, not one per item."""
    coach_page = f"/coach/patients/{patient.id}"  # read once: the test's own reads stay out of the counts
    plan = make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")])
    first = active_plan(patient.id)
    pauses.pause_item(first, first.items[0], "Knee first", coach)
    db.session.commit()
    patient_client.get("/me/")
    coach_client.get(coach_page)
    with queries() as today_few:
        patient_client.get("/me/")
    with queries() as coach_few:
        coach_client.get(coach_page)
    for n in range(12):
        db.session.add(PlanItem(plan_id=plan.id, library_item_id=make_item().id, times_per_day=1, position=5 + n))
    db.session.commit()
    current = active_plan(patient.id)
    for item in current.items[2:]:
        pauses.pause_item(current, item, f"Reason {item.id}", coach)
    db.session.commit()
    with queries() as today_many:
        html = patient_client.get("/me/").get_data(as_text=True)
    with queries() as coach_many:
        page = coach_client.get(coach_page).get_data(as_text=True)
    assert html.count("Paused by your coach:") == 13 and page.count("Paused since") == 13
    assert len(today_many) == len(today_few)
    assert len(coach_many) == len(coach_few)


def test_coach_patient_page_writes_its_audit_row_after_every_read(patient, coach, coach_client, queries):
    """The page's one write (the audit row of the view) comes after its reads: written first, it
    would be flushed by the render's first query and, on SQLite, hold the write lock (and make
    every other writer wait) for the whole render."""
    make_plan(patient, coach, [make_item(title="Cat-cow stretch")])
    coach_client.get(f"/coach/patients/{patient.id}")
    with queries() as stmts:
        assert coach_client.get(f"/coach/patients/{patient.id}").status_code == 200
    writes = [i for i, sql in enumerate(stmts) if sql.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT")]
    assert len(writes) == 1
    assert not [sql for sql in stmts[writes[0] + 1 :] if sql.lstrip().upper().startswith("SELECT")]


def test_today_reads_what_it_shows_in_seven_statements(patient, patient_client, queries, db):
    """The session, the plan with its items, today's logs, the red-flag state (open alert and
    pause together), today's check-in, the intake's state with the patient's goals and their
    ratings, and the unread-messages badge: one statement each."""
    from tests.plan_factories import make_item, make_plan

    make_plan(patient, items=[make_item(kind=k) for k in ("exercise", "posture", "diet")])
    patient_client.get("/me/")
    with queries() as statements:
        assert patient_client.get("/me/").status_code == 200
    assert len(statements) <= 7, "\n".join(statements)


def test_a_coachs_badges_are_one_statement(coach, patient, coach_client, queries, db):
    """Unread messages and open alerts, the two navigation badges, are read together."""
    coach_client.get("/coach/programs")
    with queries() as statements:
        assert coach_client.get("/coach/programs").status_code == 200
    badge_reads = [s for s in statements if "FROM message" in s or "FROM alert" in s]
    assert len(badge_reads) == 1, "\n".join(badge_reads)
    assert "FROM message" in badge_reads[0] and "FROM alert" in badge_reads[0]


def test_marking_an_item_done_is_four_statements(patient, patient_client, queries, db):
    """The session, the item with its plan and pause, the red-flag pause, the upsert: nothing read
    again after the commit."""
    import re

    from tests.plan_factories import make_item, make_plan

    make_plan(patient, items=[make_item(kind="exercise")])
    html = patient_client.get("/me/").get_data(as_text=True)
    action = re.search(r'action="(/me/today/items/\d+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    with queries() as statements:
        response = patient_client.post(action, data={"csrf_token": token, "done": "1"})
    assert response.status_code == 302
    assert len(statements) <= 4, "\n".join(statements)


def test_saving_the_check_in_again_reads_it_once(patient, patient_client, queries, db):
    """Saving today's check-in reads the saved row once and not again after the commit."""
    from tests.conftest import csrf_token

    data = {"pain": "4", "stiffness": "3", "spasm_episodes": "0", "sleep_quality": "3", "water_glasses": "6"}
    data.update(dict.fromkeys(RED_FLAG_FIELDS, "no"))
    data["csrf_token"] = csrf_token(patient_client, "/me/checkin")
    assert patient_client.post("/me/checkin", data=data).status_code == 302
    with queries() as statements:
        assert patient_client.post("/me/checkin", data=data).status_code == 302
    reads = [s for s in statements if s.lstrip().startswith("SELECT checkin.id")]
    assert len(reads) == 1, "\n".join(reads)


def test_what_a_patient_logs_is_on_the_next_page_of_patient_and_coach(patient, coach, patient_client, coach_client, db):
    """Nothing that shows health data is cached: marking done, a check-in and a red flag appear
    on the very next page of the patient and of their coach (badges included)."""
    import re

    from tests.conftest import csrf_token
    from tests.plan_factories import make_item, make_plan

    make_plan(patient, items=[make_item(kind="exercise", title="Cat and cow")])
    patient_page = f"/coach/patients/{patient.id}"
    before_today = patient_client.get("/me/").get_data(as_text=True)  # warm every per-process memo
    before_coach = coach_client.get(patient_page).get_data(as_text=True)
    assert "0 of 2 sessions done today" in before_today and 'data-badge="open_alerts"' not in before_coach

    action = re.search(r'action="(/me/today/items/\d+)"', before_today).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', before_today).group(1)
    assert "0 of 2 today" in before_today  # two sessions a day
    assert patient_client.post(action, data={"csrf_token": token, "done": "1"}).status_code == 302
    assert "1 of 2 today" in patient_client.get("/me/").get_data(as_text=True)

    answers = {"pain": "6", "stiffness": "3", "spasm_episodes": "1", "sleep_quality": "3", "water_glasses": "6"}
    answers.update(dict.fromkeys(RED_FLAG_FIELDS, "no"))
    answers.update(rf_walking="yes", notes="Twinge after gardening")
    answers["csrf_token"] = csrf_token(patient_client, "/me/checkin")
    assert patient_client.post("/me/checkin", data=answers).status_code == 302

    coach_view = coach_client.get(patient_page).get_data(as_text=True)
    assert "Twinge after gardening" in coach_view
    assert re.search(r'data-badge="open_alerts">1<', coach_view)  # the red flag, at once
    assert 'role="alert"' in patient_client.get("/me/").get_data(as_text=True)  # the safety box


def test_patient_and_coach_pages_stay_flat_as_plan_history_grows(
    patient, coach, patient_client, coach_client, queries, db
):
    """Today, progress (page and chart data), the roster and the coach's patient page read the
    same number of statements after two months of changes: re-doses and reschedules (a schedule
    row each), pauses, removed and added items, replaced plans and a session logged every day."""
    import time_machine

    from portal.care.dosing import Dose
    from portal.care.models import ItemLog
    from portal.timeutil import local_today
    from tests.plan_factories import make_program

    today = local_today(patient.tz)
    pages = [
        patient_client,
        "/me/",
        "/me/progress",
        "/me/progress/data.json?days=90",
        coach_client,
        "/coach/",
        f"/coach/patients/{patient.id}",
    ]

    def counts() -> list[int]:
        found, client = [], None
        for entry in pages:
            if not isinstance(entry, str):
                client = entry
                continue
            client.get(entry)  # warm: per-process memos are not what this measures
            with queries() as stmts:
                assert client.get(entry).status_code == 200, entry
            found.append(len(stmts))
        return found

    def on(day):
        return time_machine.travel(datetime.combine(day, time(12), tzinfo=ZoneInfo(patient.tz)), tick=False)

    def program(n: int):
        return make_program(coach, [make_item(title=f"Move {n}.{k}") for k in range(3)])

    start = today - timedelta(days=60)
    # One earlier plan from the start: the coach's page lists ended plans (their items and coach
    # load once, whatever their number).
    plan = None
    for day in (start - timedelta(days=1), start):
        with on(day):
            plan = plan_service.assign_program(
                patient, program(0), coach, title="Back plan", goals="", start_date=day, replaces=plan
            )
            db.session.commit()
    db.session.add(ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=start))
    db.session.add(CheckIn(patient_id=patient.id, day=start, pain=4, stiffness=3))
    db.session.commit()
    few = counts()

    for offset in range(59, 0, -1):
        day = today - timedelta(days=offset)
        with on(day):
            if offset % 20 == 0:  # a new plan every twenty days
                plan = plan_service.assign_program(
                    patient, program(offset), coach, title="Back plan", goals="", start_date=day, replaces=plan
                )
            items = [item for item in plan.items if item.is_active]
            item = items[offset % len(items)]
            if offset % 7 == 3:
                pauses.pause_item(plan, item, "Rest", coach)
            elif item.open_pause is not None:
                pauses.resume_item(plan, item, coach)
            elif offset % 9 == 4 and len(items) > 2:
                plan_service.remove_item(plan, item, coach)
                plan_service.add_items(plan, [make_item(title=f"Added {offset}")], coach)
            else:
                dose = Dose.of(item, note_attr="coach_note")
                weekdays = "0123456" if dose.weekdays != "0123456" else "024"
                plan_service.update_item(
                    plan, item, Dose(dose.sets, dose.reps, dose.hold_seconds, offset % 3 + 1, weekdays), coach
                )
            db.session.commit()
        for live in plan.items:
            if live.is_active:
                db.session.add(ItemLog(plan_item_id=live.id, patient_id=patient.id, day=day))
        db.session.add(CheckIn(patient_id=patient.id, day=day, pain=offset % 10, stiffness=3))
        db.session.commit()
    rows = db.session.scalar(select(func.count()).select_from(PlanItemSchedule))
    assert rows > 40  # the history really grew
    assert counts() == few


def test_patient_and_coach_pages_stay_flat_as_alerts_messages_and_weekly_checks_accumulate(
    patient, coach, patient_client, coach_client, queries, db
):
    """Today, progress (page and chart data), the roster and the coach's patient page read the
    same number of statements after half a year of resolved red-flag and pain alerts (each with
    the check-in and note that raised it, and who resolved it), one open alert of each kind,
    weekly checks and messages both ways: each list is one statement, never one per row."""
    from portal.care.models import Alert, AlertKind, WeeklyOutcome
    from portal.messaging.services import send_message
    from portal.timeutil import local_today

    today = local_today(patient.tz)
    make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")])
    pages = [
        (patient_client, "/me/"),
        (patient_client, "/me/progress"),
        (patient_client, "/me/progress/data.json?days=90"),
        (coach_client, "/coach/"),
        (coach_client, f"/coach/patients/{patient.id}"),
    ]

    def counts() -> list[int]:
        found = []
        for client, path in pages:
            client.get(path)  # warm: per-process memos are not what this measures
            with queries() as stmts:
                assert client.get(path).status_code == 200, path
            found.append(len(stmts))
        return found

    def alert(kind: str, back: int, resolved: bool) -> None:
        day = today - timedelta(days=back)
        checkin = CheckIn(patient_id=patient.id, day=day, pain=7, stiffness=5, notes=f"Tingling, day {back}")
        db.session.add(checkin)
        db.session.flush()
        opened = datetime.combine(day, time(15))
        red = kind == AlertKind.RED_FLAG
        # A core INSERT: the ORM would put open_key's default in place of a resolved alert's NULL.
        db.session.execute(
            db.insert(Alert).values(
                patient_id=patient.id,
                kind=kind,
                tier="today" if red else None,
                severity=1 if red else 4,
                summary=f"Raised on day {back}",
                checkin_id=checkin.id,
                opened_at=opened,
                tier_at=opened if red else None,
                open_key=None if resolved else 1,
                resolved_at=opened + timedelta(hours=2) if resolved else None,
                resolved_by_id=coach.id if resolved else None,
                note="Called, advised rest." if resolved else "",
            )
        )

    alert(AlertKind.PAIN_WORSENING, 170, resolved=True)
    db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=today - timedelta(days=today.weekday() + 7 * 25),
            pain_average=6,
            enjoyment_interference=5,
            activity_interference=5,
        )
    )
    send_message(patient, patient, "Is it fine to walk the dog?")
    send_message(coach, patient, "Yes, short walks are good.")
    db.session.commit()
    few = counts()

    for back in range(160, 1, -6):
        alert(AlertKind.RED_FLAG if back % 4 else AlertKind.PAIN_WORSENING, back, resolved=True)
    for week in range(1, 25):
        monday = today - timedelta(days=today.weekday() + 7 * week)
        db.session.add(
            WeeklyOutcome(
                patient_id=patient.id,
                week_start=monday,
                pain_average=week % 10,
                enjoyment_interference=4,
                activity_interference=3,
            )
        )
    alert(AlertKind.RED_FLAG, 1, resolved=False)
    alert(AlertKind.PAIN_WORSENING, 0, resolved=False)
    for n in range(20):
        send_message(patient, patient, f"Question {n}")
        send_message(coach, patient, f"Answer {n}")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Alert)) > 25  # the history really grew
    assert counts() == few
    coach_page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    # The coach's page does show the alerts with the patient's notes from their check-ins.
    assert coach_page.count("Raised on day") >= 10 and coach_page.count("Tingling, day") >= 10

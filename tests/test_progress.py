"""Progress figures (SQL aggregation), the progress page and chart JSON, and the coach's review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.alerts import open_alert
from portal.care.checkins import patient_today
from portal.care.models import ALERT_SEVERITY, AlertKind, CheckIn, ItemLog, WeeklyOutcome
from portal.care.progress import item_adherence, progress_for, streaks, summary, weekly_adherence
from portal.coaching.review import patient_summary, review_for
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.test_checkins import make_plan

# The care rules depend on the patient's local day: run at a chosen instant, not the machine's today.
pytestmark = pytest.mark.usefixtures("care_clock")


def add_days(db, patient, offsets, pain=5, **kw):
    today = patient_today(patient)
    for offset in offsets:
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=pain, stiffness=2, **kw))
    db.session.commit()


# --- figures -------------------------------------------------------------------------


def test_streaks_current_and_longest(db, patient):
    today = patient_today(patient)
    assert streaks(patient.id, today) == (0, 0)
    add_days(db, patient, [1, 2, 3, 5, 6, 7, 8, 9, 20])
    assert streaks(patient.id, today) == (3, 5)  # yesterday back to 3 days ago counts
    add_days(db, patient, [0, 4])
    assert streaks(patient.id, today) == (10, 10)


def test_streak_breaks_after_a_missed_day(db, patient):
    add_days(db, patient, [2, 3, 4])
    assert streaks(patient.id, patient_today(patient))[0] == 0


def test_summary_averages_in_sql(db, patient):
    today = patient_today(patient)
    add_days(db, patient, [0, 1], pain=2)  # last week
    add_days(db, patient, [28, 29], pain=8, spasm_episodes=3, rf_fall_injury=True)  # first week
    s = summary(patient.id, today - timedelta(days=29), today)
    assert (s.checkins, s.pain_avg, s.spasms_total, s.red_flag_days) == (4, 5.0, 6, 2)
    assert (s.pain_first_week, s.pain_last_week, s.pain_change) == (8.0, 2.0, -6.0)


def test_adherence_counts_due_days_and_caps_at_100(db, patient, coach):
    today = patient_today(patient)
    plan = make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=30))
    daily = plan.items[0]
    start = today - timedelta(days=6)
    for offset in range(0, 7):
        if offset % 2 == 0:
            db.session.add(
                ItemLog(plan_item_id=daily.id, patient_id=patient.id, day=today - timedelta(days=offset), done=True)
            )
    db.session.add(
        ItemLog(
            plan_item_id=daily.id, patient_id=patient.id, day=today - timedelta(days=1), done=False, sessions_done=0
        )
    )
    db.session.commit()
    [row] = [a for a in item_adherence(patient.id, start, today) if a.item.id == daily.id]
    assert (row.due, row.done, row.percent) == (7, 4, 57)
    weeks = weekly_adherence(patient.id, today, weeks=2)
    assert len(weeks) == 2
    assert all(w["percent"] is None or 0 <= w["percent"] <= 100 for w in weeks)
    assert sum(w["done"] for w in weeks) == 4


def test_adherence_ignores_days_before_the_plan_started(db, patient, coach):
    today = patient_today(patient)
    make_plan(db, patient, coach, n_items=1, start=today - timedelta(days=1))
    [row] = item_adherence(patient.id, today - timedelta(days=27), today)
    assert row.due == 1  # yesterday; today is in progress and nothing is done yet


def test_chart_data_has_one_point_per_day_and_nulls_for_gaps(db, patient):
    add_days(db, patient, [0, 2], pain=4)
    db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=patient_today(patient) - timedelta(days=patient_today(patient).weekday() + 7),
            pain_average=6,
            enjoyment_interference=5,
            activity_interference=4,
        )
    )
    db.session.commit()
    data = progress_for(patient.id, patient_today(patient), 30).chart_data()
    daily = data["daily"]
    assert len(daily["labels"]) == 30 and daily["labels"][-1] == patient_today(patient).isoformat()
    assert daily["pain"][-1] == 4 and daily["pain"][-2] is None and daily["pain"][-3] == 4
    assert data["peg"]["score"] == [5.0]


# --- patient pages -----------------------------------------------------------------------


def test_progress_page(patient_client, patient, db):
    add_days(db, patient, [0, 1, 2], pain=3)
    html = patient_client.get("/me/progress").get_data(as_text=True)
    assert "<h1>My progress</h1>" in html
    assert html.count("<h1") == 1
    assert 'data-chart-url="/me/progress/data.json?days=30"' in html
    assert "<table" in html and "<details" in html  # table alternatives
    assert 'data-stat="streak">3<' in html
    assert "pain averaged 3.0" in html
    assert "chart.umd.min.js" in html and "<script>" not in html  # no inline script (CSP)
    assert "not a substitute for medical advice" in html


def test_progress_range_and_bad_range(patient_client):
    assert patient_client.get("/me/progress?days=90").status_code == 200
    assert len(patient_client.get("/me/progress/data.json?days=90").get_json()["daily"]["labels"]) == 90
    for bad in ("7", "abc", "-30", "100000"):
        assert patient_client.get(f"/me/progress?days={bad}").status_code == 400
        assert patient_client.get(f"/me/progress/data.json?days={bad}").status_code == 400


def test_progress_is_patient_only(coach_client, client):
    assert coach_client.get("/me/progress").status_code == 403
    assert client.get("/me/progress/data.json").status_code in (302, 401)


def test_progress_page_query_count_does_not_grow(patient_client, patient, coach, db, queries):
    make_plan(db, patient, coach, n_items=2)
    add_days(db, patient, [1, 2])
    patient_client.get("/me/")  # the first page after sign-in also checks consent, once per session
    with queries() as small:
        assert patient_client.get("/me/progress?days=90").status_code == 200
    add_days(db, patient, range(3, 80))
    with queries() as large:
        assert patient_client.get("/me/progress?days=90").status_code == 200
    assert len(large) == len(small)


# --- coach review ----------------------------------------------------------------------


def test_review_for_a_page_of_patients(db, coach, make_user):
    rising = make_user(Role.PATIENT, coach=coach)
    quiet = make_user(Role.PATIENT, coach=coach)
    add_days(db, rising, range(3, 10), pain=2)
    add_days(db, rising, [0, 1, 2], pain=5)
    open_alert(rising, AlertKind.PAIN_WORSENING, "x")
    open_alert(rising, AlertKind.RED_FLAG, "y")
    db.session.commit()
    review = review_for([rising.id, quiet.id], patient_today(rising))
    r = review[rising.id]
    assert (r.last_checkin, r.latest_pain, r.trend, r.open_alerts, r.most_urgent) == (
        patient_today(rising),
        5,
        "up",
        2,
        ALERT_SEVERITY[AlertKind.RED_FLAG],  # a red flag opened without a tier counts as Today's
    )
    assert r.has_urgent_alert
    assert review[quiet.id].last_checkin is None and review[quiet.id].trend is None
    # The coach's patient page reads the figures it shows through fewer of the same statements.
    for patient in (rising, quiet):
        shown = patient_summary(patient).review
        full = review_for([patient.id], patient_today(patient))[patient.id]
        figures = ("last_checkin", "latest_pain", "adherence_due", "adherence_done", "adherence_paused")
        assert [getattr(shown, name) for name in figures] == [getattr(full, name) for name in figures]


def test_roster_columns_and_needs_attention_sort(db, coach, coach_client, make_user):
    calm = make_user(Role.PATIENT, coach=coach, name="Aaron Calm")
    make_user(Role.PATIENT, coach=coach, name="Bea Never")
    urgent = make_user(Role.PATIENT, coach=coach, name="Zed Urgent")
    add_days(db, calm, [0, 1], pain=2)
    add_days(db, urgent, [0], pain=8)
    open_alert(urgent, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    html = coach_client.get("/coach/?sort=name").get_data(as_text=True)
    assert "Last check-in" in html and "Open alerts" in html
    by_name = [html.index(n) for n in ("Aaron Calm", "Bea Never", "Zed Urgent")]
    assert by_name == sorted(by_name)
    html = coach_client.get("/coach/?sort=attention").get_data(as_text=True)
    # Neither of the others has a plan: both on track, the most recent check-in first, none last.
    order = [html.index(n) for n in ("Zed Urgent", "Aaron Calm", "Bea Never")]
    assert order == sorted(order)
    assert coach_client.get("/coach/?sort=nonsense").status_code == 400


def test_roster_query_count_does_not_grow(db, coach, coach_client, make_user, queries):
    def add(n):
        for _ in range(n):
            p = make_user(Role.PATIENT, coach=coach)
            make_plan(db, p, coach, n_items=2)
            add_days(db, p, [0, 1, 2, 5])
            open_alert(p, AlertKind.MISSED_CHECKINS, "x")
        db.session.commit()

    add(2)
    with queries() as small:
        assert coach_client.get("/coach/?sort=attention").status_code == 200
    add(6)
    with queries() as large:
        assert coach_client.get("/coach/?sort=attention").status_code == 200
    assert len(large) == len(small)


def test_coach_patient_page_shows_review_and_is_audited(db, coach, coach_client, patient):
    add_days(db, patient, [1], pain=6, notes="Tripped on the stairs", rf_fall_injury=True)
    open_alert(patient, AlertKind.RED_FLAG, "Reported: a fall")
    db.session.commit()
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Tripped on the stairs" in html and "A recent fall or injury?" in html
    assert "Alert history" in html and "Reported: a fall" in html
    assert f'data-chart-url="/coach/patients/{patient.id}/progress/data.json?days=30"' in html
    data = coach_client.get(f"/coach/patients/{patient.id}/progress/data.json").get_json()
    assert 6 in data["daily"]["pain"]
    history = coach_client.get(f"/coach/patients/{patient.id}/checkins").get_data(as_text=True)
    assert "Tripped on the stairs" in history
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.patient_id == patient.id, AuditEvent.actor_id == coach.id)
    ).all()
    assert actions.count("patient.view") == 3


def test_coach_cannot_see_other_coaches_patient_data(db, coach_client, make_user):
    other = make_user(Role.PATIENT, coach=make_user(Role.COACH))
    add_days(db, other, [0])
    assert coach_client.get(f"/coach/patients/{other.id}/progress/data.json").status_code == 404
    assert coach_client.get(f"/coach/patients/{other.id}/checkins").status_code == 404
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "patient.view")) == 0


def test_coach_patient_page_query_count_does_not_grow(db, coach, coach_client, patient, queries):
    make_plan(db, patient, coach, n_items=2)
    add_days(db, patient, [1, 2])
    open_alert(patient, AlertKind.RED_FLAG, "x")
    db.session.commit()
    with queries() as small:
        assert coach_client.get(f"/coach/patients/{patient.id}").status_code == 200
    add_days(db, patient, range(3, 60))
    with queries() as large:
        assert coach_client.get(f"/coach/patients/{patient.id}").status_code == 200
    assert len(large) == len(small)


def test_statements_with_day_arithmetic_are_built_for_each_database():
    # Built once per process and kept: one process may serve PostgreSQL and SQLite apps
    # (the test suite does), so a statement whose SQL differs by database is kept per dialect.
    from sqlalchemy.dialects import postgresql, sqlite

    from portal.care.progress import _done_counts_statement, _streaks_statement

    builders = (
        lambda d: _streaks_statement(d),
        lambda d: _done_counts_statement(False, False, d),
        lambda d: _done_counts_statement(False, True, d),  # its weeks too
    )
    for build in builders:
        on_sqlite = str(build("sqlite").compile(dialect=sqlite.dialect()))
        on_postgres = str(build("postgresql").compile(dialect=postgresql.dialect()))
        assert "julianday" in on_sqlite and "julianday" not in on_postgres


def test_one_view_of_a_patient_page_is_one_audit_entry_and_carries_its_chart_data(db, coach, coach_client, patient):
    """The charts draw from the data the page carries: showing the page fetches nothing more, so a
    view of the record is written to the audit log once."""
    import html as html_lib
    import json
    import re

    add_days(db, patient, [0, 1, 2], pain=5)
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    views = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "patient.view", AuditEvent.patient_id == patient.id)
    ).all()
    assert [(e.actor_id, e.detail_dict) for e in views] == [(coach.id, {})]
    carried = json.loads(html_lib.unescape(re.search(r"data-chart='([^']*)'", page).group(1)))
    assert carried == coach_client.get(f"/coach/patients/{patient.id}/progress/data.json").get_json()


def test_the_done_counts_read_only_the_pages_patients_schedule_rows():
    """Joined by item alone, PostgreSQL hashed every patient's schedule rows for a page of 25
    (24.8 ms at 2,000 patients, 1.0 ms with the patients said outright)."""
    from sqlalchemy.dialects import postgresql

    from portal.care.progress import _done_counts_statement

    for by_week in (False, True):
        sql = str(_done_counts_statement(False, by_week, "postgresql").compile(dialect=postgresql.dialect()))
        assert "plan_item_schedule.patient_id IN" in sql and "plan_item_schedule.valid_from <=" in sql

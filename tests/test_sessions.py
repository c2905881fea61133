"""Items done several times a day are counted per session; the guided session logs them."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role, User
from portal.care.models import ItemLog
from portal.care.progress import item_adherence
from portal.care.today import done_for_day, log_session, set_done, todays_plan
from portal.extensions import db as _db
from portal.timeutil import local_today
from tests.conftest import csrf_token, give_test_consent
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.plan_factories import make_item, make_plan, schedule_from_start


def _log(patient, item_id: int) -> ItemLog | None:
    _db.session.expire_all()
    return _db.session.scalar(
        _db.select(ItemLog).where(ItemLog.plan_item_id == item_id, ItemLog.patient_id == patient.id)
    )


def test_done_for_the_day_means_every_session():
    assert not done_for_day(0, 3)
    assert not done_for_day(2, 3)
    assert done_for_day(3, 3)
    assert done_for_day(1, 1)


def test_sessions_count_up_to_the_dose_and_back_down_to_zero(patient):
    plan = make_plan(patient, items=[make_item()])
    item = plan.items[0]
    item.times_per_day = 3
    _db.session.commit()
    for expected in (1, 2, 3, 3):  # a fourth click cannot go past three
        log_session(patient, item)
        _db.session.commit()
        assert _log(patient, item.id).sessions_done == expected
    assert _log(patient, item.id).done is True
    assert todays_plan(patient).items[0].done
    for expected in (2, 1, 0, 0):
        log_session(patient, item, undo=True)
        _db.session.commit()
        log = _log(patient, item.id)
        assert log.sessions_done == expected and log.done is False
    set_done(patient, item, True)
    _db.session.commit()
    assert _log(patient, item.id).sessions_done == 3


def test_adherence_counts_sessions_not_days(patient):
    today = local_today(patient.tz)
    plan = make_plan(patient, items=[make_item()], start_date=today - timedelta(days=1))
    item = plan.items[0]
    item.times_per_day = 3
    schedule_from_start(plan)
    _db.session.add(ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today, sessions_done=1, done=False))
    _db.session.add(
        ItemLog(plan_item_id=item.id, patient_id=patient.id, day=today - timedelta(days=1), sessions_done=2, done=False)
    )
    _db.session.commit()
    [row] = item_adherence(patient.id, today - timedelta(days=6), today)
    # Yesterday owed three sessions (two done); today, in progress, owes the one done so far.
    assert (row.due, row.done, row.percent) == (3 + 1, 2 + 1, 75)


def test_today_shows_one_of_three_and_marking_is_the_sessions_action(patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Pelvic tilt")])
    item = plan.items[0]
    item.times_per_day = 3
    _db.session.commit()
    token = csrf_token(patient_client, "/me/")
    response = patient_client.post("/me/today/session/1", data={"csrf_token": token, "done": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/today/session/2")
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "1 of 3 today" in html
    answer = patient_client.post(
        f"/me/today/items/{item.id}",
        data={"csrf_token": token, "done": "1"},
        headers={"Accept": "application/json"},
    ).get_json()
    assert "2 of 3 today" in answer["card"] and "Pelvic tilt" in answer["message"]
    assert _log(patient, item.id).sessions_done == 2


def test_a_round_of_the_session_logs_each_movement_once_and_says_which_round(patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Cat cow")])
    thrice, once = plan.items
    thrice.times_per_day, once.times_per_day = 3, 1
    _db.session.commit()
    token = csrf_token(patient_client, "/me/")
    assert "0 of 4 sessions done today" in patient_client.get("/me/").get_data(as_text=True)
    start = patient_client.get("/me/today/session")
    assert start.headers["Location"].endswith("/me/today/session/1")
    done = {"csrf_token": token, "done": "1"}
    assert patient_client.post("/me/today/session/1", data=done).headers["Location"].endswith("/session/2")
    assert patient_client.post("/me/today/session/2", data=done).headers["Location"].endswith("/session/3")
    summary = patient_client.get("/me/today/session/3").get_data(as_text=True)
    assert "<h1>Round 1 of 3 done</h1>" in summary and "2 of 4 sessions done today" in summary
    assert (_log(patient, thrice.id).sessions_done, _log(patient, once.id).sessions_done) == (1, 1)
    today = patient_client.get("/me/").get_data(as_text=True)
    assert "2 of 4 sessions done today" in today and 'max="4" value="2"' in today
    # Round 2 holds only the movement due more than once.
    assert patient_client.get("/me/today/session").headers["Location"].endswith("/session/1")
    assert patient_client.post("/me/today/session/1", data=done).headers["Location"].endswith("/session/3")
    assert "<h1>Round 2 of 3 done</h1>" in patient_client.get("/me/today/session/3").get_data(as_text=True)
    patient_client.post("/me/today/session/1", data=done)
    summary = patient_client.get("/me/today/session/3").get_data(as_text=True)
    assert "<h1>All done for today</h1>" in summary and "4 of 4 sessions done today" in summary


def test_a_skipped_movement_leaves_the_round_open(patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Pelvic tilt"), make_item(title="Cat cow")])
    for item in plan.items:
        item.times_per_day = 2
    _db.session.commit()
    token = csrf_token(patient_client, "/me/")
    patient_client.post("/me/today/session/1", data={"csrf_token": token, "done": "1"})
    summary = patient_client.get("/me/today/session/3").get_data(as_text=True)
    assert "<h1>Session finished</h1>" in summary and "1 of 4 sessions done today" in summary
    # Starting again goes to the skipped movement, not back to the one already done this round.
    assert patient_client.get("/me/today/session").headers["Location"].endswith("/session/2")


def test_the_hold_timer_shows_minutes_and_seconds(patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Knee hug")])
    plan.items[0].hold_seconds = 180
    _db.session.commit()
    page = patient_client.get("/me/today/session/1").get_data(as_text=True)
    assert 'data-countdown aria-hidden="true">3:00</p>' in page
    assert 'data-label-pause="Pause timer" data-label-resume="Resume timer"' in page


def test_session_steps_are_bounded_and_skip_moves_on(patient, patient_client):
    make_plan(patient, items=[make_item(title="Bridge"), make_item(title="Cat cow"), make_item(kind="diet")])
    first = patient_client.get("/me/today/session")
    assert first.headers["Location"].endswith("/me/today/session/1")
    page = patient_client.get("/me/today/session/1").get_data(as_text=True)
    assert "Bridge" in page and "Movement 1 of 2" in page and "Stop if…" in page
    assert 'href="/me/today/session/2"' in page  # Skip: the next step, nothing recorded
    assert "Session finished" in patient_client.get("/me/today/session/3").get_data(as_text=True)
    assert patient_client.get("/me/today/session/4").status_code == 404
    assert patient_client.get("/me/today/session/0").status_code == 404
    token = csrf_token(patient_client, "/me/")
    assert patient_client.post("/me/today/session/3", data={"csrf_token": token, "done": "1"}).status_code == 404
    assert patient_client.post("/me/today/session/1", data={"done": "1"}).status_code == 400
    assert _db.session.scalar(_db.select(sa.func.count(ItemLog.id))) == 0


def test_migration_turns_each_done_tick_into_every_session_of_that_day(tmp_path):
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = (
        create_postgres_database(base, prefix="holistiq_sess")
        if is_postgres(base)
        else f"sqlite:///{tmp_path / 's.sqlite3'}"
    )
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            # Accounts and the plan are made with today's models, then the schema goes back to
            # before item logs counted sessions, where the old done/not-done rows are written.
            upgrade()
            clinic = Clinic(name="Plano", city="Plano", phone="(972) 555-0100", timezone="America/Chicago")
            _db.session.add(clinic)
            _db.session.flush()
            coach = create_account(
                email="c@example.org", name="C", role=Role.COACH, clinic_id=clinic.id, coach_id=None, password=None
            )
            _db.session.flush()
            patient = create_account(
                email="p@example.org",
                name="P",
                role=Role.PATIENT,
                clinic_id=clinic.id,
                coach_id=coach.id,
                password=None,
            )
            give_test_consent(patient)
            _db.session.commit()
            plan = make_plan(patient, items=[make_item(), make_item()])
            thrice, twice = plan.items
            thrice.times_per_day = 3
            _db.session.commit()
            day = local_today(patient.tz)
            rows = [(thrice.id, day, True), (twice.id, day, False), (twice.id, day - timedelta(days=1), True)]
            patient_id, ids = patient.id, (thrice.id, twice.id)
            _db.session.remove()
            downgrade(revision="a7c15e0f3b91")
            for item_id, log_day, done in rows:
                _db.session.execute(
                    sa.text(
                        "INSERT INTO item_log (plan_item_id, patient_id, day, done, note, updated_at)"
                        " VALUES (:item, :patient, :day, :done, '', :now)"
                    ),
                    {"item": item_id, "patient": patient_id, "day": log_day, "done": done, "now": day},
                )
            _db.session.commit()
            _db.session.remove()
            upgrade()
            migrated = _db.session.execute(
                sa.text("SELECT plan_item_id, day, done, sessions_done FROM item_log ORDER BY id")
            ).all()
            assert [
                (row[0], row[1] if isinstance(row[1], date) else date.fromisoformat(row[1]), bool(row[2]), row[3])
                for row in migrated
            ] == [
                (ids[0], day, True, 3),
                (ids[1], day, False, 0),
                (ids[1], day - timedelta(days=1), True, 2),
            ]
            # Adherence and Today read the same as before the migration: nothing lost.
            assert [entry.done for entry in todays_plan(_db.session.get(User, patient_id)).items] == [True, False]
            _db.session.remove()
            downgrade(revision="a7c15e0f3b91")
            assert _db.session.execute(sa.text("SELECT count(*) FROM item_log")).scalar_one() == 3
            _db.session.remove()
            _db.engine.dispose()
    finally:
        if is_postgres(base):
            drop_postgres_database(url)

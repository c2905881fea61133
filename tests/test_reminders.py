"""Daily check-in reminders: local time, at most once a day, real SMTP, bad input."""

from __future__ import annotations

import threading
from datetime import date, datetime, time
from unittest import mock

import pytest

import portal.models  # noqa: F401  - load the packages in the app's order (coaching before patients)
from config import TestingConfig
from portal.auth.models import Role, User
from portal.care.models import CheckIn
from portal.mail import OutboundEmail
from portal.messaging import reminders
from portal.messaging.models import ReminderSent
from tests.conftest import NO_QUIET_HOURS, csrf_token
from tests.dbutil import is_postgres
from tests.smtp_server import smtp_server_fixture  # noqa: F401  (the smtp_server fixture)

# 2026-11-25 00:05 UTC is 18:05 on Nov 24 in Chicago (CST, UTC-6) and 16:05 in Los Angeles.
NOW = datetime(2026, 11, 25, 0, 5)
CHICAGO_DAY = date(2026, 11, 24)


def _count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_due_when_the_local_reminder_time_has_passed(db, make_user):
    chicago = make_user(Role.PATIENT, reminder_time=time(18, 0))
    later = make_user(Role.PATIENT, reminder_time=time(18, 30))
    west = make_user(Role.PATIENT, reminder_time=time(17, 0), timezone="America/Los_Angeles")
    make_user(Role.PATIENT, reminder_time=None)
    make_user(Role.PATIENT, reminder_time=time(6, 0), is_active=False)
    due = reminders.due_reminders(NOW)
    assert [(d.patient.id, d.day) for d in due] == [(chicago.id, CHICAGO_DAY)]
    assert later.id and west.id  # not yet: 18:05 < 18:30 in Chicago, 16:05 < 17:00 in Los Angeles


def test_the_day_is_the_patients_local_day(db, make_user):
    tokyo = make_user(Role.PATIENT, reminder_time=time(8, 0), timezone="Asia/Tokyo")  # 09:05 on Nov 25 there
    [due] = reminders.due_reminders(NOW)
    assert due.patient.id == tokyo.id and due.day == date(2026, 11, 25)


def test_no_reminder_after_todays_check_in(db, make_user):
    done = make_user(Role.PATIENT, reminder_time=time(7, 0))
    db.session.add(CheckIn(patient_id=done.id, day=CHICAGO_DAY, pain=3, stiffness=2))
    yesterday_only = make_user(Role.PATIENT, reminder_time=time(7, 0))
    db.session.add(CheckIn(patient_id=yesterday_only.id, day=date(2026, 11, 23), pain=3, stiffness=2))
    db.session.commit()
    assert [d.patient.id for d in reminders.due_reminders(NOW)] == [yesterday_only.id]


def test_send_claims_the_day_and_a_second_run_sends_nothing(db, make_user):
    patient = make_user(Role.PATIENT, reminder_time=time(18, 0))
    assert reminders.send_reminders(NOW) == 1
    assert reminders.send_reminders(NOW) == 0
    claimed = db.session.scalar(db.select(ReminderSent))
    assert (claimed.patient_id, claimed.day) == (patient.id, CHICAGO_DAY)
    assert _count(db, OutboundEmail) == 1


def test_a_day_claimed_by_another_machine_is_not_sent_again(db, make_user):
    """Two machines read the same due list; the unique key lets only one of them send."""
    patient = make_user(Role.PATIENT, reminder_time=time(18, 0))
    due = reminders.due_reminders(NOW)
    # The other machine claims the day between our read and our claim (own connection, committed).
    with db.engine.begin() as conn:
        conn.execute(ReminderSent.__table__.insert().values(patient_id=patient.id, day=CHICAGO_DAY, sent_at=NOW))
    with mock.patch.object(reminders, "due_reminders", return_value=due):
        assert reminders.send_reminders(NOW) == 0
    assert _count(db, OutboundEmail) == 0
    assert _count(db, ReminderSent) == 1


def test_due_reminders_query_count_is_flat(db, make_user, queries):
    def add(n: int) -> None:
        for _ in range(n):
            p = make_user(Role.PATIENT, reminder_time=time(7, 0))
            db.session.add(CheckIn(patient_id=p.id, day=CHICAGO_DAY, pain=2, stiffness=2))
            make_user(Role.PATIENT, reminder_time=time(7, 0))
        db.session.commit()

    add(2)
    db.session.expire_all()
    with queries() as small:
        assert len(reminders.due_reminders(NOW)) == 2
    add(10)
    db.session.expire_all()
    with queries() as large:
        assert len(reminders.due_reminders(NOW)) == 12
    assert len(large) == len(small)


def test_cli_run_twice_sends_one_reminder_through_smtp(smtp_server, app, db, make_user):
    # Midnight has always passed, whatever the real clock says.
    patient = make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS, name="Rita Reminder")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reminders", "send"])
    second = runner.invoke(args=["reminders", "send"])
    assert first.exit_code == 0 and "Sent 1 reminder(s)." in first.output
    assert "Sent 0 reminder(s)." in second.output
    [email] = smtp_server.wait_for(2, timeout=0.5)
    assert email["To"] == patient.email
    assert email["Subject"] == "Your daily check-in on Holistiq Coach"
    body = email.get_content()
    assert "Hello Rita," in body and "http://127.0.0.1:5000/" in body
    for health_word in ("pain", "stiff", "spasm", "red flag"):
        assert health_word not in body.lower()


def test_smtp_failure_keeps_the_reminder_queued_and_claimed(smtp_server, app, db, make_user):
    make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS)
    smtp_server.set_failing(True)
    assert reminders.send_reminders() == 1
    email = db.session.scalar(db.select(OutboundEmail))
    assert email.sent_at is None and email.attempts == 1
    assert reminders.send_reminders() == 0  # the day is claimed: the retry queue, not a new reminder


def test_reminder_time_that_is_not_a_time_is_refused(db, patient, patient_client):
    patient.reminder_time = time(19, 0)
    db.session.commit()
    token = csrf_token(patient_client, "/account")
    for bad in ("25:99", "seven pm", "19:00'; drop table x", "9" * 500):
        response = patient_client.post(
            "/account",
            data={
                "prefs-email_notifications": "y",
                "prefs-reminder_time": bad,
                "prefs-submit": "Save preferences",
                "csrf_token": token,
            },
        )
        assert response.status_code == 400
        assert "Not a valid time value" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, patient.id).reminder_time == time(19, 0)


def test_patient_sets_and_clears_the_reminder_time(db, patient, patient_client):
    token = csrf_token(patient_client, "/account")
    data = {
        "prefs-email_notifications": "y",
        "prefs-reminder_time": "20:15",
        "prefs-submit": "Save",
        "csrf_token": token,
    }
    assert patient_client.post("/account", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, patient.id).reminder_time == time(20, 15)
    data["prefs-reminder_time"] = ""
    assert patient_client.post("/account", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, patient.id).reminder_time is None


@pytest.mark.skipif(not is_postgres(TestingConfig.SQLALCHEMY_DATABASE_URI), reason="needs a server database")
def test_two_machines_at_once_send_one_reminder(app, db, make_user):
    """Two runs in parallel, each with its own connection: the unique key lets one win."""
    for _ in range(5):
        make_user(Role.PATIENT, reminder_time=time(18, 0))
    barrier = threading.Barrier(2)
    results: list[int] = []
    real_due_reminders = reminders.due_reminders

    def read_then_wait(now_utc):
        due = real_due_reminders(now_utc)
        barrier.wait(timeout=10)  # both machines have read the same due list before either claims
        return due

    def machine() -> None:
        with app.app_context():
            results.append(reminders.send_reminders(NOW))
            db.session.remove()

    # Patched once, outside the threads (patching inside them would race on the module attribute).
    with mock.patch.object(reminders, "due_reminders", read_then_wait):
        threads = [threading.Thread(target=machine) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sum(results) == 5 and len(results) == 2
    assert _count(db, ReminderSent) == 5
    assert _count(db, OutboundEmail) == 5


def test_a_failing_mail_server_is_tried_once_per_run_not_once_per_patient(smtp_server, app, db, make_user):
    for _ in range(3):
        make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS)
    smtp_server.set_failing(True)
    assert reminders.send_reminders() == 3
    attempts = db.session.scalars(db.select(OutboundEmail.attempts).order_by(OutboundEmail.id)).all()
    assert attempts == [1, 0, 0]  # the others wait, untried, for `flask mail retry`
    smtp_server.set_failing(False)
    result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert "Sent 2 queued message(s)" in result.output
    assert len(smtp_server.wait_for(2)) == 2


def test_finding_and_claiming_cost_the_same_for_2_or_20_patients(db, make_user, queries):
    def run(n: int) -> int:
        db.session.execute(db.delete(ReminderSent))
        db.session.execute(db.delete(OutboundEmail))
        db.session.commit()
        for _ in range(n):
            make_user(Role.PATIENT, reminder_time=time(18, 0))
        db.session.commit()
        db.session.expire_all()
        with mock.patch.object(reminders.outbox, "send_now", return_value=True), queries() as stmts:
            reminders.send_reminders(NOW)
        # Reading and claiming are set-based; the outbox rows may be one INSERT each
        # (SQLite's ORM batching) in the same transaction.
        return len([s for s in stmts if not s.startswith("INSERT INTO outbound_message")])

    small = run(2)
    assert run(18) == small  # now 20 patients
    assert _count(db, OutboundEmail) == 20

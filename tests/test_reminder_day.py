"""The patient's day: plan reminders at each chosen time of day and one check-in reminder at the evening time, by
every channel the patient has on, never in quiet hours, never once satisfied, never twice — with a frozen clock
across a whole day in two time zones (the real SMTP test server and the fake SMS provider), two real worker
processes, the due rule on its own, and the account page's "Reminders" settings."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import pytest
import time_machine

from config import TestingConfig
from portal import outbox
from portal.audit import AuditEvent
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role, User, in_quiet_hours
from portal.care.alerts import open_alert
from portal.care.models import AlertKind, CheckIn, ItemLog, Plan
from portal.care.pauses import pause_item
from portal.care.red_flags import Tier
from portal.extensions import db as _db
from portal.messaging import reminders
from portal.messaging.models import PlanReminderSent, ReminderSent
from portal.messaging.reminders import checkin_due, latest_passed, plan_slot_due
from portal.messaging.texts import TextSubscription
from tests.conftest import csrf_token
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.plan_factories import make_item, make_plan
from tests.push_server import push_service_fixture  # noqa: F401 - the push_service fixture
from tests.servers import prepare_database
from tests.sms_server import SENDER, SID, TOKEN, sms_provider_fixture, start_fake_provider  # noqa: F401 - fixture
from tests.smtp_server import shared_server, smtp_server_fixture  # noqa: F401 - the smtp_server fixture
from tests.test_worker import WorkerProcess, wait_until

D = date(2026, 3, 20)  # a Friday; Chicago is on CDT (UTC-5), Auckland on NZDT (UTC+13)
CHICAGO, AUCKLAND = "America/Chicago", "Pacific/Auckland"
QUIET = (time(21), time(8))


# --- the due rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "start", "end", "quiet"),
    [
        (time(21, 0), time(21), time(8), True),  # the first minute of the default quiet hours
        (time(23, 59), time(21), time(8), True),
        (time(0, 0), time(21), time(8), True),  # across midnight
        (time(7, 59), time(21), time(8), True),
        (time(8, 0), time(21), time(8), False),  # the end is not quiet any more
        (time(20, 59), time(21), time(8), False),
        (time(12, 30), time(12, 30), time(14), True),  # quiet hours within one day
        (time(14, 0), time(12, 30), time(14), False),
        (time(11, 0), time(12, 30), time(14), False),
        (time(3, 0), time(9), time(9), False),  # start == end: no quiet hours
    ],
)
def test_quiet_hours(at, start, end, quiet):
    assert in_quiet_hours(at, start, end) is quiet


def test_the_latest_time_of_day_passed():
    times = [time(7, 30), time(12), time(22)]
    assert latest_passed(time(7, 29), times) is None
    assert latest_passed(time(7, 30), times) == 0
    assert latest_passed(time(21, 59), times) == 1
    assert latest_passed(time(23, 59), times) == 2


def test_the_check_in_reminder_is_due_from_the_evening_time_outside_quiet_hours_until_the_check_in():
    assert checkin_due(time(19, 59), time(20), QUIET, checked_in=False) is False
    assert checkin_due(time(20, 0), time(20), QUIET, checked_in=False) is True
    assert checkin_due(time(20, 30), time(20), QUIET, checked_in=True) is False  # satisfied
    assert checkin_due(time(21, 0), time(20), QUIET, checked_in=False) is False  # quiet
    assert checkin_due(time(22, 30), time(22), QUIET, checked_in=False) is False  # its time is in quiet hours
    assert checkin_due(time(23, 0), None, QUIET, checked_in=False) is False  # no evening time: none


def test_a_plan_reminder_is_due_for_the_latest_round_passed_when_it_has_something_not_done():
    times = [time(7, 30), time(12), time(22)]
    undone = [False, False, False]
    assert plan_slot_due(time(7, 45), times, QUIET, undone) is None  # 07:30 is in the quiet hours ...
    assert plan_slot_due(time(8, 0), times, QUIET, undone) == 0  # ... so it waits until they end
    assert plan_slot_due(time(12, 0), times, QUIET, undone) == 1
    assert plan_slot_due(time(12, 0), times, QUIET, [False, True, False]) is None  # round 2 done
    assert plan_slot_due(time(12, 0), times, QUIET, [False, None, False]) is None  # nothing due in round 2
    assert plan_slot_due(time(22, 0), times, QUIET, undone) is None  # 22:00 is quiet until the day ends
    assert plan_slot_due(time(7, 0), times, (time(21), time(6)), undone) is None  # before the first time


# --- a whole day in two time zones, frozen clock ----------------------------------------------------


def _utc(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _setup_day(make_user, coach):
    """Ana (Chicago: email and texts), Beto (Auckland, Spanish: texts only, quiet hours moved to 12:30-14:00),
    Cora (Chicago: email only, she replied STOP to texts)."""
    ana = make_user(
        coach=coach,
        name="Ana Chicago",
        timezone=CHICAGO,
        plan_times_stored="07:30,12:00,22:00",
        plan_reminders=True,
        reminder_time=time(20),
    )
    beto = make_user(
        coach=coach,
        name="Beto Auckland",
        timezone=AUCKLAND,
        language="es",
        plan_reminders=True,
        reminder_time=time(18),
        email_reminders=False,
        quiet_start=time(12, 30),
        quiet_end=time(14),
    )
    cora = make_user(coach=coach, name="Cora Chicago", timezone=CHICAGO, reminder_time=time(9))
    bridge = make_item(title="Bridge")
    for patient, times in ((ana, 3), (beto, 2), (cora, 1)):
        plan = make_plan(patient, items=[bridge], start_date=D - timedelta(days=10))
        plan.items[0].times_per_day = times
    for patient, phone, on in (
        (ana, "+12145550101", True),
        (beto, "+12145550102", True),
        (cora, "+12145550103", False),
    ):
        _db.session.add(TextSubscription(user_id=patient.id, phone=phone, enabled=on))
    _db.session.commit()
    return ana, beto, cora


def _kind(text: str) -> str:
    if "home plan" in text or "back plan" in text or "plan para la espalda" in text:
        return "plan"
    if "check-in" in text or "Check in" in text or "registro diario" in text:
        return "checkin"
    return "?"


def _phone_notifications_on(client, push_service) -> str:
    """The browser's "Turn on phone notifications": its subscription stored by the portal; the endpoint's path."""
    sub = push_service.subscription()
    response = client.post(
        "/me/push-subscriptions",
        data=json.dumps(sub),
        content_type="application/json",
        headers={"Accept": "application/json", "X-CSRFToken": csrf_token(client, "/account")},
    )
    assert response.status_code == 201
    return push_service.path_of(sub)


def test_a_whole_day_in_chicago_and_auckland_sends_exactly_the_due_reminders(
    app, make_user, coach, login_as, smtp_server, sms_provider, push_service
):
    """Every 5 minutes from Auckland's midnight starting the day to Chicago's midnight ending it (42 hours), the
    worker's two jobs run twice (a second round, as a second worker would). Each patient takes part in their own
    local day D only (active from their midnight to the next), so the expected list is one day per patient."""
    ana, beto, cora = _setup_day(make_user, coach)
    by_device = {_phone_notifications_on(login_as(p), push_service): p.name.split()[0] for p in (ana, beto)}
    patients = {p.id: p for p in (ana, beto, cora)}
    zone = {p.id: p.tz for p in patients.values()}
    by_email = {p.email: p.name.split()[0] for p in patients.values()}
    by_phone = {"+12145550101": "Ana", "+12145550102": "Beto", "+12145550103": "Cora"}
    ana_item = _db.session.scalar(_db.select(Plan).where(Plan.patient_id == ana.id)).items[0].id
    local_time = {}  # name -> local "HH:MM" at the current tick

    sent: list[tuple[str, str, str, str]] = []
    seen_mail = seen_sms = seen_push = 0
    at = datetime(2026, 3, 19, 11, 0, tzinfo=UTC)  # 00:00 of D in Auckland
    end = datetime(2026, 3, 21, 5, 0, tzinfo=UTC)  # 00:00 of D + 1 in Chicago
    while at < end:
        for patient_id, tz in zone.items():
            local = at.astimezone(ZoneInfo(tz))
            user = _db.session.get(User, patient_id)
            user.is_active = local.date() == D
            local_time[user.name.split()[0]] = local.strftime("%H:%M")
            if user.is_active and patient_id == ana.id and local.time() == time(11):
                # Ana does two rounds before noon: the 12:00 reminder (round 2) is satisfied.
                _db.session.add(ItemLog(plan_item_id=ana_item, patient_id=ana.id, day=D, done=False, sessions_done=2))
            if user.is_active and patient_id == beto.id and local.time() == time(10):
                _db.session.add(CheckIn(patient_id=beto.id, day=D, pain=3, stiffness=2))  # before his 18:00
        _db.session.commit()
        with time_machine.travel(at, tick=False):
            for _worker in range(2):
                reminders.send_all_reminders()
                outbox.deliver_due()
        mails, texts, pushes = smtp_server.messages(), sms_provider.messages(), push_service.messages()
        for email in mails[seen_mail:]:
            name = by_email[str(email["To"])]
            sent.append((name, local_time[name], "email", _kind(str(email["Subject"]))))
        for text in texts[seen_sms:]:
            name = by_phone[text.form["To"]]
            sent.append((name, local_time[name], "text", _kind(text.form["Body"])))
        for push in pushes[seen_push:]:
            name = by_device[push.path]
            sent.append((name, local_time[name], "push", _kind(push.payload["body"])))
        seen_mail, seen_sms, seen_push = len(mails), len(texts), len(pushes)
        at += timedelta(minutes=5)

    assert sorted(sent) == [
        ("Ana", "08:00", "email", "plan"),  # 07:30 was in her quiet hours: it waited until 08:00
        ("Ana", "08:00", "push", "plan"),
        ("Ana", "08:00", "text", "plan"),
        ("Ana", "20:00", "email", "checkin"),  # no check-in by her evening time
        ("Ana", "20:00", "push", "checkin"),
        ("Ana", "20:00", "text", "checkin"),
        # Ana's 12:00 round was done at 11:00; her 22:00 round falls in quiet hours until the day ends.
        ("Beto", "08:00", "push", "plan"),  # email off: texts and his phone's notifications
        ("Beto", "08:00", "text", "plan"),
        ("Beto", "14:00", "push", "plan"),  # 13:00 in his quiet hours (12:30-14:00)
        ("Beto", "14:00", "text", "plan"),
        # Beto checked in at 10:00 (no 18:00 reminder); his 19:00 round has nothing due (twice a day).
        ("Cora", "09:00", "email", "checkin"),  # texts off (STOP): email only
    ]
    # Generic text and a link, in the patient's language; never an item name or anything about health.
    for text in sms_provider.messages():
        body = text.form["Body"]
        assert "http://127.0.0.1:5000/" in body and "Bridge" not in body and "pain" not in body.lower()
        if text.form["To"] == "+12145550102":
            assert body.startswith("Holistiq Coach: Es hora de su plan para la espalda. ")
        else:
            assert body.startswith("Holistiq Coach: ")
            assert "Time for your back plan" in body or "How is your back today? Check in when you can" in body
    for email in smtp_server.messages():
        assert "Bridge" not in email.get_content()
    for push in push_service.messages():
        assert push.payload["url"].startswith("http://127.0.0.1:5000/") and push.payload["title"] == "Holistiq Coach"
        spanish = by_device[push.path] == "Beto"
        assert push.payload["body"] in (
            ("Es hora de su plan para la espalda",)
            if spanish
            else ("Time for your back plan", "How is your back today? Check in when you can")
        )
    # One claim per reminder: two plan rounds and a check-in for Ana and Cora together, two rounds for Beto.
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(PlanReminderSent)) == 3
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(ReminderSent)) == 2


def test_a_patient_with_every_channel_off_gets_nothing_and_nothing_is_claimed(make_user, coach, smtp_server):
    patient = make_user(coach=coach, timezone=CHICAGO, reminder_time=time(9), email_reminders=False)
    with time_machine.travel(_utc(datetime(2026, 3, 20, 10), CHICAGO), tick=False):
        assert reminders.send_all_reminders() == 0
    assert smtp_server.messages() == []
    assert _db.session.scalar(_db.select(ReminderSent).where(ReminderSent.patient_id == patient.id)) is None


# --- two real workers at a frozen time --------------------------------------------------------------


def test_two_workers_at_a_frozen_noon_send_each_reminder_once_on_each_channel(tmp_path):

    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = create_postgres_database(base, prefix="holistiq_remind") if is_postgres(base) else None
    url = url or f"sqlite:///{tmp_path / 'remind.sqlite3'}"
    smtp = shared_server()
    smtp.clear()
    sms = start_fake_provider()

    def patients() -> None:
        clinic = Clinic(name="Plano", city="Plano", phone="(972) 555-0100", timezone=CHICAGO)
        _db.session.add(clinic)
        _db.session.flush()
        coach = create_account(email="coach@example.org", name="C", role=Role.COACH, clinic_id=clinic.id, password=None)
        _db.session.flush()
        rows = [
            ("noon@example.org", CHICAGO, True, "+12145550111"),  # email and texts
            ("textonly@example.org", CHICAGO, False, "+12145550112"),  # texts only
            ("night@example.org", AUCKLAND, True, "+12145550113"),  # 06:05 there: quiet hours
        ]
        for email, tz, by_email, phone in rows:
            patient = create_account(
                email=email, name="P", role=Role.PATIENT, clinic_id=clinic.id, coach_id=coach.id, password=None
            )
            patient.timezone, patient.email_reminders = tz, by_email
            patient.plan_times_stored, patient.plan_reminders, patient.reminder_time = "06:00,12:00", True, time(12)
            _db.session.add(TextSubscription(user_id=patient.id, phone=phone, enabled=True))
            _db.session.flush()
            make_plan(patient, coach, items=[make_item(title=f"Bridge {email}")], start_date=D - timedelta(days=3))

    prepare_database(url, patients)
    frozen = _utc(datetime(2026, 3, 20, 12, 5), CHICAGO).isoformat()  # 12:05 in Chicago, 06:05 in Auckland
    settings = {
        "FROZEN_NOW": frozen,
        "REMINDERS_SECONDS": "1",
        "OUTBOX_SECONDS": "1",
        "SMS_API_URL": sms.url,
        "SMS_ACCOUNT_SID": SID,
        "SMS_AUTH_TOKEN": TOKEN,
        "SMS_FROM": SENDER,
    }
    workers = [WorkerProcess(url, module="tests.frozen_flask", **settings) for _ in range(2)]
    try:
        # Noon's plan round and the check-in (due at 12:00) for both Chicago patients; the Auckland one sleeps.
        done = wait_until(lambda: len(smtp.messages()) >= 2 and len(sms.messages()) >= 4, timeout=60)
        assert done, "\n".join(worker.output()[-2000:] for worker in workers)
        sleep(4)  # several more rounds of both workers: nothing is sent again
        assert sorted((str(m["To"]), str(m["Subject"])) for m in smtp.messages()) == [
            ("noon@example.org", "Time for your home plan"),
            ("noon@example.org", "Your daily check-in on Holistiq Coach"),
        ]
        assert sorted((t.form["To"], _kind(t.form["Body"])) for t in sms.messages()) == [
            ("+12145550111", "checkin"),
            ("+12145550111", "plan"),
            ("+12145550112", "checkin"),
            ("+12145550112", "plan"),
        ]
        for worker in workers:
            assert worker.stop() == 0, worker.output()[-1500:]
    finally:
        for worker in workers:
            worker.stop()
            os.unlink(worker.log.name)
        sms.server.shutdown()
        sms.server.server_close()
        if is_postgres(base):
            drop_postgres_database(url)


# --- the account page's "Reminders" settings ------------------------------------------------------


def _settings(client, **values):
    data = {"csrf_token": csrf_token(client, "/account"), "rem-submit": "y"}
    data.update({f"rem-{key}": value for key, value in values.items()})
    return client.post("/me/reminders", data=data)


def test_a_patient_turns_email_reminders_off_and_moves_the_quiet_hours(patient, patient_client):
    page = patient_client.get("/account").get_data(as_text=True)
    assert 'value="21:00"' in page and 'value="08:00"' in page and "Quiet hours from" in page
    response = _settings(patient_client, quiet_start="22:30", quiet_end="07:00")  # the box unticked: email off
    assert response.status_code == 302 and response.headers["Location"].endswith("/account#reminders")
    _db.session.refresh(patient)
    assert (patient.email_reminders, patient.quiet_start, patient.quiet_end) == (False, time(22, 30), time(7))
    event = _db.session.scalar(_db.select(AuditEvent).where(AuditEvent.action == "account.reminders"))
    assert event is not None
    assert _settings(patient_client, email_reminders="y", quiet_start="21:00", quiet_end="08:00").status_code == 302
    _db.session.refresh(patient)
    assert patient.email_reminders is True


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"quiet_start": "25:00", "quiet_end": "08:00"}, "Not a valid time value."),
        ({"quiet_start": "", "quiet_end": "08:00"}, "Enter a time, for example 21:00."),
        ({"quiet_start": "21:00", "quiet_end": "nine"}, "Not a valid time value."),
        ({"quiet_start": "21:00", "quiet_end": "21:00"}, "Quiet hours need an end different from their start."),
    ],
)
def test_bad_quiet_hours_are_refused_beside_the_field_and_nothing_is_saved(patient, patient_client, values, message):
    response = _settings(patient_client, **values)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    _db.session.refresh(patient)
    assert (patient.email_reminders, patient.quiet_start, patient.quiet_end) == (True, time(21), time(8))


def test_without_the_csrf_token_nothing_is_saved(patient, patient_client):
    response = patient_client.post("/me/reminders", data={"rem-quiet_start": "10:00", "rem-quiet_end": "11:00"})
    assert response.status_code == 400
    _db.session.refresh(patient)
    assert patient.quiet_start == time(21)


def test_staff_have_no_reminder_settings(coach_client):
    response = coach_client.post(
        "/me/reminders",
        data={"csrf_token": csrf_token(coach_client, "/account"), "rem-quiet_start": "10:00", "rem-quiet_end": "11:00"},
    )
    assert response.status_code == 403


def test_the_reminder_settings_speak_spanish(make_user, coach, login_as):
    client = login_as(make_user(coach=coach, language="es"))
    page = client.get("/account").get_data(as_text=True)
    assert "Horas de silencio desde" in page and "Envíenme recordatorios por correo" in page
    response = _settings(client, quiet_start="21:00", quiet_end="21:00")
    assert "Las horas de silencio necesitan un final distinto de su inicio." in response.get_data(as_text=True)


# --- paused exercises ask for nothing ---------------------------------------------------------------


def test_no_plan_reminder_while_a_red_flag_or_the_coach_pauses_the_round_and_the_check_in_reminder_still_goes(
    make_user, coach, smtp_server
):
    """Noon in Chicago, round 2 due: the patient with an Emergency red flag (exercises paused) and the one whose only
    item the coach paused get no plan reminder; the patient without a pause gets one. All three get the check-in
    reminder (nobody has checked in by 12:00)."""
    noon = _utc(datetime(2026, 3, 20, 12, 5), CHICAGO)
    made = {}
    for name in ("flagged", "coach-paused", "free"):
        patient = make_user(
            coach=coach, email=f"{name}@example.org", timezone=CHICAGO, plan_reminders=True, reminder_time=time(12)
        )
        patient.plan_times_stored = "08:00,12:00"
        plan = make_plan(patient, items=[make_item(title="Bridge")], start_date=D - timedelta(days=3))
        plan.items[0].times_per_day = 2
        _db.session.commit()
        made[name] = (patient, plan)
    open_alert(made["flagged"][0], AlertKind.RED_FLAG, "r", tier=Tier.EMERGENCY, notify=False)
    plan = made["coach-paused"][1]
    pause_item(plan, plan.items[0], "Let the knee settle", coach)
    _db.session.commit()
    with time_machine.travel(noon, tick=False):
        reminders.send_all_reminders()
    received = sorted((str(m["To"]), str(m["Subject"])) for m in smtp_server.messages())
    assert received == [
        ("coach-paused@example.org", "Your daily check-in on Holistiq Coach"),
        ("flagged@example.org", "Your daily check-in on Holistiq Coach"),
        ("free@example.org", "Time for your home plan"),
        ("free@example.org", "Your daily check-in on Holistiq Coach"),
    ]

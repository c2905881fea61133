"""The safety loop: a red flag pauses the exercises, Today says so, the coach resolves and resumes."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from portal.auth.models import Role
from portal.care.alerts import (
    exercises_paused,
    exercises_paused_since,
    open_alert,
    patients_with_exercises_paused,
    resolve_alert,
    resume_exercises,
)
from portal.care.checkins import patient_today
from portal.care.models import Alert, AlertKind, CheckIn
from portal.care.red_flags import RED_FLAG_FIELDS, Tier
from portal.care.today import ItemPaused, set_done, todays_plan
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.test_checkins import form_data, make_plan

pytestmark = pytest.mark.usefixtures("care_clock")


@pytest.fixture
def plan(db, patient, coach):
    """Two exercises and one posture habit, all due every day."""
    plan = make_plan(db, patient, coach, n_items=3)
    plan.items[2].library_item.kind = "posture"
    db.session.commit()
    return plan


def _red_flag(patient_client):
    response = patient_client.post("/me/checkin", data=form_data(patient_client, rf_walking="yes"))
    assert response.status_code == 302


# --- the pause rule --------------------------------------------------------------------


def test_pause_follows_the_red_flag_and_outlives_it_until_resumed(db, patient, coach, plan):
    assert not exercises_paused(patient.id)
    alert, _ = open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    assert exercises_paused(patient.id)
    resolve_alert(alert, coach, "Called her; seeing the doctor tomorrow.", resume=False)
    db.session.commit()
    assert exercises_paused(patient.id)  # resolved without resuming: still paused
    assert resume_exercises(patient, coach) is True
    db.session.commit()
    assert not exercises_paused(patient.id)
    assert resume_exercises(patient, coach) is False  # nothing left to resume


def test_other_alert_kinds_do_not_pause(db, patient, plan):
    open_alert(patient, AlertKind.PAIN_WORSENING, "pain 7, up from an average of 3.3")
    open_alert(patient, AlertKind.MISSED_CHECKINS, "no check-in")
    db.session.commit()
    assert not exercises_paused(patient.id)


def test_only_exercises_are_paused(db, patient, plan):
    open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    today = todays_plan(patient)
    assert [entry.paused for entry in today.items] == [True, True, False]
    with pytest.raises(ItemPaused):
        set_done(patient, plan.items[0], True)
    set_done(patient, plan.items[2], True)  # posture habits stay available
    set_done(patient, plan.items[0], False)  # undoing is always allowed


# --- the patient's pages ---------------------------------------------------------------


def test_today_shows_the_red_flag_box_and_paused_exercises(db, patient_client, patient, plan):
    _red_flag(patient_client)
    html = patient_client.get("/me/").get_data(as_text=True)
    box = re.search(r'<section class="alert alert-danger[^"]*" role="alert".*?</section>', html, re.S).group(0)
    assert "Call your clinic today" in box  # trouble walking: the Today tier
    assert box.index('href="tel:8175550142"') < box.index('href="tel:911"')
    assert html.index('role="alert"') < html.index("Stretches &amp; exercises")
    exercises = html[html.index('id="group-exercise"') : html.index('id="group-posture"')]
    assert "Paused until your coach checks in with you" in exercises
    assert "Mark<span" not in exercises
    posture = html[html.index('id="group-posture"') :]
    assert "Mark<span" in posture


def test_marking_a_paused_exercise_done_is_409(db, patient_client, patient, plan):
    _red_flag(patient_client)
    token = csrf_token(patient_client, "/me/")
    paused = patient_client.post(f"/me/today/items/{plan.items[0].id}", data={"csrf_token": token, "done": "1"})
    assert paused.status_code == 409
    assert "paused until your coach checks in with you" in paused.get_data(as_text=True)
    posture = patient_client.post(f"/me/today/items/{plan.items[2].id}", data={"csrf_token": token, "done": "1"})
    assert posture.status_code == 302


def test_no_box_without_an_open_red_flag(db, patient_client, plan):
    html = patient_client.get("/me/").get_data(as_text=True)
    assert 'role="alert"' not in html
    assert "Paused until" not in html


def test_saved_checkin_is_shown_editable_instead_of_the_invitation(db, patient_client, patient, plan):
    assert "Check in for today" in patient_client.get("/me/").get_data(as_text=True)
    patient_client.post("/me/checkin", data=form_data(patient_client, pain="5"))
    today = patient_client.get("/me/").get_data(as_text=True)
    assert "Check in for today" not in today
    assert "Change today's check-in" in today
    page = patient_client.get("/me/checkin").get_data(as_text=True)
    assert re.search(r'name="pain"[^>]*value="5"', page) or re.search(r'value="5"[^>]*name="pain"', page)
    assert re.search(r'value="no"[^>]*checked|checked[^>]*value="no"', page)


# --- the coach's summary and resolving -------------------------------------------------


def test_summary_shows_alert_pain_change_phone_and_message(db, coach_client, patient, plan):
    patient.phone = "(817) 555-0121"
    for offset, pain in ((3, 3), (2, 4), (1, 3)):
        db.session.add(
            CheckIn(patient_id=patient.id, day=patient_today(patient) - timedelta(days=offset), pain=pain, stiffness=2)
        )
    db.session.add(CheckIn(patient_id=patient.id, day=patient_today(patient), pain=8, stiffness=2))
    open_alert(patient, AlertKind.RED_FLAG, "Reported: trouble walking or standing")
    db.session.commit()
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    summary = html[html.index('id="summary"') : html.index('id="plan"')]
    assert "Reported: trouble walking or standing" in summary and "Resolve" in summary
    assert 'href="tel:8175550121"' in summary
    assert f'href="/messages/patients/{patient.id}"' in summary
    assert "8/10" in summary and "+4.7" in summary
    for anchor in ("#plan", "#charts", "#plan-history"):
        assert f'href="{anchor}"' in summary
    assert html.index('id="summary"') < html.index('id="plan"') < html.index('id="charts"')


def test_resolving_a_red_flag_asks_whether_to_resume(db, coach_client, patient, plan):
    alert, _ = open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    url = f"/coach/alerts/{alert.id}/resolve"
    missing = coach_client.post(url, data={"csrf_token": token, "note": "Called her.", "next": "patient"})
    assert missing.status_code == 422
    assert "Choose whether to resume the paused exercises now." in missing.get_data(as_text=True)
    assert db.session.get(Alert, alert.id).resolved_at is None
    kept = coach_client.post(url, data={"csrf_token": token, "note": "Called her.", "resume": "no", "next": "patient"})
    assert kept.status_code == 302 and kept.headers["Location"].endswith(f"/coach/patients/{patient.id}")
    assert exercises_paused(patient.id)
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert "Resume exercises" in page
    resumed = coach_client.post(f"/coach/patients/{patient.id}/resume-exercises", data={"csrf_token": token})
    assert resumed.status_code == 302
    assert not exercises_paused(patient.id)


def test_resolving_with_resume_gives_the_patient_the_buttons_back(db, coach_client, patient_client, patient, plan):
    _red_flag(patient_client)
    alert = db.session.scalar(db.select(Alert))
    token = csrf_token(coach_client, "/coach/alerts")
    response = coach_client.post(
        f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "Seen at the clinic.", "resume": "yes"}
    )
    assert response.status_code == 302
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Paused until" not in html and 'role="alert"' not in html
    assert html.count("Mark<span") == 3


def test_alert_cards_link_to_summary_phone_and_thread(db, coach_client, patient):
    patient.phone = "(817) 555-0121"
    open_alert(patient, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    html = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert f"/coach/patients/{patient.id}#summary" in html
    assert 'href="tel:' in html
    assert f'href="/messages/patients/{patient.id}"' in html


# --- the roster: triage first ----------------------------------------------------------


def test_roster_defaults_to_needs_attention_with_reasons(db, coach, coach_client, make_user):
    urgent = make_user(coach=coach, name="Zed Urgent")
    worse = make_user(coach=coach, name="Yolanda Worse")
    quiet = make_user(coach=coach, name="Xavier Quiet")
    fresh = make_user(coach=coach, name="Abe Fresh")
    for person in (urgent, worse, quiet):
        make_plan(db, person, coach, n_items=1)
    make_plan(db, fresh, coach, n_items=1, start=patient_today(fresh) + timedelta(days=2))
    today = patient_today(worse)
    db.session.add(CheckIn(patient_id=worse.id, day=today - timedelta(days=5), pain=3, stiffness=2))
    db.session.add(CheckIn(patient_id=worse.id, day=today, pain=7, stiffness=2))
    db.session.add(CheckIn(patient_id=quiet.id, day=today - timedelta(days=3), pain=3, stiffness=2))
    db.session.add(CheckIn(patient_id=urgent.id, day=today, pain=3, stiffness=2))
    open_alert(urgent, AlertKind.RED_FLAG, "urgent")
    db.session.commit()
    html = coach_client.get("/coach/").get_data(as_text=True)
    assert 'aria-current="true">Needs attention' in html
    names = re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a>', html)
    assert names[0] == "Zed Urgent"
    reasons = dict(zip(names, re.findall(r'data-col="reason">(.*?)</td>', html, re.S), strict=True))
    assert re.search(r"Red flag [A-Z][a-z]{2} \d{1,2}", reasons["Zed Urgent"])
    weekday = (today - timedelta(days=5)).strftime("%A")
    assert f"Pain up 4 since {weekday}" in reasons["Yolanda Worse"]
    assert "No check-in for 3 days" in reasons["Xavier Quiet"]
    assert "New plan: nothing due yet" in reasons["Abe Fresh"]
    # Nothing was due yet: no "0 %" adherence for the new plan.
    by_name = coach_client.get("/coach/?sort=name").get_data(as_text=True)
    assert re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a>', by_name)[0] == "Abe Fresh"
    row = by_name[by_name.index("Abe Fresh") : by_name.index("</tr>", by_name.index("Abe Fresh"))]
    assert "0%" not in row


def test_the_summary_says_since_when_exercises_are_paused_and_the_card_quotes_the_patient(
    db, coach_client, patient_client, patient, plan
):
    answers = {"pain": "6", "stiffness": "3", "spasm_episodes": "1"}
    answers.update(dict.fromkeys(RED_FLAG_FIELDS, "no"))
    answers.update(rf_walking="yes", notes="Tingling down my left leg since the morning")
    answers["csrf_token"] = csrf_token(patient_client, "/me/checkin")
    assert patient_client.post("/me/checkin", data=answers).status_code == 302
    today = patient_today(patient)
    day = f"{today:%b} {today.day}, {today.year}"
    page = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    summary = page[page.index('id="summary"') : page.index('id="plan"')]
    assert f"Exercises paused since {day} after a red flag" in summary
    assert "Resume exercises" not in summary  # resolving the open alert is where they resume
    assert f"From the check-in of {day}." in summary
    assert '<q class="text-prewrap">Tingling down my left leg since the morning</q>' in summary
    inbox = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert "Tingling down my left leg since the morning" in inbox and f"From the check-in of {day}." in inbox
    alert = db.session.scalar(db.select(Alert))
    token = csrf_token(coach_client, "/coach/alerts")
    coach_client.post(
        f"/coach/alerts/{alert.id}/resolve", data={"csrf_token": token, "note": "Called.", "resume": "no"}
    )
    summary = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert f"Exercises paused since {day} after a red flag" in summary and "Resume exercises" in summary
    resume = coach_client.post(f"/coach/patients/{patient.id}/resume-exercises", data={"csrf_token": token})
    assert resume.status_code == 302
    assert "after a red flag" not in coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)


# Opened at 23:00 UTC on 20 March: already 08:00 on the 21st in Tokyo.
OPENED_LATE_UTC = datetime(2026, 3, 20, 23, 0)


@pytest.mark.parametrize(
    ("checkin_day", "since"),
    [
        (None, date(2026, 3, 21)),  # raised without a check-in (the intake): the patient's local day, not UTC's
        (date(2026, 3, 21), date(2026, 3, 21)),  # the check-in's day, which is also the local day it opened
        (date(2026, 3, 20), date(2026, 3, 20)),  # checked in while still in an earlier zone: that day, the earlier
    ],
)
def test_the_pause_began_on_the_patients_local_day(db, make_user, coach, checkin_day, since):
    patient = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
    checkin_id = None
    if checkin_day is not None:
        checkin = CheckIn(patient_id=patient.id, day=checkin_day, pain=5, stiffness=5, rf_walking=True)
        db.session.add(checkin)
        db.session.flush()
        checkin_id = checkin.id
    alert, _ = open_alert(patient, AlertKind.RED_FLAG, "Reported", checkin_id, notify=False, tier=Tier.TODAY)
    alert.opened_at = OPENED_LATE_UTC
    # Another patient's earlier pause is not this one's.
    other = make_user(Role.PATIENT, coach=coach, timezone="Asia/Tokyo")
    earlier, _ = open_alert(other, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.EMERGENCY)
    earlier.opened_at = OPENED_LATE_UTC - timedelta(days=5)
    db.session.commit()
    assert exercises_paused_since(patient) == since
    assert exercises_paused_since(other) == date(2026, 3, 16)


def test_the_reminders_learn_which_of_the_patients_asked_about_have_their_exercises_paused(db, make_user, coach):
    paused, soon, calm, not_asked = (make_user(Role.PATIENT, coach=coach) for _ in range(4))
    open_alert(paused, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.TODAY)
    open_alert(soon, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.SOON)  # the exercises stay
    open_alert(not_asked, AlertKind.RED_FLAG, "Reported", notify=False, tier=Tier.EMERGENCY)
    db.session.commit()
    assert patients_with_exercises_paused([paused.id, soon.id, calm.id]) == {paused.id}
    assert patients_with_exercises_paused([]) == set()

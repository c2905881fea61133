"""Daily check-in: form, validation, one row per local day, red flags, item logs, PEG."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from portal.auth.models import Role
from portal.care.checkins import patient_today, save_checkin
from portal.care.models import Alert, AlertKind, CheckIn, ItemLog, Plan, PlanItem, WeeklyOutcome
from portal.care.pauses import pause_item
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.exercises.models import LibraryItem
from portal.mail import OutboundEmail
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.plan_factories import schedule_from_start

# The care rules depend on the patient's local day: run at a chosen instant, not the machine's today.
pytestmark = pytest.mark.usefixtures("care_clock")

_slug = itertools.count(1)


def make_plan(db, patient, coach, n_items=2, start=None, weekdays="0123456"):
    """An active plan with ``n_items`` library items due on ``weekdays``."""
    plan = Plan(
        patient_id=patient.id,
        coach_id=coach.id,
        title="Back care",
        start_date=start or patient_today(patient) - timedelta(days=60),
    )
    db.session.add(plan)
    for i in range(n_items):
        n = next(_slug)
        item = LibraryItem(
            kind="exercise",
            title=f"Stretch {n}",
            slug=f"stretch-{n}",
            summary="A gentle stretch.",
            instructions="Breathe.",
            body_area="lower_back",
        )
        db.session.add(item)
        db.session.flush()
        plan.items.append(PlanItem(library_item_id=item.id, position=i, weekdays=weekdays))
    db.session.commit()
    schedule_from_start(plan)
    return plan


def form_data(client, **overrides):
    data = {
        "csrf_token": csrf_token(client, "/me/checkin"),
        "pain": "4",
        "stiffness": "3",
        "spasm_episodes": "1",
        "sleep_quality": "3",
        "water_glasses": "6",
        "notes": "Felt better after the walk.",
    } | dict.fromkeys(RED_FLAG_FIELDS, "no")
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_form_shows_scale_anchors_and_button(patient_client):
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    assert "Pain right now (0–10)" in html
    assert "0 = no pain" in html and "10 = worst pain imaginable" in html
    assert "Save check-in" in html
    assert html.count("<h1") == 1
    for question in ("numbness or tingling", "walking or standing", "bladder or bowel", "fall or injury"):
        assert question in html


def test_nav_has_check_in(patient_client):
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    assert re.search(r'href="/me/checkin"[^>]*>\s*Check in', html) or ">Check in" in html


def test_save_creates_then_updates_same_day(patient_client, patient, db):
    response = patient_client.post("/me/checkin", data=form_data(patient_client))
    assert response.status_code == 302
    response = patient_client.post("/me/checkin", data=form_data(patient_client, pain="2", notes="Edited"))
    assert response.status_code == 302
    rows = db.session.scalars(db.select(CheckIn).where(CheckIn.patient_id == patient.id)).all()
    assert len(rows) == 1
    assert rows[0].pain == 2 and rows[0].notes == "Edited"
    assert rows[0].day == patient_today(patient)
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    assert 'value="2"' in html and "Saved" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pain", "11", "from 0 to 10"),
        ("pain", "-1", "from 0 to 10"),
        ("pain", "abc", "from 0 to 10"),
        ("pain", "", "from 0 to 10"),
        ("stiffness", "99", "from 0 to 10"),
        ("spasm_episodes", "1000", "from 0 to 50"),
        ("water_glasses", "x", "from 0 to 30"),
        ("sleep_quality", "9", "Not a valid choice"),
        ("notes", "a" * 2001, "2000"),
        ("notes", "bad\x00char", "control characters"),
    ],
)
def test_bad_input_is_422_beside_field_and_nothing_saved(patient_client, patient, db, field, value, message):
    response = patient_client.post("/me/checkin", data=form_data(patient_client, **{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_missing_csrf_is_400(patient_client, db):
    data = form_data(patient_client)
    del data["csrf_token"]
    assert patient_client.post("/me/checkin", data=data).status_code == 400
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_post_for_past_or_future_day_is_refused(patient_client, patient, db):
    today = patient_today(patient)
    past = patient_client.post(
        "/me/checkin", data=form_data(patient_client, day=(today - timedelta(days=1)).isoformat())
    )
    assert past.status_code == 409
    assert "earlier days can no longer be changed" in past.get_data(as_text=True)
    future = patient_client.post(
        "/me/checkin", data=form_data(patient_client, day=(today + timedelta(days=1)).isoformat())
    )
    assert future.status_code == 422
    assert "in the future" in future.get_data(as_text=True)
    garbage = patient_client.post("/me/checkin", data=form_data(patient_client, day="2026-99-99"))
    assert garbage.status_code == 400
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0
    ok = patient_client.post("/me/checkin", data=form_data(patient_client, day=today.isoformat()))
    assert ok.status_code == 302


def test_service_refuses_past_day(patient, db):
    from portal.care.checkins import CheckInClosed

    with pytest.raises(CheckInClosed):
        save_checkin(patient, patient_today(patient) - timedelta(days=1), {"pain": 1, "stiffness": 1})


def test_past_checkin_is_read_only_view(patient_client, patient, db):
    day = patient_today(patient) - timedelta(days=2)
    db.session.add(CheckIn(patient_id=patient.id, day=day, pain=5, stiffness=4, notes="old note"))
    db.session.commit()
    response = patient_client.get(f"/me/checkin/{day.isoformat()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "old note" in html and "<form" not in html.split("<main", 1)[1].split("</main>")[0]
    assert patient_client.get(f"/me/checkin/{(day + timedelta(days=30)).isoformat()}").status_code == 404
    assert patient_client.get("/me/checkin/not-a-date").status_code == 404
    today = patient_today(patient).isoformat()
    assert patient_client.get(f"/me/checkin/{today}").status_code == 302


def test_other_patients_checkin_is_404(login_as, make_user, coach, patient, db):
    other = make_user(Role.PATIENT, coach=coach)
    day = patient_today(patient) - timedelta(days=1)
    db.session.add(CheckIn(patient_id=other.id, day=day, pain=9, stiffness=9, notes="private"))
    db.session.commit()
    client = login_as(patient)
    assert client.get(f"/me/checkin/{day.isoformat()}").status_code == 404
    assert "private" not in client.get("/me/history").get_data(as_text=True)


def test_staff_cannot_use_patient_checkin(coach_client):
    assert coach_client.get("/me/checkin").status_code == 403


def test_red_flag_shows_safety_message_and_opens_one_urgent_alert(patient_client, patient, coach, db):
    response = patient_client.post(
        "/me/checkin", data=form_data(patient_client, rf_walking="yes"), follow_redirects=True
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "911" in html
    assert patient.clinic.phone in html
    assert 'role="alert"' in html
    assert db.session.scalar(db.select(CheckIn)).rf_walking is True
    alerts = db.session.scalars(db.select(Alert)).all()
    assert [(a.kind, a.severity, a.tier, a.severity_name) for a in alerts] == [
        (AlertKind.RED_FLAG, 1, "today", "Urgent")
    ]
    assert "trouble walking" in alerts[0].summary
    # The coach is told by email, without health details.
    mail = db.session.scalars(db.select(OutboundEmail)).all()
    assert len(mail) == 1 and mail[0].to_address == coach.email
    assert "walking" not in mail[0].body
    # Sending again (still yes) keeps a single open alert.
    patient_client.post("/me/checkin", data=form_data(patient_client, rf_walking="yes", rf_numbness="yes"))
    alerts = db.session.scalars(db.select(Alert)).all()
    assert len(alerts) == 1
    db.session.refresh(alerts[0])
    assert "numbness" in alerts[0].summary


def test_no_red_flag_no_safety_message(patient_client, db):
    html = patient_client.post("/me/checkin", data=form_data(patient_client), follow_redirects=True).get_data(
        as_text=True
    )
    assert 'id="safety"' not in html  # the saved check-in's advice box (the form's hidden hints aside)
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 0


def test_items_done_prefilled_and_recorded(patient_client, patient, coach, db):
    plan = make_plan(db, patient, coach, n_items=3)
    first, second, third = plan.items
    today = patient_today(patient)
    db.session.add(ItemLog(plan_item_id=first.id, patient_id=patient.id, day=today, done=True))
    db.session.commit()
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    assert re.search(rf'checked[^>]*value="{first.id}"|value="{first.id}"[^>]*checked', html)
    assert not re.search(rf'checked[^>]*value="{second.id}"|value="{second.id}"[^>]*checked', html)
    data = form_data(patient_client)
    data["items_done"] = [str(second.id), str(third.id)]
    assert patient_client.post("/me/checkin", data=data).status_code == 302
    logs = {log.plan_item_id: log.done for log in db.session.scalars(db.select(ItemLog))}
    assert logs == {first.id: False, second.id: True, third.id: True}


def test_an_item_paused_ahead_of_others_does_not_stop_their_ticks(patient, coach, db):
    """The coach paused the plan's first item: the check-in leaves it alone and still records the items after it."""
    plan = make_plan(db, patient, coach, n_items=3)
    first, second, third = plan.items
    pause_item(plan, first, "Let the knee settle", coach)
    db.session.commit()
    save_checkin(patient, patient_today(patient), {"pain": 3, "stiffness": 3}, items_done={first.id, third.id})
    db.session.commit()
    logs = {log.plan_item_id: log.done for log in db.session.scalars(db.select(ItemLog))}
    assert logs == {third.id: True}
    assert second.id not in logs


def test_forged_item_id_is_refused(patient_client, patient, coach, make_user, db):
    make_plan(db, patient, coach, n_items=1)
    other = make_user(Role.PATIENT, coach=coach)
    other_plan = make_plan(db, other, coach, n_items=1)
    data = form_data(patient_client)
    data["items_done"] = [str(other_plan.items[0].id)]
    response = patient_client.post("/me/checkin", data=data)
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count(ItemLog.id))) == 0
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_upsert_is_idempotent_at_service_level(patient, db):
    """Two saves in a row (double submit) leave exactly one row for the day."""
    today = patient_today(patient)
    first = save_checkin(patient, today, {"pain": 3, "stiffness": 3})
    db.session.commit()
    second = save_checkin(patient, today, {"pain": 6, "stiffness": 2})
    db.session.commit()
    assert first.created is True and second.created is False
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 1
    assert db.session.scalar(db.select(CheckIn.pain)) == 6


def test_history_paginates_newest_first(patient_client, patient, db):
    today = patient_today(patient)
    for i in range(1, 26):
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=i), pain=i % 11, stiffness=1))
    db.session.commit()
    page1 = patient_client.get("/me/history").get_data(as_text=True)
    assert "25 check-ins" in page1
    assert (today - timedelta(days=1)).strftime("%b %-d") in page1
    page2 = patient_client.get("/me/history?page=2").get_data(as_text=True)
    assert (today - timedelta(days=25)).strftime("%b %-d") in page2
    assert patient_client.get("/me/history?page=99").status_code == 200


def test_weekly_peg_check_creates_then_updates(patient_client, patient, db):
    token = csrf_token(patient_client, "/me/weekly-check")
    data = {"csrf_token": token, "pain_average": "6", "enjoyment_interference": "5", "activity_interference": "4"}
    assert patient_client.post("/me/weekly-check", data=data).status_code == 302
    data["pain_average"] = "3"
    assert patient_client.post("/me/weekly-check", data=data).status_code == 302
    rows = db.session.scalars(db.select(WeeklyOutcome)).all()
    assert len(rows) == 1 and rows[0].pain_average == 3
    assert rows[0].week_start == patient_today(patient) - timedelta(days=patient_today(patient).weekday())
    bad = patient_client.post("/me/weekly-check", data={**data, "activity_interference": "12"})
    assert bad.status_code == 422
    assert 'id="activity_interference-error"' in bad.get_data(as_text=True)


def test_checkin_day_uses_clinic_timezone(make_clinic, make_user, coach, db):
    tokyo = make_clinic(timezone="Asia/Tokyo")
    patient = make_user(Role.PATIENT, coach=coach, clinic_id=tokyo.id)
    from portal.timeutil import local_today

    assert patient_today(patient) == local_today("Asia/Tokyo")
    assert isinstance(patient_today(patient), date)


def test_concurrent_first_saves_update_one_row(patient, db, monkeypatch):
    """Another request inserted today's row between our read and our insert: we update it."""
    import portal.care.checkins as checkins

    today = patient_today(patient)
    db.session.add(CheckIn(patient_id=patient.id, day=today, pain=1, stiffness=1))
    db.session.commit()
    real = checkins.checkin_for
    calls = []

    def stale_first_read(patient_id, day):
        calls.append(day)
        return None if len(calls) == 1 else real(patient_id, day)

    monkeypatch.setattr(checkins, "checkin_for", stale_first_read)
    result = save_checkin(patient, today, {"pain": 8, "stiffness": 2})
    db.session.commit()
    assert result.created is False
    assert db.session.scalars(db.select(CheckIn.pain)).all() == [8]


def test_new_form_starts_spasms_at_zero(patient_client):
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    assert re.search(r'id="spasm_episodes"[^>]*value="0"|value="0"[^>]*id="spasm_episodes"', html)


def test_missing_csrf_wins_over_a_stale_day(patient_client, patient, db):
    data = form_data(patient_client, day=(patient_today(patient) - timedelta(days=1)).isoformat())
    del data["csrf_token"]
    assert patient_client.post("/me/checkin", data=data).status_code == 400


def test_safety_questions_open_with_no_answer_selected(patient_client):
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="rf_[a-z_]+"[^>]*>', html)
    assert len(radios) == 2 * len(RED_FLAG_FIELDS) == 14
    assert not any("checked" in radio for radio in radios)


@pytest.mark.parametrize("skipped", ["all", "one"])
def test_skipping_a_safety_question_is_422_and_saves_nothing(patient_client, db, skipped):
    data = form_data(patient_client)
    names = [name for name in data if name.startswith("rf_")]
    for name in names if skipped == "all" else names[:1]:
        del data[name]
    response = patient_client.post("/me/checkin", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count("Answer each safety question") == 1
    # The message sits with the questions and is tied to them for screen readers.
    assert 'id="safety-error"' in html and 'aria-describedby="safety-error"' in html
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_a_made_up_safety_answer_is_refused(patient_client, db):
    response = patient_client.post("/me/checkin", data=form_data(patient_client, rf_walking="maybe"))
    assert response.status_code == 422
    assert "Answer each safety question" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CheckIn.id))) == 0


def test_checkin_details_show_every_answer_on_the_coach_and_patient_pages(login_as, coach, patient, db):
    """The details share their translated labels across check-ins: each must still show its own answers."""
    from portal.care.red_flags import RED_FLAG_QUESTIONS

    today = patient_today(patient)
    flagged, field = today - timedelta(days=1), RED_FLAG_FIELDS[0]
    db.session.add(CheckIn(patient_id=patient.id, day=flagged, pain=7, stiffness=2, water_glasses=5, **{field: True}))
    db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=2), pain=3, stiffness=1, notes="calm day"))
    db.session.commit()
    coach_html = login_as(coach).get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    patient_html = login_as(patient).get(f"/me/checkin/{flagged.isoformat()}").get_data(as_text=True)
    details = coach_html.split('id="checkins-heading"', 1)[1].split("</section>", 1)[0].split("<details")[1:]
    assert len(details) == 2
    for html, answers in ((details[0], True), (details[1], False), (patient_html, True)):
        for label in ("Pain (0–10)", "Stiffness (0–10)", "Spasm episodes", "Sleep (1–5)", "Glasses of water"):
            assert f">{label}</dt>" in html
        rows = re.findall(r"<li>(.*?)</li>", html.split("Safety questions", 1)[1].split("</ul>", 1)[0], re.S)
        assert len(rows) == len(RED_FLAG_QUESTIONS)
        for row, (name, question) in zip(rows, RED_FLAG_QUESTIONS, strict=True):
            assert str(question) in row
            assert (">Yes</span>" in row) == (answers and name == field) and (">No</span>" in row) != (
                ">Yes</span>" in row
            )
    assert "calm day" in details[1] and ">Notes</h3>" in details[1] and ">Notes</h3>" not in details[0]

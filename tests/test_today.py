"""The patient's Today and My plan pages, and marking items done."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.auth.models import Role
from portal.care.models import ItemLog
from portal.care.today import todays_plan
from portal.extensions import db
from portal.timeutil import local_today
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan
from tests.test_api import API, bearer, sign_in

# The care rules depend on the patient's local day: run at a chosen instant, not the machine's today.
pytestmark = pytest.mark.usefixtures("care_clock")


def _logs():
    return db.session.execute(db.select(ItemLog.plan_item_id, ItemLog.day, ItemLog.done)).all()


def _mark(client, item_id, done="1"):
    token = csrf_token(client, "/me/")
    return client.post(f"/me/today/items/{item_id}", data={"csrf_token": token, "done": done})


def test_patient_without_a_plan_sees_a_friendly_explanation(patient_client):
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "<h1>Today</h1>" in html and "Your plan is on its way" in html
    html = patient_client.get("/me/plan").get_data(as_text=True)
    assert "<h1>My plan</h1>" in html and "No plan yet" in html


def test_today_groups_items_with_dose_note_link_and_progress(patient, patient_client):
    move = make_item(title="Cat and cow")
    habit = make_item(kind="posture", title="Sit tall at the desk")
    tip = make_item(kind="diet", title="Water with meals")
    make_plan(patient, items=[tip, move, habit], note="Only as far as comfortable.")
    html = patient_client.get("/me/").get_data(as_text=True)
    groups = [m for m in re.findall(r'<h2 id="group-\w+" class="h4">([^<]+)</h2>', html)]
    assert groups == ["Stretches &amp; exercises", "Posture habits", "Nutrition"]
    assert "0 of 6 sessions done today" in html  # three items, each twice a day
    assert "2 sets of 10 reps · hold 5 s · twice a day" in html
    assert "Only as far as comfortable." in html
    assert f'href="/library/{move.id}"' in html
    assert 'Mark<span class="visually-hidden"> Cat and cow</span> done</button>' in html
    assert "not a substitute for medical advice" in html


def test_only_items_due_today_are_shown(patient, patient_client):
    today = local_today(patient.tz)
    due = make_item(title="Due today")
    make_plan(patient, items=[due])
    plan = todays_plan(patient).plan
    plan.items[0].weekdays = str(today.weekday())
    other_day = make_item(title="Another day")
    from portal.care.models import PlanItem

    db.session.add(
        PlanItem(
            plan_id=plan.id, library_item_id=other_day.id, weekdays=str((today.weekday() + 1) % 7), times_per_day=1
        )
    )
    db.session.add(PlanItem(plan_id=plan.id, library_item_id=make_item(title="Removed").id, is_active=False))
    db.session.commit()
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Due today" in html and "Another day" not in html and "Removed" not in html
    assert "0 of 2 sessions done today" in html


def test_plan_starting_later_says_when(patient, patient_client):
    make_plan(patient, items=[make_item()], start_date=local_today(patient.tz) + timedelta(days=3), title="Spring plan")
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Your plan starts on" in html and "Spring plan" in html


def test_mark_done_persists_is_idempotent_and_undo_works(patient, patient_client):
    plan = make_plan(patient, items=[make_item(title="Bridge"), make_item(title="Walk")])
    item = plan.items[0]
    response = _mark(patient_client, item.id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/me/#item-{item.id}")
    assert _mark(patient_client, item.id).status_code == 302  # a double submit changes nothing
    today = local_today(patient.tz)
    assert _logs() == [(item.id, today, True)]
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "2 of 4 sessions done today" in html
    assert 'Mark<span class="visually-hidden"> Bridge</span> not done</button>' in html
    assert 'Mark<span class="visually-hidden"> Walk</span> done</button>' in html
    assert _mark(patient_client, item.id, done="0").status_code == 302
    assert _logs() == [(item.id, today, False)]
    assert "1 of 4 sessions done today" in patient_client.get("/me/").get_data(as_text=True)


def test_marking_uses_the_patients_local_day(make_user, coach, login_as):
    # UTC+14: the patient's day can be a calendar day ahead of the server's.
    far_east = make_user(Role.PATIENT, coach=coach, timezone="Pacific/Kiritimati")
    plan = make_plan(far_east, items=[make_item()])
    client = login_as(far_east)
    _mark(client, plan.items[0].id)
    assert _logs()[0].day == local_today("Pacific/Kiritimati")


def test_another_patients_item_is_404_and_nothing_written(patient_client, make_user, coach):
    other = make_user(Role.PATIENT, coach=coach)
    plan = make_plan(other, items=[make_item()])
    assert _mark(patient_client, plan.items[0].id).status_code == 404
    assert _mark(patient_client, 999999).status_code == 404
    assert _logs() == []


NOT_DUE = "This item is not on your plan for today."


def test_an_item_not_due_today_gets_one_answer_everywhere(patient, patient_client, client):
    """Today's form, today.js, the guided session and the API: 409 with the same message, nothing kept."""
    today = local_today(patient.tz)
    plan = make_plan(patient, items=[make_item()], weekdays=str((today.weekday() + 1) % 7))
    item_id = plan.items[0].id
    page = _mark(patient_client, item_id)
    html = page.get_data(as_text=True)
    # The Today page again, the message at the top as a flash.
    assert page.status_code == 409 and "<h1>Today</h1>" in html
    assert re.search(r'class="alert alert-warning[^"]*"[^>]*>\s*' + re.escape(NOT_DUE), html)
    assert NOT_DUE not in patient_client.get("/me/").get_data(as_text=True)  # shown once
    token = csrf_token(patient_client, "/me/")
    fetched = patient_client.post(
        f"/me/today/items/{item_id}", data={"csrf_token": token, "done": "1"}, headers={"Accept": "application/json"}
    )
    assert fetched.status_code == 409 and fetched.get_json()["detail"] == NOT_DUE
    session = patient_client.post("/me/today/session/1", data={"csrf_token": token, "done": "1", "item": item_id})
    assert session.status_code == 409 and NOT_DUE in session.get_data(as_text=True)
    assert "No movements today" in session.get_data(as_text=True)
    headers = bearer(sign_in(client, patient))
    api = client.put(f"{API}/me/today/items/{item_id}", json={"done": True}, headers=headers)
    assert api.status_code == 409 and api.get_json()["detail"] == NOT_DUE
    assert _logs() == []


def test_a_plan_not_started_yet_is_not_due(patient, patient_client):
    plan = make_plan(patient, items=[make_item()], start_date=local_today(patient.tz) + timedelta(days=2))
    response = _mark(patient_client, plan.items[0].id)
    assert response.status_code == 409 and NOT_DUE in response.get_data(as_text=True)
    assert _logs() == []


@pytest.mark.parametrize("data", [{}, {"done": "maybe"}])
def test_bad_mark_form_is_400(patient, patient_client, data):
    plan = make_plan(patient, items=[make_item()])
    token = csrf_token(patient_client, "/me/")
    response = patient_client.post(f"/me/today/items/{plan.items[0].id}", data={"csrf_token": token, **data})
    assert response.status_code == 400
    assert _logs() == []


def test_mark_without_csrf_is_400(patient, patient_client):
    plan = make_plan(patient, items=[make_item()])
    assert patient_client.post(f"/me/today/items/{plan.items[0].id}", data={"done": "1"}).status_code == 400
    assert _logs() == []


def test_coach_cannot_use_patient_pages(patient, coach_client):
    plan = make_plan(patient, items=[make_item()])
    assert coach_client.get("/me/").status_code == 403
    assert coach_client.get("/me/plan").status_code == 403
    token = csrf_token(coach_client, "/coach/")
    assert (
        coach_client.post(f"/me/today/items/{plan.items[0].id}", data={"csrf_token": token, "done": "1"}).status_code
        == 403
    )


def test_my_plan_shows_week_goals_coach_and_items(patient, patient_client):
    make_plan(patient, items=[make_item(title="Bridge")], weekdays="024", goals="Garden again", note="Slowly.")
    html = patient_client.get("/me/plan").get_data(as_text=True)
    assert "Garden again" in html and "Casey Coach" in html and "Slowly." in html
    row = html.split('href="#plan-item-')[1].split("</tr>")[0]
    assert "Bridge" in row and row.count("&#10003;") == 3
    assert '<span class="visually-hidden">Monday</span>' in row and "Not on Tuesday" in row
    assert "Mon, Wed, Fri" in html


def test_patient_sees_only_their_own_plan(patient, patient_client, make_user, coach):
    other = make_user(Role.PATIENT, coach=coach)
    make_plan(other, items=[make_item(title="Secret move")], goals="Someone else's goal")
    html = patient_client.get("/me/plan").get_data(as_text=True) + patient_client.get("/me/").get_data(as_text=True)
    assert "Secret move" not in html and "Someone else" not in html


@pytest.mark.parametrize("path", ["/me/", "/me/plan"])
def test_statement_count_does_not_grow_with_items(patient, patient_client, queries, path):
    plan = make_plan(patient, items=[make_item(kind=k) for k in ("exercise", "posture", "diet")])
    _mark(patient_client, plan.items[0].id)
    _mark(patient_client, plan.items[0].id)  # twice a day: done for the day after its second session
    with queries() as few:
        patient_client.get(path)
    from portal.care.models import PlanItem

    for n in range(20):
        row = PlanItem(plan_id=plan.id, library_item_id=make_item(kind="posture").id, times_per_day=1, position=5 + n)
        db.session.add(row)
    db.session.commit()
    _mark(patient_client, plan.items[-1].id)
    with queries() as many:
        html = patient_client.get(path).get_data(as_text=True)
    assert len(many) == len(few)
    if path == "/me/":
        assert "3 of 26 sessions done today" in html


def test_my_plan_names_the_current_coach_after_a_reassignment(patient, patient_client, make_user):
    make_plan(patient, items=[make_item()])
    new_coach = make_user(Role.COACH, name="Nora Newcoach")
    patient.coach_id = new_coach.id
    db.session.commit()
    assert "Nora Newcoach" in patient_client.get("/me/plan").get_data(as_text=True)

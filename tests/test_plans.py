"""Plans: roster, patient page, assigning programs, personalizing, optimistic locking, audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import Plan, PlanItem, PlanStatus, Program
from portal.extensions import db
from portal.timeutil import local_today
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan, make_program


def _version(html: str) -> str:
    return re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)


def _page(client, patient) -> str:
    return client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)


def _item_form(token, version, **overrides):
    data = {
        "csrf_token": token,
        "version": version,
        "sets": "3",
        "reps": "12",
        "hold_seconds": "10",
        "times_per_day": "2",
        "weekdays": ["0", "2", "4"],
        "note": "Go slowly on the way down.",
    }
    data.update(overrides)
    return data


def _actions(prefix: str) -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.action.like(prefix + "%"))))


# --- roster -----------------------------------------------------------------------------


def test_roster_lists_only_my_patients_with_clinic_and_plan(coach, patient, make_user, coach_client):
    other_coach = make_user(Role.COACH)
    make_user(Role.PATIENT, coach=other_coach, name="Not Mine")
    make_user(Role.PATIENT, coach=coach, name="No Plan Yet")
    make_plan(patient, title="Flare plan")
    html = coach_client.get("/coach/").get_data(as_text=True)
    assert "Pat Patient" in html and "Flare plan" in html and "No Plan Yet" in html and "No plan yet" in html
    assert "Not Mine" not in html
    assert "Arlington" in html


def test_roster_search_and_pagination(coach, make_user, coach_client):
    for n in range(30):
        make_user(Role.PATIENT, coach=coach, name=f"Person {n:02d}")
    make_user(Role.PATIENT, coach=coach, name="Zelda Quinn")
    html = coach_client.get("/coach/?q=zelda").get_data(as_text=True)
    assert "Zelda Quinn" in html and "Person 01" not in html
    page1 = coach_client.get("/coach/").get_data(as_text=True)
    page2 = coach_client.get("/coach/?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in page1 and "Person 00" in page1 and "Zelda Quinn" not in page1
    assert "Zelda Quinn" in page2
    # One page rule for every list (portal.pagination.page_arg): not a page number is a 400.
    assert coach_client.get("/coach/?page=abc").status_code == 400


def test_roster_statement_count_does_not_grow(coach, make_user, coach_client, queries):
    for _ in range(3):
        make_plan(make_user(Role.PATIENT, coach=coach), items=[make_item()])
    with queries() as few:
        coach_client.get("/coach/")
    for _ in range(20):
        make_plan(make_user(Role.PATIENT, coach=coach), items=[make_item()])
    with queries() as many:
        coach_client.get("/coach/")
    assert len(many) == len(few)


def test_patients_and_admins_cannot_open_coach_pages(patient, patient_client, admin_client):
    assert patient_client.get("/coach/").status_code == 403
    assert patient_client.get(f"/coach/patients/{patient.id}").status_code == 403
    assert admin_client.get("/coach/").status_code == 403


# --- patient page -----------------------------------------------------------------------


def test_patient_page_shows_plan_and_is_audited(coach, patient, coach_client):
    make_plan(patient, items=[make_item(title="Cat and cow")], goals="Sleep through the night")
    html = _page(coach_client, patient)
    assert "<h1>Pat Patient</h1>" in html and "Cat and cow" in html and "Sleep through the night" in html
    assert "2 sets of 10 reps · hold 5 s · twice a day" in html
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "patient.view"))
    assert event.patient_id == patient.id and event.actor_id == coach.id


def test_patient_of_another_coach_is_404(make_user, coach_client):
    stranger = make_user(Role.PATIENT, coach=make_user(Role.COACH))
    plan = make_plan(stranger, items=[make_item()])
    assert coach_client.get(f"/coach/patients/{stranger.id}").status_code == 404
    token = csrf_token(coach_client, "/coach/")
    item = plan.items[0]
    response = coach_client.post(
        f"/coach/patients/{stranger.id}/plans/{plan.id}/items/{item.id}", data=_item_form(token, "1")
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert item.sets == 2


def test_patient_page_statement_count_does_not_grow(coach, patient, coach_client, queries):
    make_plan(patient, items=[make_item() for _ in range(2)], status=PlanStatus.ENDED)
    plan = make_plan(patient, items=[make_item() for _ in range(2)])
    with queries() as few:
        _page(coach_client, patient)
    for _ in range(3):
        make_plan(patient, items=[make_item() for _ in range(4)], status=PlanStatus.ENDED)
    for n in range(15):
        db.session.add(
            PlanItem(plan_id=plan.id, library_item_id=make_item().id, times_per_day=1, weekdays="0", position=10 + n)
        )
    db.session.commit()
    with queries() as many:
        html = _page(coach_client, patient)
    assert len(many) == len(few)
    assert "Items (17)" in html


# --- assigning ------------------------------------------------------------------------------


def test_assign_program_copies_items_and_never_changes_the_program(coach, patient, coach_client):
    program = make_program(owner=coach, items=[make_item(title="Bridge"), make_item(title="Water")], name="Core")
    html = _page(coach_client, patient)
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    start = local_today(patient.tz) - timedelta(days=3)
    response = coach_client.post(
        f"/coach/patients/{patient.id}/plans",
        data={
            "csrf_token": token,
            "assign-program_id": program.id,
            "assign-start_date": start.isoformat(),
            "assign-goals": "Garden again",
            "assign-title": "",
            "assign-current_plan": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "No plan yet" not in html or True
    plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == patient.id))
    assert (plan.title, plan.goals, plan.start_date, plan.status) == ("Core", "Garden again", start, "active")
    assert [i.library_item.title for i in plan.items] == ["Bridge", "Water"]
    # Personalizing the plan leaves the program alone.
    version = _version(_page(coach_client, patient))
    item = plan.items[0]
    coach_client.post(
        f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}", data=_item_form(token, version, sets="4")
    )
    db.session.expire_all()
    assert item.sets == 4
    assert db.session.get(Program, program.id).items[0].sets == 2
    assert "plan.assign" in _actions("plan.")


def test_assigning_again_moves_the_old_plan_to_history(coach, patient, coach_client):
    old = make_plan(patient, items=[make_item(title="Old move")], title="First plan")
    program = make_program(owner=coach, items=[make_item(title="New move")], name="Second plan")
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    data = {
        "csrf_token": token,
        "assign-program_id": program.id,
        "assign-start_date": local_today(patient.tz).isoformat(),
        "assign-current_plan": f"{old.id}:{old.version}",
    }
    # The first submit asks, naming the patient and the plan that would go, and writes nothing.
    asked = coach_client.post(f"/coach/patients/{patient.id}/plans", data=data)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert f"Replace {patient.name}&#39;s current plan, First plan?" in html.replace("'", "&#39;")
    assert "The current plan goes to the history" in html
    assert 'name="assign-confirm_replace" type="hidden" value="yes"' in html
    db.session.expire_all()
    assert old.status == PlanStatus.ACTIVE and db.session.scalar(db.select(db.func.count(Plan.id))) == 1
    data["assign-confirm_replace"] = "yes"
    assert coach_client.post(f"/coach/patients/{patient.id}/plans", data=data).status_code == 302
    db.session.expire_all()
    assert old.status == PlanStatus.ENDED and old.end_date is not None and old.active_key is None
    actives = db.session.scalars(db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == "active")).all()
    assert [p.title for p in actives] == ["Second plan"]
    html = _page(coach_client, patient)
    history = html.split('id="plan-history"')[1]
    assert "First plan" in history and "Old move" in history
    # The same (now stale) confirmation again: refused, nothing written.
    response = coach_client.post(f"/coach/patients/{patient.id}/plans", data=data)
    assert response.status_code == 409
    assert "This plan changed since you opened it" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 2


def test_retired_items_are_not_copied_into_a_new_plan(coach, patient, coach_client):
    program = make_program(owner=coach, items=[make_item(title="Kept"), make_item(title="Gone", is_active=False)])
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    coach_client.post(
        f"/coach/patients/{patient.id}/plans",
        data={
            "csrf_token": token,
            "assign-program_id": program.id,
            "assign-start_date": local_today(patient.tz).isoformat(),
        },
    )
    plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == patient.id))
    assert [i.library_item.title for i in plan.items] == ["Kept"]


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"assign-program_id": ""}, "assign-program_id", "Choose a program"),
        ({"assign-program_id": "abc"}, "assign-program_id", "Not a valid choice"),
        ({"assign-start_date": "2026-02-31"}, "assign-start_date", "Not a valid date"),
        ({"assign-start_date": "1999-01-01"}, "assign-start_date", "within a year of today"),
        ({"assign-goals": "x" * 2001}, "assign-goals", "2000"),
    ],
)
def test_bad_assign_input_is_400_with_message_and_no_plan(coach, patient, coach_client, overrides, field, message):
    program = make_program(owner=coach, items=[make_item()])
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    data = {
        "csrf_token": token,
        "assign-program_id": program.id,
        "assign-start_date": local_today(patient.tz).isoformat(),
    }
    data.update(overrides)
    response = coach_client.post(f"/coach/patients/{patient.id}/plans", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 0


def test_cannot_assign_another_coaches_program_or_to_another_coaches_patient(coach, patient, make_user, coach_client):
    other = make_user(Role.COACH)
    theirs = make_program(owner=other, items=[make_item()])
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    today = local_today(patient.tz).isoformat()
    response = coach_client.post(
        f"/coach/patients/{patient.id}/plans",
        data={"csrf_token": token, "assign-program_id": theirs.id, "assign-start_date": today},
    )
    assert response.status_code == 400  # not among this coach's choices
    stranger = make_user(Role.PATIENT, coach=other)
    mine = make_program(owner=coach, items=[make_item()])
    response = coach_client.post(
        f"/coach/patients/{stranger.id}/plans",
        data={"csrf_token": token, "assign-program_id": mine.id, "assign-start_date": today},
    )
    assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 0


# --- editing ------------------------------------------------------------------------------


def test_coach_changes_an_items_dose_schedule_and_note(coach, patient, coach_client):
    plan = make_plan(patient, items=[make_item(title="Bridge")])
    item = plan.items[0]
    edit_url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}"
    html = coach_client.get(edit_url).get_data(as_text=True)
    token = csrf_token(coach_client, edit_url)
    response = coach_client.post(edit_url, data=_item_form(token, _version(html)))
    assert response.status_code == 302
    db.session.expire_all()
    assert (item.sets, item.reps, item.hold_seconds, item.times_per_day, item.weekdays, item.coach_note) == (
        3,
        12,
        10,
        2,
        "024",
        "Go slowly on the way down.",
    )
    assert plan.version == 2
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "plan.item_update"))
    assert event.patient_id == patient.id and '"sets": 2' in event.detail
    assert "3 sets of 12 reps · hold 10 s · twice a day · Mon, Wed, Fri" in _page(coach_client, patient)


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"sets": "500"}, "sets", "from 0 to 10"),
        ({"reps": "-1"}, "reps", "from 0 to 50"),
        ({"hold_seconds": "99999999999999999999"}, "hold_seconds", "from 0 to 300"),
        ({"times_per_day": "7"}, "times_per_day", "from 1 to 6"),
        ({"times_per_day": ""}, "times_per_day", "from 1 to 6"),
        ({"weekdays": []}, "weekdays", "at least one day"),
        ({"note": "bad\x00note"}, "note", "control characters"),
    ],
)
def test_bad_dose_is_400_beside_the_field_and_nothing_written(coach, patient, coach_client, overrides, field, message):
    plan = make_plan(patient, items=[make_item()])
    item = plan.items[0]
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}"
    token = csrf_token(coach_client, url)
    response = coach_client.post(url, data=_item_form(token, str(plan.version), **overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    db.session.expire_all()
    assert (item.sets, item.reps, plan.version) == (2, 10, 1)
    assert _actions("plan.") == []


def test_stale_edit_is_409_and_nothing_is_overwritten(coach, patient, make_user, login_as, coach_client):
    plan = make_plan(patient, items=[make_item(title="Bridge")])
    item = plan.items[0]
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}"
    # Two coaches open the same item (a second coach, e.g. covering, on the same roster).
    first_version = _version(coach_client.get(url).get_data(as_text=True))
    second = login_as(coach)
    second_version = _version(second.get(url).get_data(as_text=True))
    token1, token2 = csrf_token(coach_client, url), csrf_token(second, url)
    assert coach_client.post(url, data=_item_form(token1, first_version, sets="4")).status_code == 302
    response = second.post(url, data=_item_form(token2, second_version, sets="1"))
    assert response.status_code == 409
    assert "This plan changed since you opened it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert item.sets == 4 and plan.version == 2
    assert _actions("plan.item_update") == ["plan.item_update"]


@pytest.mark.parametrize("version", ["", "abc", "0"])
def test_missing_or_forged_version_is_409(coach, patient, coach_client, version):
    plan = make_plan(patient, items=[make_item()])
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{plan.items[0].id}"
    token = csrf_token(coach_client, url)
    assert coach_client.post(url, data=_item_form(token, version)).status_code == 409


def test_item_from_another_plan_is_404(coach, patient, make_user, coach_client):
    plan = make_plan(patient, items=[make_item()])
    other_patient = make_user(Role.PATIENT, coach=coach)
    other_plan = make_plan(other_patient, items=[make_item()])
    token = csrf_token(coach_client, "/coach/")
    foreign = other_plan.items[0]
    for suffix in ("", "/remove", "/move"):
        response = coach_client.post(
            f"/coach/patients/{patient.id}/plans/{plan.id}/items/{foreign.id}{suffix}",
            data=_item_form(token, str(plan.version), direction="up"),
        )
        assert response.status_code == 404, suffix
    # Another patient's plan under this patient's URL: 404 as well.
    response = coach_client.post(
        f"/coach/patients/{patient.id}/plans/{other_plan.id}/items/{foreign.id}", data=_item_form(token, "1")
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert foreign.sets == 2 and plan.version == 1


def test_edits_to_an_ended_plan_are_refused(coach, patient, coach_client):
    plan = make_plan(patient, items=[make_item()], status=PlanStatus.ENDED)
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{plan.items[0].id}"
    token = csrf_token(coach_client, "/coach/")
    assert coach_client.post(url, data=_item_form(token, str(plan.version))).status_code == 409
    assert coach_client.get(url).status_code == 404


def test_add_remove_and_reorder_items(coach, patient, coach_client):
    plan = make_plan(patient, items=[make_item(title="First"), make_item(title="Second")])
    added = make_item(title="Third", default_sets=None, default_reps=None, default_days_per_week=5)
    base = f"/coach/patients/{patient.id}/plans/{plan.id}"
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")

    def version():
        db.session.expire_all()
        return str(db.session.get(Plan, plan.id).version)

    assert (
        coach_client.post(
            f"{base}/items", data={"csrf_token": token, "version": version(), "items": added.id}
        ).status_code
        == 302
    )
    new_item = db.session.scalar(db.select(PlanItem).where(PlanItem.library_item_id == added.id))
    assert (new_item.sets, new_item.weekdays) == (None, "01234")
    assert (
        coach_client.post(
            f"{base}/items/{new_item.id}/move", data={"csrf_token": token, "version": version(), "direction": "up"}
        ).status_code
        == 302
    )
    first = plan.items[0]
    assert (
        coach_client.post(
            f"{base}/items/{first.id}/remove", data={"csrf_token": token, "version": version()}
        ).status_code
        == 302
    )
    db.session.expire_all()
    active = [i.library_item.title for i in sorted(plan.items, key=lambda i: i.position) if i.is_active]
    assert active == ["Third", "Second"]
    assert db.session.get(PlanItem, first.id) is not None  # kept (inactive) for its history
    assert {"plan.item_add", "plan.item_move", "plan.item_remove"} <= set(_actions("plan."))
    assert plan.version == 4
    html = _page(coach_client, patient)
    plan_section = html.split('id="plan-heading"')[1].split("</section>")[0]
    assert "Third" in plan_section and ">First<" not in plan_section
    response = coach_client.post(
        f"{base}/items/{new_item.id}/move", data={"csrf_token": token, "version": version(), "direction": "sideways"}
    )
    assert response.status_code == 400


def test_adding_a_retired_or_unknown_item_is_400(coach, patient, coach_client):
    plan = make_plan(patient, items=[])
    retired = make_item(is_active=False)
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    for value in (retired.id, 999999, "", "abc"):
        response = coach_client.post(
            f"/coach/patients/{patient.id}/plans/{plan.id}/items",
            data={"csrf_token": token, "version": "1", "items": value},
        )
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'id="items-error"' in html and "Not a valid choice" not in html
    assert db.session.scalar(db.select(db.func.count(PlanItem.id))) == 0


def test_edit_plan_details_and_end_plan(coach, patient, coach_client):
    plan = make_plan(patient, items=[make_item()])
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/details"
    token = csrf_token(coach_client, url)
    start = local_today(patient.tz) + timedelta(days=2)
    response = coach_client.post(
        url,
        data={"csrf_token": token, "version": "1", "title": "Renamed", "goals": "Run", "start_date": start.isoformat()},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (plan.title, plan.goals, plan.start_date, plan.version) == ("Renamed", "Run", start, 2)
    response = coach_client.post(
        url, data={"csrf_token": token, "version": "2", "title": "X", "start_date": "not-a-date"}
    )
    assert response.status_code == 400 and 'id="start_date-error"' in response.get_data(as_text=True)
    response = coach_client.post(
        f"/coach/patients/{patient.id}/plans/{plan.id}/end", data={"csrf_token": token, "version": "2"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert plan.status == PlanStatus.ENDED
    assert {"plan.update", "plan.end"} <= set(_actions("plan."))


def test_missing_csrf_is_400_and_writes_nothing(coach, patient, coach_client):
    plan = make_plan(patient, items=[make_item()])
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{plan.items[0].id}"
    data = _item_form("", "1")
    del data["csrf_token"]
    assert coach_client.post(url, data=data).status_code == 400
    db.session.expire_all()
    assert plan.items[0].sets == 2


def test_concurrent_save_is_refused_by_the_version_column(coach, patient, app):
    """Even between the version check and the commit, the row's version decides (StaleDataError)."""
    from sqlalchemy.orm.exc import StaleDataError

    from portal.care import plans as service
    from portal.care.dosing import Dose

    plan = make_plan(patient, items=[make_item()])
    loaded = service.plan_for_edit(patient, plan.id, 1)
    # Someone else commits a change meanwhile (a raw UPDATE bumps the version).
    with db.engine.begin() as conn:
        conn.execute(db.update(Plan).where(Plan.id == plan.id).values(version=2))
    with pytest.raises(StaleDataError):
        service.update_item(loaded, loaded.items[0], Dose(5, 5, None, 1, "0"), coach)
        db.session.commit()
    db.session.rollback()


def test_demo_seeding_gives_every_demo_patient_but_the_new_one_an_active_plan_and_is_idempotent():
    from portal.demo import PATIENTS, demo_patients, seed_accounts, seed_library, seed_plans, seed_programs
    from portal.demo.onboarding import NEW_PATIENT_EMAIL

    def counts():
        return tuple(db.session.scalar(db.select(db.func.count(m.id))) for m in (Plan, PlanItem, Program))

    for step in (seed_accounts, seed_library, seed_programs, seed_plans):
        step()
    first = counts()
    for step in (seed_accounts, seed_library, seed_programs, seed_plans):
        step()
    assert counts() == first
    patients = demo_patients()
    assert len(patients) == len(PATIENTS)
    for person in patients:
        active = db.session.scalars(
            db.select(Plan).where(Plan.patient_id == person.id, Plan.status == PlanStatus.ACTIVE)
        ).all()
        if person.email == NEW_PATIENT_EMAIL:
            # Tyrone Jackson starts from nothing: his coach assigns a plan after his intake.
            assert active == []
            continue
        assert len(active) == 1 and active[0].items and active[0].start_date < local_today(person.tz)
    assert db.session.scalar(db.select(db.func.count(Plan.id)).where(Plan.status == PlanStatus.ENDED)) >= 1


def test_replacing_a_plan_confirmed_against_a_changed_plan_is_refused(coach, patient, coach_client):
    """The confirmation carries the version the coach saw: an edit in between makes it stale."""
    old = make_plan(patient, items=[make_item()], title="First two weeks after a spasm flare")
    program = make_program(owner=coach, items=[make_item()], name="Next step")
    token = csrf_token(coach_client, f"/coach/patients/{patient.id}")
    data = {
        "csrf_token": token,
        "assign-program_id": program.id,
        "assign-start_date": local_today(patient.tz).isoformat(),
        "assign-current_plan": f"{old.id}:{old.version}",
    }
    assert coach_client.post(f"/coach/patients/{patient.id}/plans", data=data).status_code == 200
    old.title = "Edited meanwhile"
    db.session.commit()
    response = coach_client.post(f"/coach/patients/{patient.id}/plans", data={**data, "assign-confirm_replace": "yes"})
    assert response.status_code == 409
    assert db.session.scalar(db.select(db.func.count(Plan.id))) == 1


def test_each_items_controls_point_at_its_own_routes(coach, patient, coach_client, app):
    """The page builds the items' links and form actions from one prefix: each must still be url_for's."""
    from flask import url_for

    plan = make_plan(patient, items=[make_item(title="First"), make_item(title="Second"), make_item(title="Third")])
    items = sorted(plan.items, key=lambda i: i.position)
    html = _page(coach_client, patient)
    token, version = csrf_token(coach_client, f"/coach/patients/{patient.id}"), _version(html)
    paused = coach_client.post(
        f"/coach/patients/{patient.id}/plans/{plan.id}/items/{items[1].id}/pause",
        data={"csrf_token": token, "version": version, "reason": "Knee first"},
    )
    assert paused.status_code in (302, 303)
    html = _page(coach_client, patient)
    with app.test_request_context():
        for index, item in enumerate(items):
            ids = {"patient_id": patient.id, "plan_id": plan.id, "item_id": item.id}
            li = html.split(f'id="plan-item-{item.id}"', 1)[1].split("</li>", 1)[0]
            hrefs = re.findall(r'href="([^"]+)"', li)
            actions = re.findall(r'action="([^"]+)"', li)
            assert hrefs == [
                url_for("exercises.detail", item_id=item.library_item.id),
                url_for("coaching.edit_plan_item", **ids),
            ]
            expected = [url_for("coaching.move_plan_item", **ids)] * ((index > 0) + (index < len(items) - 1))
            expected.append(url_for("coaching.resume_plan_item" if index == 1 else "coaching.pause_plan_item", **ids))
            expected.append(url_for("coaching.remove_plan_item", **ids))
            assert actions == expected

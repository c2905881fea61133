"""The library: validated idempotent import, the CLI, browse/search, detail, coach edits and retiring."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.exercises.library import STARTER_LIBRARY, import_library, read_json_file, validate_library
from portal.exercises.models import LibraryItem
from portal.extensions import db
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan


def _entry(**overrides):
    entry = {
        "slug": "cat-cow",
        "kind": "exercise",
        "title": "Cat and cow",
        "summary": "Gentle spine rocking on hands and knees.",
        "instructions": ["Kneel on all fours.", "Round your back, then let it sag gently."],
        "cautions": "Stop if pain spreads down a leg.",
        "body_area": "lower_back",
        "level": "gentle",
        "category": "mobility",
        "default_sets": 1,
        "default_reps": 10,
        "default_hold_seconds": None,
        "default_times_per_day": 2,
        "default_days_per_week": 7,
        "media_url": None,
    }
    entry.update(overrides)
    return entry


def _count() -> int:
    return db.session.scalar(db.select(db.func.count(LibraryItem.id)))


# --- starter content and import ---------------------------------------------------------


def test_starter_library_is_valid_and_big_enough():
    clean, problems = validate_library(read_json_file(STARTER_LIBRARY))
    assert problems == []
    kinds = Counter(row["kind"] for row in clean)
    assert kinds["exercise"] >= 30 and kinds["posture"] >= 12 and kinds["diet"] >= 15


def test_import_is_idempotent_and_updates_by_slug():
    data = {"version": 1, "items": [_entry(), _entry(slug="chin-tucks", title="Chin tucks", body_area="neck")]}
    first = import_library(data)
    db.session.commit()
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    again = import_library(data)
    db.session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    changed = copy.deepcopy(data)
    changed["items"][0]["default_reps"] = 12
    third = import_library(changed)
    db.session.commit()
    assert (third.created, third.updated, third.unchanged) == (0, 1, 1)
    assert _count() == 2
    assert db.session.scalar(db.select(LibraryItem).where(LibraryItem.slug == "cat-cow")).default_reps == 12


def test_bad_entries_are_all_reported_with_title_and_field_and_nothing_is_written():
    data = {
        "version": 1,
        "items": [
            _entry(),  # fine, but must not be written either
            _entry(slug="too-many", title="Too many sets", default_sets=500),
            _entry(slug="bad-kind", title="Odd kind", kind="yoga", body_area="elbow"),
            _entry(slug="cat-cow", title="Duplicate slug"),
            _entry(slug="no-steps", title="No steps", instructions=[]),
            _entry(slug="js-link", title="Script link", media_url="javascript:alert(1)"),
        ],
    }
    result = import_library(data)
    assert not result.ok
    found = {(p.title, p.field) for p in result.problems}
    assert ("Too many sets", "default_sets") in found
    assert ("Odd kind", "kind") in found and ("Odd kind", "body_area") in found
    assert ("Duplicate slug", "slug") in found
    assert ("No steps", "instructions") in found
    assert ("Script link", "media_url") in found
    assert "Entry 2 “Too many sets”, field default_sets" in str(result.problems[0])
    db.session.rollback()
    assert _count() == 0


@pytest.mark.parametrize("data", [[], {"items": "nope", "version": 1}, {"version": 2, "items": []}])
def test_import_refuses_a_malformed_file(data):
    result = import_library(data)
    assert not result.ok and result.problems


def test_cli_imports_a_file_and_reports_counts(app, tmp_path):
    path = tmp_path / "lib.json"
    path.write_text(json.dumps({"version": 1, "items": [_entry()]}))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["library", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 added, 0 updated, 0 unchanged" in result.output
    result = runner.invoke(args=["library", "import", str(path)])
    assert "0 added, 0 updated, 1 unchanged" in result.output
    assert _count() == 1


def test_cli_writes_nothing_and_lists_every_problem(app, tmp_path):
    path = tmp_path / "lib.json"
    path.write_text(
        json.dumps({"version": 1, "items": [_entry(), _entry(slug="x", title="Bad reps", default_reps=-3)]})
    )
    result = app.test_cli_runner().invoke(args=["library", "import", str(path)])
    assert result.exit_code != 0
    assert "“Bad reps”, field default_reps" in result.output
    assert "nothing was imported" in result.output
    assert _count() == 0


def test_cli_reports_invalid_json(app, tmp_path):
    path = tmp_path / "lib.json"
    path.write_text("{not json")
    result = app.test_cli_runner().invoke(args=["library", "import", str(path)])
    assert result.exit_code != 0 and "not valid JSON" in result.output


# --- pages ------------------------------------------------------------------------------


def test_patient_browses_searches_and_filters(patient_client):
    make_item(title="Cat and cow stretch", body_area="lower_back")
    make_item(kind="posture", title="Desk height check", body_area="neck")
    make_item(kind="diet", title="Water with every meal", body_area="whole_body")
    make_item(title="Old retired move", is_active=False)
    html = patient_client.get("/library/").get_data(as_text=True)
    assert "Cat and cow stretch" in html and "Desk height check" in html and "Water with every meal" in html
    assert "Old retired move" not in html
    html = patient_client.get("/library/?q=desk").get_data(as_text=True)
    assert "Desk height check" in html and "Cat and cow" not in html
    html = patient_client.get("/library/?kind=diet").get_data(as_text=True)
    assert "Water with every meal" in html and "Desk height check" not in html
    html = patient_client.get("/library/?area=neck").get_data(as_text=True)
    assert "Desk height check" in html and "Water with" not in html
    # A patient cannot ask for retired items.
    assert "Old retired move" not in patient_client.get("/library/?retired=yes").get_data(as_text=True)


def test_browse_search_treats_wildcards_literally(patient_client):
    make_item(title="Plain title")
    assert "Plain title" not in patient_client.get("/library/?q=%25").get_data(as_text=True)


def test_bad_filter_is_400(patient_client):
    assert patient_client.get("/library/?kind=yoga").status_code == 400


def test_detail_shows_steps_and_cautions(patient_client):
    item = make_item(
        title="Pelvic tilt", instructions="Lie on your back.\nFlatten your back.", cautions="Stop if numb."
    )
    html = patient_client.get(f"/library/{item.id}").get_data(as_text=True)
    assert "<h1>Pelvic tilt</h1>" in html
    assert "<li>Lie on your back.</li>" in html and "Stop if numb." in html
    assert "not a substitute for medical advice" in html


def test_retired_item_is_404_for_patients_unless_on_their_plan(patient, patient_client, coach_client):
    item = make_item(title="Retired thing", is_active=False)
    assert patient_client.get(f"/library/{item.id}").status_code == 404
    assert coach_client.get(f"/library/{item.id}").status_code == 200
    make_plan(patient, items=[item])
    assert patient_client.get(f"/library/{item.id}").status_code == 200
    assert patient_client.get("/library/999999").status_code == 404


def test_browse_statement_count_does_not_grow(patient_client, queries):
    for _ in range(3):
        make_item()
    patient_client.get("/me/")  # the first page after sign-in also checks consent, once per session
    with queries() as few:
        patient_client.get("/library/")
    for _ in range(20):
        make_item()
    with queries() as many:
        patient_client.get("/library/")
    assert len(many) == len(few)


# --- coach edits ----------------------------------------------------------------------------


def _item_form(**overrides):
    data = {
        "kind": "exercise",
        "title": "Wall angels",
        "summary": "Slide your arms up a wall.",
        "instructions": "Stand with your back to a wall.\n\nSlide your arms up slowly.",
        "cautions": "Stop if your arms tingle.",
        "body_area": "upper_back",
        "default_sets": "2",
        "default_reps": "8",
        "default_hold_seconds": "",
        "default_times_per_day": "1",
        "default_days_per_week": "5",
        "media_url": "",
    }
    data.update(overrides)
    return data


def test_coach_creates_an_item(coach, coach_client):
    token = csrf_token(coach_client, "/library/new")
    response = coach_client.post("/library/new", data=_item_form(csrf_token=token))
    assert response.status_code == 302
    item = db.session.scalar(db.select(LibraryItem).where(LibraryItem.title == "Wall angels"))
    assert item.slug == "wall-angels" and item.created_by_id == coach.id
    assert item.steps == ["Stand with your back to a wall.", "Slide your arms up slowly."]
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "library.create")) is not None


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("default_sets", "500", "from 0 to 10"),
        ("default_reps", "-1", "from 0 to 50"),
        ("default_times_per_day", "", "from 1 to 6"),
        ("default_hold_seconds", "abc", "Not a valid integer"),
        ("media_url", "javascript:alert(1)", "starting with https://"),
        ("kind", "yoga", "Not a valid choice"),
        ("title", "", "This field is required"),
    ],
)
def test_bad_item_input_is_400_with_message_and_nothing_written(coach_client, field, value, message):
    token = csrf_token(coach_client, "/library/new")
    response = coach_client.post("/library/new", data=_item_form(csrf_token=token, **{field: value}))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert _count() == 0


def test_coach_edits_and_retires_then_restores_an_item(patient, coach, coach_client):
    item = make_item(title="Bridge", created_by_id=coach.id)  # their own item
    make_plan(patient, items=[item])
    token = csrf_token(coach_client, f"/library/{item.id}/edit")
    form = _item_form(csrf_token=token, title="Glute bridge")
    assert coach_client.post(f"/library/{item.id}/edit", data=form).status_code == 302
    assert db.session.get(LibraryItem, item.id).title == "Glute bridge"
    token = csrf_token(coach_client, f"/library/{item.id}")
    assert coach_client.post(f"/library/{item.id}/retire", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(LibraryItem, item.id).is_active is False  # retired, never deleted
    assert coach_client.post(f"/library/{item.id}/restore", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(LibraryItem, item.id).is_active is True
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"library.update", "library.retire", "library.restore"} <= actions


def test_retire_without_csrf_is_400(coach_client):
    item = make_item()
    assert coach_client.post(f"/library/{item.id}/retire").status_code == 400
    assert db.session.get(LibraryItem, item.id).is_active is True


def test_patient_cannot_create_edit_or_retire(patient_client):
    item = make_item()
    assert patient_client.get("/library/new").status_code == 403
    assert patient_client.get(f"/library/{item.id}/edit").status_code == 403
    token = csrf_token(patient_client, "/library/")
    assert patient_client.post(f"/library/{item.id}/retire", data={"csrf_token": token}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/library/").status_code == 302


def test_admin_may_read_the_library(make_user, login_as):
    admin_client = login_as(make_user(Role.ADMIN))
    assert admin_client.get("/library/").status_code == 200


def test_slug_taken_meanwhile_is_retried_not_a_500(coach_client, monkeypatch):
    """Two coaches saving the same title at once: the second gets the next free slug."""
    from portal.exercises import library

    make_item(title="Wall angels", slug="wall-angels")
    real = library.unique_slug
    calls = []

    def racy(title, except_id=None):
        calls.append(title)
        return "wall-angels" if len(calls) == 1 else real(title, except_id)

    monkeypatch.setattr(library, "unique_slug", racy)
    token = csrf_token(coach_client, "/library/new")
    response = coach_client.post("/library/new", data=_item_form(csrf_token=token))
    assert response.status_code == 302
    assert sorted(db.session.scalars(db.select(LibraryItem.slug))) == ["wall-angels", "wall-angels-2"]


def test_file_level_problem_wording():
    problem = import_library({"version": 1}).problems[0]
    assert str(problem).startswith("File, field items:")


def test_patient_sees_their_own_dose_and_note_on_an_item_of_their_plan(patient, patient_client):
    item = make_item(title="Bridge", default_sets=1, default_reps=5)
    make_plan(patient, items=[item], note="Squeeze your glutes.")
    html = patient_client.get(f"/library/{item.id}").get_data(as_text=True)
    assert "On your plan:" in html and "2 sets of 10 reps · hold 5 s · twice a day" in html
    assert "Squeeze your glutes." in html
    other = make_item(title="Other", default_sets=1, default_reps=5)
    html = patient_client.get(f"/library/{other.id}").get_data(as_text=True)
    assert "On your plan:" not in html and "Usual dose:</strong> 1 set of 5 reps" in html

"""Programs: starter programs, visibility, duplicate, edit only your own, dosage bounds."""

from __future__ import annotations

import copy

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import Program, ProgramItem
from portal.coaching.programs import STARTER_PROGRAMS, import_programs, load_starter_programs
from portal.exercises.library import load_starter_library, read_json_file
from portal.extensions import db
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_program


def _program_count() -> int:
    return db.session.scalar(db.select(db.func.count(Program.id)))


def test_starter_programs_load_and_reload_idempotently():
    load_starter_library()
    first = load_starter_programs()
    db.session.commit()
    assert first.ok and first.created >= 4
    items_before = db.session.scalar(db.select(db.func.count(ProgramItem.id)))
    again = load_starter_programs()
    db.session.commit()
    assert (again.created, again.updated) == (0, 0) and again.unchanged == first.created
    assert db.session.scalar(db.select(db.func.count(ProgramItem.id))) == items_before


def test_program_import_reports_unknown_items_and_bad_doses_and_writes_nothing():
    make_item(slug="pelvic-tilts")
    data = {
        "version": 1,
        "programs": [
            {
                "slug": "ok",
                "name": "Fine",
                "description": "",
                "items": [
                    {
                        "item": "pelvic-tilts",
                        "sets": 1,
                        "reps": 10,
                        "hold_seconds": None,
                        "times_per_day": 1,
                        "weekdays": [0, 2, 4],
                        "note": "",
                    }
                ],
            },
            {
                "slug": "bad",
                "name": "Broken",
                "description": "",
                "items": [
                    {
                        "item": "no-such-item",
                        "sets": 1,
                        "reps": 1,
                        "hold_seconds": None,
                        "times_per_day": 1,
                        "weekdays": [0],
                        "note": "",
                    },
                    {
                        "item": "pelvic-tilts",
                        "sets": 99,
                        "reps": 1,
                        "hold_seconds": None,
                        "times_per_day": 9,
                        "weekdays": [],
                        "note": "",
                    },
                ],
            },
        ],
    }
    result = import_programs(copy.deepcopy(data))
    fields = {(p.title, p.field) for p in result.problems}
    assert ("Broken", "items[1].item") in fields
    assert ("Broken", "items[2].weekdays") in fields
    db.session.rollback()
    assert _program_count() == 0
    data["programs"][1]["items"] = [dict(data["programs"][1]["items"][1], weekdays=[1])]
    fields = {(p.title, p.field) for p in import_programs(data).problems}
    assert {("Broken", "items[1].sets"), ("Broken", "items[1].times_per_day")} <= fields


def test_starter_file_matches_the_format():
    data = read_json_file(STARTER_PROGRAMS)
    assert data["version"] == 1 and len(data["programs"]) >= 4


def test_list_shows_own_and_starter_but_not_other_coaches_programs(coach, make_user, coach_client):
    other = make_user(Role.COACH)
    make_program(owner=coach, name="Mine")
    make_program(slug="starter-x", name="Shared starter")
    theirs = make_program(owner=other, name="Someone else's")
    html = coach_client.get("/coach/programs").get_data(as_text=True)
    assert "Mine" in html and "Shared starter" in html and "Someone else" not in html
    assert coach_client.get(f"/coach/programs/{theirs.id}").status_code == 404


def test_programs_list_statement_count_does_not_grow(coach, coach_client, queries):
    item = make_item()
    make_program(owner=coach, items=[item])
    with queries() as few:
        coach_client.get("/coach/programs")
    for _ in range(10):
        make_program(owner=coach, items=[item, item])
    with queries() as many:
        html = coach_client.get("/coach/programs").get_data(as_text=True)
    assert len(many) == len(few)
    assert "2 items" in html


def test_starter_program_is_read_only_but_can_be_duplicated(coach, coach_client):
    a, b = make_item(title="A move"), make_item(title="B move")
    starter = make_program(slug="starter", name="Starter", items=[a, b])
    assert coach_client.get(f"/coach/programs/{starter.id}/edit").status_code == 403
    token = csrf_token(coach_client, f"/coach/programs/{starter.id}")
    item_id = starter.items[0].id
    response = coach_client.post(
        f"/coach/programs/{starter.id}/items/{item_id}",
        data={"csrf_token": token, "sets": "3", "times_per_day": "1", "weekdays": ["0"]},
    )
    assert response.status_code == 403
    response = coach_client.post(f"/coach/programs/{starter.id}/duplicate", data={"csrf_token": token})
    assert response.status_code == 302
    copy_ = db.session.scalar(db.select(Program).where(Program.owner_id == coach.id))
    assert copy_.name == "Copy of Starter" and copy_.slug is None
    assert [i.library_item.title for i in copy_.items] == ["A move", "B move"]
    assert coach_client.get(f"/coach/programs/{copy_.id}/edit").status_code == 200


def test_coach_creates_program_and_manages_items(coach, coach_client):
    a, b = make_item(title="A move", default_sets=1, default_reps=5, default_days_per_week=3), make_item(title="B move")
    token = csrf_token(coach_client, "/coach/programs/new")
    response = coach_client.post(
        "/coach/programs/new", data={"csrf_token": token, "name": "Morning reset", "description": "Short."}
    )
    assert response.status_code == 302
    program = db.session.scalar(db.select(Program).where(Program.name == "Morning reset"))
    for item in (a, b):
        assert (
            coach_client.post(
                f"/coach/programs/{program.id}/items", data={"csrf_token": token, "items": item.id}
            ).status_code
            == 302
        )
    db.session.expire_all()
    first, second = program.items
    assert (first.sets, first.reps, first.weekdays) == (1, 5, "024")  # the library defaults
    response = coach_client.post(
        f"/coach/programs/{program.id}/items/{first.id}",
        data={
            "csrf_token": token,
            "sets": "3",
            "reps": "12",
            "hold_seconds": "",
            "times_per_day": "2",
            "weekdays": ["0", "3"],
            "note": "Slowly.",
        },
    )
    assert response.status_code == 302
    assert (
        coach_client.post(
            f"/coach/programs/{program.id}/items/{second.id}/move", data={"csrf_token": token, "direction": "up"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert [i.library_item.title for i in program.items] == ["B move", "A move"]
    moved = program.items[1]
    assert (moved.sets, moved.reps, moved.times_per_day, moved.weekdays, moved.note) == (3, 12, 2, "03", "Slowly.")
    assert (
        coach_client.post(
            f"/coach/programs/{program.id}/items/{moved.id}/remove", data={"csrf_token": token}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert [i.library_item.title for i in program.items] == ["B move"]
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action.like("program.%"))) >= 5


@pytest.mark.parametrize(
    "data,field,message",
    [
        ({"sets": "500"}, "sets", "from 0 to 10"),
        ({"reps": "-5"}, "reps", "from 0 to 50"),
        ({"hold_seconds": "301"}, "hold_seconds", "from 0 to 300"),
        ({"times_per_day": "0"}, "times_per_day", "from 1 to 6"),
        ({"weekdays": []}, "weekdays", "at least one day"),
        ({"weekdays": ["9"]}, "weekdays", "not a valid choice"),
    ],
)
def test_bad_program_dose_is_400_beside_the_field_and_nothing_written(coach, coach_client, data, field, message):
    program = make_program(owner=coach, items=[make_item()])
    item = program.items[0]
    token = csrf_token(coach_client, f"/coach/programs/{program.id}")
    form = {"csrf_token": token, "sets": "1", "reps": "1", "hold_seconds": "", "times_per_day": "1", "weekdays": ["0"]}
    form.update(data)
    response = coach_client.post(f"/coach/programs/{program.id}/items/{item.id}", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and ('id="weekdays-error"' if field == "weekdays" else f'id="{field}-error"') in html
    db.session.expire_all()
    assert (item.sets, item.reps) == (2, 10)


def test_retired_item_cannot_be_added(coach, coach_client):
    program = make_program(owner=coach)
    retired = make_item(is_active=False)
    token = csrf_token(coach_client, f"/coach/programs/{program.id}")
    response = coach_client.post(f"/coach/programs/{program.id}/items", data={"csrf_token": token, "items": retired.id})
    assert response.status_code == 400
    assert "not in the library any more" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ProgramItem.id))) == 0


def test_item_of_another_program_is_404(coach, coach_client):
    mine = make_program(owner=coach, items=[make_item()])
    other = make_program(owner=coach, items=[make_item()])
    assert coach_client.get(f"/coach/programs/{mine.id}/items/{other.items[0].id}").status_code == 404


def test_patient_cannot_reach_programs(patient_client):
    assert patient_client.get("/coach/programs").status_code == 403


def test_coach_removes_own_program_but_not_a_starter(coach, coach_client):
    mine = make_program(owner=coach, name="Old routine", items=[make_item()])
    starter = make_program(slug="starter-y", name="Starter Y")
    token = csrf_token(coach_client, "/coach/programs")
    assert coach_client.post(f"/coach/programs/{starter.id}/archive", data={"csrf_token": token}).status_code == 403
    assert coach_client.post(f"/coach/programs/{mine.id}/archive", data={"csrf_token": token}).status_code == 302
    coach_client.get("/coach/programs")  # shows (and so clears) the confirmation message
    assert "Old routine" not in coach_client.get("/coach/programs").get_data(as_text=True)
    assert coach_client.get(f"/coach/programs/{mine.id}").status_code == 404
    assert db.session.get(Program, mine.id) is not None  # kept: plans made from it point to it
    assert "program.archive" in set(db.session.scalars(db.select(AuditEvent.action)))


def test_program_changes_are_audited_by_name(coach, db):
    from portal.care.dosing import Dose
    from portal.coaching import programs as program_service

    program = make_program(coach, [make_item(title="Pelvic tilt"), make_item(title="Bird dog")], name="Spasm relief")
    tilt, bird = program.items
    chin = make_item(title="Chin tuck")
    [added], _skipped = program_service.add_program_items(program, [chin], coach)
    program_service.update_program_item(program, tilt, Dose(3, 10, None, 1, "024"), coach)
    program_service.move_program_item(program, bird, "up", coach)
    program_service.remove_program_item(program, bird, coach)
    copy_ = program_service.duplicate_program(program, coach)
    db.session.commit()
    events = [
        (e.action, e.target_id, e.detail_dict)
        for e in db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action.like("program.%")).order_by(AuditEvent.id)
        )
    ]
    named = {"name": "Spasm relief"}
    assert events == [
        (
            "program.item_add",
            program.id,
            {**named, "library_item": "Chin tuck", "library_item_id": chin.id, "item_id": added.id},
        ),
        (
            "program.item_update",
            program.id,
            {
                **named,
                "library_item": "Pelvic tilt",
                "library_item_id": tilt.library_item_id,
                "item_id": tilt.id,
                "fields": ["sets", "weekdays"],
            },
        ),
        (
            "program.item_move",
            program.id,
            {
                **named,
                "library_item": "Bird dog",
                "library_item_id": bird.library_item_id,
                "item_id": bird.id,
                "direction": "up",
            },
        ),
        (
            "program.item_remove",
            program.id,
            {**named, "library_item": "Bird dog", "library_item_id": bird.library_item_id, "item_id": bird.id},
        ),
        ("program.duplicate", copy_.id, {"name": copy_.name, "source": "Spasm relief", "source_id": program.id}),
    ]

"""The library picker: programs and plans find items by words, kind and body area, add several at
once with their usual doses, and confirm beside the items list."""

from __future__ import annotations

import re

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.models import Plan, PlanItem, ProgramItem
from portal.exercises.models import LibraryItemTranslation
from portal.extensions import db
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan, make_program


@pytest.fixture
def library():
    """A small library: two stretches for different areas, a posture habit, a nutrition tip, a retired item."""
    return {
        "cat": make_item(title="Cat and cow", summary="Round and arch the back.", body_area="lower_back"),
        "chin": make_item(title="Chin tuck", summary="Draw the chin back.", body_area="neck"),
        "desk": make_item(kind="posture", title="Desk setup", summary="Screen at eye level.", body_area="upper_back"),
        "water": make_item(kind="diet", title="Water through the day", summary="Sip often.", body_area="whole_body"),
        "retired": make_item(title="Old cat stretch", is_active=False),
    }


class Target:
    """A program or a plan: the picker's URL, the add URL, the form fields and the stored items."""

    def __init__(self, kind: str, coach, patient):
        self.kind = kind
        if kind == "program":
            self.program = make_program(owner=coach, items=[])
            self.picker = f"/coach/programs/{self.program.id}/items/add"
            self.add = f"/coach/programs/{self.program.id}/items"
            self.page = f"/coach/programs/{self.program.id}"
            self.anchor = "#program-items"
        else:
            self.plan = make_plan(patient, items=[])
            self.picker = f"/coach/patients/{patient.id}/plans/{self.plan.id}/items/add"
            self.add = f"/coach/patients/{patient.id}/plans/{self.plan.id}/items"
            self.page = f"/coach/patients/{patient.id}"
            self.anchor = "#plan-items"

    def fields(self, client, **extra) -> dict:
        html = client.get(self.picker).get_data(as_text=True)
        data = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)}
        version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', html)
        if version:
            data["version"] = version.group(1)
        data.update(extra)
        return data

    def titles(self) -> list[str]:
        db.session.expire_all()
        if self.kind == "program":
            rows = db.session.scalars(
                db.select(ProgramItem).where(ProgramItem.program_id == self.program.id).order_by(ProgramItem.position)
            )
        else:
            rows = db.session.scalars(
                db.select(PlanItem)
                .where(PlanItem.plan_id == self.plan.id, PlanItem.is_active.is_(True))
                .order_by(PlanItem.position)
            )
        return [row.library_item.title for row in rows]

    def rows(self) -> list:
        db.session.expire_all()
        model = ProgramItem if self.kind == "program" else PlanItem
        return list(db.session.scalars(db.select(model).order_by(model.position)))


@pytest.fixture(params=["program", "plan"])
def target(request, coach, patient, library):
    return Target(request.param, coach, patient)


def _visible(html: str) -> set[str]:
    """Titles of the picker rows shown (rows the search leaves out carry ``hidden``)."""
    shown = set()
    for row in re.findall(r"<li class=\"item-picker-row\"[^>]*>.*?</li>", html, re.S):
        if not re.match(r"<li [^>]*\bhidden\b", row):
            shown.add(re.search(r'<span class="d-block fw-semibold">([^<]+)</span>', row).group(1))
    return shown


# --- finding items ----------------------------------------------------------------------------


def test_the_picker_lists_every_active_item_with_the_patients_words(target, coach_client):
    response = coach_client.get(target.picker)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _visible(html) == {"Cat and cow", "Chin tuck", "Desk setup", "Water through the day"}
    assert "Old cat stretch" not in html
    # The kind filter and the rows use the words the patient reads.
    for value, words in (
        ("exercise", "Stretches &(amp;)? exercises"),
        ("posture", "Posture habits"),
        ("diet", "Nutrition"),
    ):
        assert re.search(f'<option value="{value}">{words}</option>', html)
        assert re.search(f"{words} · ", html)
    assert "Movement:" not in html
    assert "4 items shown" in html
    assert '<script src="/static/js/picker.js' in html


def test_search_words_kind_and_body_area_narrow_the_list(target, coach_client):
    def shown(query: str) -> set[str]:
        response = coach_client.get(f"{target.picker}?{query}")
        assert response.status_code == 200
        return _visible(response.get_data(as_text=True))

    assert shown("q=cat") == {"Cat and cow"}
    assert shown("q=CHIN") == {"Chin tuck"}
    assert shown("q=eye+level") == {"Desk setup"}  # the summary counts too
    assert shown("kind=posture") == {"Desk setup"}
    assert shown("kind=diet") == {"Water through the day"}
    assert shown("area=neck") == {"Chin tuck"}
    assert shown("kind=exercise&area=lower_back") == {"Cat and cow"}
    assert shown("q=50%25") == set()  # % is a literal character, not a wildcard
    html = coach_client.get(f"{target.picker}?q=zzz").get_data(as_text=True)
    assert "0 items shown" in html and "No items match" in html
    # The search stays in the form (and in the add URL), so a reload or a refused add keeps it.
    html = coach_client.get(f"{target.picker}?q=cat&kind=exercise").get_data(as_text=True)
    assert 'value="cat"' in html and '<option selected value="exercise">' in html
    assert f'action="{target.add}?q=cat&amp;kind=exercise"' in html


def test_the_picker_costs_the_same_statements_for_a_small_or_large_library(target, coach_client, queries):
    with queries() as few:
        coach_client.get(f"{target.picker}?q=cat")
    for n in range(30):
        make_item(kind=("exercise", "posture", "diet")[n % 3], title=f"Extra {n}")
    with queries() as many:
        html = coach_client.get(f"{target.picker}?q=cat").get_data(as_text=True)
    assert len(many) == len(few)
    assert "34 items" not in html and 'value="cat"' in html


def test_an_unknown_kind_or_area_is_400(target, coach_client):
    assert coach_client.get(f"{target.picker}?kind=surgery").status_code == 400
    assert coach_client.get(f"{target.picker}?area=elbow").status_code == 400


def test_spanish_reading_coach_finds_items_by_their_spanish_title(coach, target, coach_client, library):
    db.session.add(
        LibraryItemTranslation(
            library_item_id=library["cat"].id,
            locale="es",
            title="Gato y vaca",
            summary="Redondee y arquee la espalda.",
            instructions="Paso uno.",
        )
    )
    coach.language = "es"
    db.session.commit()
    html = coach_client.get(f"{target.picker}?q=gato").get_data(as_text=True)
    assert _visible(html) == {"Gato y vaca"}
    assert 'data-text="gato y vaca' in html  # the browser filter matches the same words
    assert _visible(coach_client.get(f"{target.picker}?q=cow").get_data(as_text=True)) == {"Gato y vaca"}


# --- adding -----------------------------------------------------------------------------------


def test_several_items_are_added_in_order_with_their_usual_doses(target, coach_client, library):
    library["chin"].default_sets, library["chin"].default_days_per_week = 3, 3
    db.session.commit()
    data = target.fields(coach_client, items=[library["water"].id, library["chin"].id, library["cat"].id])
    response = coach_client.post(target.add, data=data)
    assert response.status_code == 302
    assert response.location.endswith(target.anchor)
    assert target.titles() == ["Water through the day", "Chin tuck", "Cat and cow"]
    chin = next(row for row in target.rows() if row.library_item_id == library["chin"].id)
    assert (chin.sets, chin.reps, chin.weekdays) == (3, 10, "024")
    action = f"{target.kind}.item_add"
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == action)) == 3
    if target.kind == "plan":
        assert db.session.get(Plan, target.plan.id).version == 2  # one change, one version


def test_the_confirmation_is_shown_beside_the_items_list(target, coach_client, library):
    data = target.fields(coach_client, items=[library["cat"].id, library["desk"].id])
    coach_client.post(target.add, data=data)
    html = coach_client.get(target.page).get_data(as_text=True)
    message = "2 items added with their usual doses: “Cat and cow”, “Desk setup”. Adjust them below if needed."
    assert html.count(message) == 1
    items_heading = html.index(f'id="{target.anchor[1:]}"')
    status = html.index(f'id="{target.anchor[1:]}-status"')
    assert items_heading < status < html.index(message)
    region = html[status : html.index("</div>", html.index(message))]
    assert 'role="status"' in region and "data-list-flash" in region
    top = html.split('<main id="main"')[1].split("<h1")[0]
    assert message not in top  # not only at the top of the page, where the coach is not looking
    # Shown once: the next page has no confirmation left.
    assert message not in coach_client.get(target.page).get_data(as_text=True)


def test_items_already_there_are_skipped_and_named(target, coach_client, library):
    coach_client.post(target.add, data=target.fields(coach_client, items=[library["cat"].id]))
    coach_client.get(target.page)  # take the first confirmation
    picker = coach_client.get(target.picker).get_data(as_text=True)
    row = re.search(rf'<li[^>]*>\s*<input[^>]*value="{library["cat"].id}"[^>]*>.*?</li>', picker, re.S).group(0)
    assert " disabled" in row and f"Already in this {target.kind}" in row
    data = target.fields(coach_client, items=[library["cat"].id, library["chin"].id, library["chin"].id])
    response = coach_client.post(target.add, data=data)
    assert response.status_code == 302
    assert target.titles() == ["Cat and cow", "Chin tuck"]
    html = coach_client.get(target.page).get_data(as_text=True)
    assert "1 item added with its usual dose: “Chin tuck”. Adjust it below if needed." in html
    assert f"“Cat and cow” is already in this {target.kind}, so it was not added again." in html
    # Only items already there: nothing added, and the coach is told why.
    items = [library["chin"].id, library["cat"].id]
    response = coach_client.post(target.add, data=target.fields(coach_client, items=items))
    assert response.status_code == 302
    html = coach_client.get(target.page).get_data(as_text=True)
    message = f"“Chin tuck”, “Cat and cow” are already in this {target.kind}, so they were not added again."
    assert message in html and "added with" not in html
    assert target.titles() == ["Cat and cow", "Chin tuck"]


def test_adding_nothing_says_so_with_a_400(target, coach_client):
    response = coach_client.post(target.add + "?q=cat", data=target.fields(coach_client))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose at least one item to add." in html and 'id="items-error"' in html
    assert "Not a valid choice" not in html
    assert _visible(html) == {"Cat and cow"}  # the same search as before
    assert target.rows() == []


@pytest.mark.parametrize("forged", ["999999", "abc", "-3", "0", "9" * 40, "retired"])
def test_a_forged_or_retired_item_adds_nothing(target, coach_client, library, forged):
    value = library["retired"].id if forged == "retired" else forged
    data = target.fields(coach_client, items=[library["cat"].id, value])
    response = coach_client.post(target.add, data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not in the library any more. Nothing was added" in html
    assert re.search(rf'value="{library["cat"].id}" id="pick-\d+" checked', html)  # the coach's ticks are kept
    assert target.rows() == []


def test_too_many_items_at_once_is_400(target, coach_client):
    data = target.fields(coach_client, items=[str(n) for n in range(1, 202)])
    response = coach_client.post(target.add, data=data)
    assert response.status_code == 400
    assert "Choose at most 200 items at a time." in response.get_data(as_text=True)


def test_without_the_csrf_token_nothing_is_added(target, coach_client, library):
    data = target.fields(coach_client, items=[library["cat"].id])
    del data["csrf_token"]
    assert coach_client.post(target.add, data=data).status_code == 400
    assert target.rows() == []


def test_an_outdated_plan_version_is_409(coach, patient, coach_client, library):
    target = Target("plan", coach, patient)
    data = target.fields(coach_client, items=[library["cat"].id])
    data["version"] = str(int(data["version"]) + 5)
    assert coach_client.post(target.add, data=data).status_code == 409
    assert target.rows() == []


# --- who may ----------------------------------------------------------------------------------


def test_another_coachs_patient_or_program_is_404(make_user, coach_client, library):
    other = make_user(Role.COACH)
    stranger = make_user(Role.PATIENT, coach=other)
    plan = make_plan(stranger, items=[])
    program = make_program(owner=other, items=[])
    token = csrf_token(coach_client, "/coach/")
    for picker, add, extra in (
        (
            f"/coach/patients/{stranger.id}/plans/{plan.id}/items/add",
            f"/coach/patients/{stranger.id}/plans/{plan.id}/items",
            {"version": "1"},
        ),
        (f"/coach/programs/{program.id}/items/add", f"/coach/programs/{program.id}/items", {}),
    ):
        assert coach_client.get(picker).status_code == 404
        response = coach_client.post(add, data={"csrf_token": token, "items": library["cat"].id, **extra})
        assert response.status_code == 404
    assert db.session.scalar(db.select(db.func.count(PlanItem.id))) == 0
    assert db.session.scalar(db.select(db.func.count(ProgramItem.id))) == 0


def test_a_starter_program_is_403_and_an_ended_plan_404(coach, patient, coach_client, library):
    starter = make_program(slug="starter", items=[])
    assert coach_client.get(f"/coach/programs/{starter.id}/items/add").status_code == 403
    token = csrf_token(coach_client, "/coach/")
    response = coach_client.post(
        f"/coach/programs/{starter.id}/items", data={"csrf_token": token, "items": library["cat"].id}
    )
    assert response.status_code == 403
    ended = make_plan(patient, items=[], status="ended")
    assert coach_client.get(f"/coach/patients/{patient.id}/plans/{ended.id}/items/add").status_code == 404


def test_patients_cannot_open_the_picker(patient, patient_client, library):
    plan = make_plan(patient, items=[])
    assert patient_client.get(f"/coach/patients/{patient.id}/plans/{plan.id}/items/add").status_code == 403


# --- the pages that link to it ----------------------------------------------------------------


def test_patient_and_program_pages_link_to_the_picker_instead_of_a_long_select(coach, patient, coach_client, library):
    plan = make_plan(patient, items=[library["cat"]])
    program = make_program(owner=coach, items=[])
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    plan_section = html.split('id="plan-heading"')[1].split("</section>")[0]
    assert f'href="/coach/patients/{patient.id}/plans/{plan.id}/items/add">Add items</a>' in plan_section
    assert "Chin tuck" not in html  # no option per library item on the patient page
    html = coach_client.get(f"/coach/programs/{program.id}").get_data(as_text=True)
    assert f'href="/coach/programs/{program.id}/items/add">Add items</a>' in html
    assert "<select" not in html.split('id="program-items"')[1]


def test_removing_an_item_confirms_beside_the_list(coach, coach_client, library):
    program = make_program(owner=coach, items=[library["cat"], library["chin"]])
    token = csrf_token(coach_client, f"/coach/programs/{program.id}")
    item = program.items[0]
    response = coach_client.post(f"/coach/programs/{program.id}/items/{item.id}/remove", data={"csrf_token": token})
    assert response.location.endswith("#program-items")
    html = coach_client.get(f"/coach/programs/{program.id}").get_data(as_text=True)
    status = html.split('id="program-items-status"')[1].split("</div>\n  </div>")[0]
    assert "“Cat and cow” was taken out of the program." in status


def test_saving_an_item_confirms_beside_the_list(coach, patient, coach_client, library):
    plan = make_plan(patient, items=[library["cat"]])
    item = plan.items[0]
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/items/{item.id}"
    token = csrf_token(coach_client, url)
    form = {"csrf_token": token, "version": str(plan.version), "sets": "3", "times_per_day": "1", "weekdays": ["0"]}
    response = coach_client.post(url, data=form)
    assert response.status_code == 302 and response.location.endswith("#plan-items")
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    status = html.split('id="plan-items-status"')[1].split("</div>\n  </div>")[0]
    assert "“Cat and cow” saved." in status


# --- a picker a coach can scan -----------------------------------------------------------------


def _rows(html: str) -> list[str]:
    return re.findall(r'<li class="item-picker-row".*?</li>', html, flags=re.S)


def test_each_row_shows_a_64px_picture_and_the_usual_dose(coach_client, patient, library):
    html = coach_client.get(Target("plan", patient.coach, patient).picker).get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 4  # the retired item is not offered
    for row in rows:
        assert 'class="item-picker-thumb" width="64" height="64"' in row
    cat = next(row for row in rows if "Cat and cow" in row)
    assert re.search(r"<span[^>]*data-dose>2 sets of 10 reps · once a day</span>", cat)


def test_body_areas_are_chips_and_a_chip_filters_without_javascript(coach_client, patient, library):
    target = Target("plan", patient.coach, patient)
    html = coach_client.get(target.picker).get_data(as_text=True)
    chips = re.findall(
        r'<input class="btn-check" type="radio" name="area" id="area-([a-z_]+)" value="([a-z_]*)"( checked)?>', html
    )
    assert [value for _id, value, _checked in chips][:2] == ["", "lower_back"] and len(chips) == 8
    assert [value for _id, value, checked in chips if checked] == [""]
    html = coach_client.get(f"{target.picker}?area=neck").get_data(as_text=True)
    shown = [row for row in _rows(html) if " hidden" not in row.split(">", 1)[0]]
    assert len(shown) == 1 and "Chin tuck" in shown[0]
    assert 'id="area-neck" value="neck" checked' in html


def test_recently_used_items_come_first_for_the_coach_who_used_them(coach, make_user, login_as, library):
    patient = make_user(Role.PATIENT, coach=coach)
    make_plan(patient, coach, items=[library["water"], library["desk"]])
    other_coach = make_user(Role.COACH)
    picker = f"/coach/patients/{patient.id}/plans/{patient_plan_id(patient)}/items/add"
    html = login_as(coach).get(picker).get_data(as_text=True)
    assert html.index("Recently used") < html.index("All items")
    titles = [re.search(r'<span class="d-block fw-semibold">([^<]+)', row).group(1) for row in _rows(html)]
    assert set(titles[:2]) == {"Water through the day", "Desk setup"}
    assert titles[2:] == sorted(titles[2:], key=titles[2:].index)  # the rest keep the library's order
    assert "(recently used)" in _rows(html)[0]
    # Another coach's picker (their own program) has no "Recently used" heading: nothing used yet.
    program = make_program(owner=other_coach, items=[])
    other_html = login_as(other_coach).get(f"/coach/programs/{program.id}/items/add").get_data(as_text=True)
    assert "Recently used" not in other_html


def patient_plan_id(patient) -> int:
    return db.session.scalars(db.select(Plan.id).where(Plan.patient_id == patient.id)).one()


def test_the_plan_editor_asks_before_removing_and_keeps_remove_apart(coach_client, patient, library):
    plan = make_plan(patient, items=[library["cat"]])
    html = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    remove = re.search(r'<details class="item-remove">.*?</details>', html, flags=re.S).group(0)
    assert "Take “Cat and cow” off the plan?" in remove and "Yes, remove" in remove
    assert f"/plans/{plan.id}/items/" in remove and "/remove" in remove
    # Pause has its own disclosure, outside the one that removes.
    assert "Pause item" not in remove

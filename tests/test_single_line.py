"""Single-line fields refuse control characters, and stored text never breaks a file.

A line break in a title ends up in calendar files, CSV cells and headers. Every
one-line text field of every form carries ``portal.forms.single_line`` (the
forms are found by walking FlaskForm's subclasses, so a new form is checked
too), and the calendar and print views still work on text that reached the
database some other way.
"""

from __future__ import annotations

import inspect

import pytest
from flask_wtf import FlaskForm
from icalendar import Calendar
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.fields.core import UnboundField

from portal.care.models import Plan
from portal.forms import sane_date, single_line
from portal.patients.calendar import one_line
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan

BREAKERS = ["a\r\nb", "a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b"]


def _all_form_classes() -> list[type]:
    found, todo = [], [FlaskForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("portal."):
                found.append(sub)
    return found


def _validators(unbound: UnboundField) -> list:
    if "validators" in unbound.kwargs:
        return list(unbound.kwargs["validators"] or [])
    return list(unbound.args[1]) if len(unbound.args) > 1 else []


def _fields(kind_check) -> list[tuple[str, UnboundField]]:
    fields = []
    for form in _all_form_classes():
        for name, unbound in inspect.getmembers(form, lambda v: isinstance(v, UnboundField)):
            if kind_check(unbound.field_class):
                fields.append((f"{form.__module__}.{form.__name__}.{name}", unbound))
    return fields


def _single_line_kind(field_class: type) -> bool:
    multi_or_secret = (TextAreaField, PasswordField, HiddenField)
    return issubclass(field_class, StringField) and not issubclass(field_class, multi_or_secret)


def test_the_walk_finds_the_forms(app):
    names = {name for name, _ in _fields(_single_line_kind)}
    assert len(_all_form_classes()) > 15
    for expected in ("LibraryItemForm.title", "ClinicForm.name", "AccountForm.name", "PlanDetailsForm.title"):
        assert any(name.endswith(expected) for name in names), expected


def test_every_single_line_field_refuses_control_characters(app):
    missing = [name for name, unbound in _fields(_single_line_kind) if single_line not in _validators(unbound)]
    assert missing == []


def test_every_date_field_is_bounded(app):
    from wtforms import DateField

    dates = _fields(lambda cls: issubclass(cls, DateField))
    assert dates
    assert [name for name, unbound in dates if sane_date not in _validators(unbound)] == []


@pytest.mark.parametrize("value", BREAKERS)
def test_the_validator_refuses_each_control_character(app, value):
    class Probe(FlaskForm):
        class Meta:
            csrf = False

        title = StringField("Title", validators=[single_line])

    with app.test_request_context(method="POST", data={"title": value}):
        form = Probe()
        assert not form.validate()
        assert "one line" in form.title.errors[0]
    with app.test_request_context(method="POST", data={"title": "Pelvic tilt – día 2 ✓"}):
        assert Probe().validate()


def test_a_plan_title_with_a_line_break_is_refused_and_nothing_is_written(db, patient, coach_client):
    plan = make_plan(patient, items=[make_item()])
    url = f"/coach/patients/{patient.id}/plans/{plan.id}/details"
    token = csrf_token(coach_client, url)
    data = {
        "csrf_token": token,
        "title": "Week 1\r\nX-Injected: yes",
        "goals": "Walk",
        "start_date": plan.start_date.isoformat(),
        "version": plan.version,
    }
    response = coach_client.post(url, data=data)
    assert response.status_code == 400
    assert "Use one line of text" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).title == "Test plan"


@pytest.mark.parametrize("stored", ["Week 1\r\nBEGIN:VEVENT", "Tab\there", "Bell\x07and\x1bescape", "Line\u2028sep"])
def test_calendar_and_print_survive_stored_control_characters(db, patient, patient_client, stored):
    # Written straight to the database, like data from before the validator or another tool
    # (no NUL: PostgreSQL refuses it in text columns whatever the app does).
    make_plan(patient, items=[make_item(title=f"Stretch {stored}")], title=stored)
    response = patient_client.get("/me/plan/calendar.ics")
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 2  # one per round (due twice a day): no event forged by the stored line break
    assert all(str(event["SUMMARY"]).endswith(": " + one_line(f"Stretch {stored}")) for event in events)
    assert str(calendar["X-WR-CALNAME"]) == f"Home plan: {one_line(stored)}"
    printed = patient_client.get("/me/plan/print")
    assert printed.status_code == 200
    assert one_line(stored).split()[0] in printed.get_data(as_text=True)

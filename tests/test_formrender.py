"""The portal's form renderer writes exactly what WTForms' widgets write, only faster."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FileField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from portal.formrender import html_attrs, render_field
from portal.forms import PortalForm
from portal.i18n import refresh_locale

PORTAL = Path(__file__).resolve().parent.parent / "portal"


class Everything(PortalForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    nickname = StringField("Nickname", validators=[Optional(), Length(min=2, max=20)], render_kw={"placeholder": "x"})
    email = EmailField("Email", validators=[InputRequired()])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=12)])
    phone = TelField("Phone")
    search = SearchField("Search")
    link = URLField("Link")
    secret = HiddenField()
    notes = TextAreaField("Notes", validators=[Length(max=500)])
    agree = BooleanField("Agree")
    kind = SelectField("Kind", choices=[("a", "Ä & <b>"), ("b", 'Quote "b"')], validators=[DataRequired()])
    flag = SelectField("Flag", choices=[(True, "Yes"), (False, "No")], coerce=lambda v: v in (True, "True"))
    areas = SelectMultipleField("Areas", choices=[("neck", "Neck"), ("back", "Back")])
    count = IntegerField("Count")
    choice = RadioField("Choice", choices=[("x", "X"), ("y", "Y")])
    upload = FileField("Picture")
    day = DateField("Day", validators=[Optional()], render_kw={"min": date(2026, 1, 1)})
    at = TimeField("At", validators=[InputRequired()])
    submit = SubmitField("Save & go")


HOSTILE = '"><script>alert(1)</script>&amp;'

POSTED = MultiDict(
    [
        ("name", HOSTILE),
        ("nickname", "n"),
        ("email", "a@b.c"),
        ("password", "typed secret"),
        ("phone", "214"),
        ("search", "bridge <b>"),
        ("link", "https://x.test/?a=1&b=2"),
        ("secret", HOSTILE),
        ("notes", "line one\r\n" + HOSTILE),
        ("agree", "y"),
        ("kind", "b"),
        ("flag", "True"),
        ("areas", "neck"),
        ("areas", "back"),
        ("count", "not a number"),
        ("choice", "y"),
        ("day", "2026-13-40"),
        ("at", "07:30"),
    ]
)

CALLS = [
    {},
    {"class_": "form-control is-invalid", "aria_describedby": "x-help x-error", "aria-invalid": "true"},
    {"required": False, "autocomplete": "off", "data_role": "main"},
    {"id": False, "value": HOSTILE, "maxlength": 3},
]


@pytest.mark.parametrize("formdata", [None, POSTED], ids=["empty", "posted"])
@pytest.mark.parametrize("kwargs", CALLS)
def test_every_field_renders_as_its_wtforms_widget_would(app, formdata, kwargs):
    with app.test_request_context(method="POST"):
        form = Everything(formdata=formdata, meta={"csrf": False})
        form.validate()
        for field in form:
            own = dict(field.render_kw or {}, **kwargs)
            expected = field.widget(field, **own)
            assert render_field(field, dict(kwargs)) == expected, field.name
            assert field(**kwargs) == expected, field.name  # through the form's Meta


def test_csrf_token_field_renders_as_before(app):
    with app.test_request_context():
        form = Everything()
        assert form.csrf_token(id=False) == form.csrf_token.widget(form.csrf_token, id=False)
        assert 'name="csrf_token"' in str(form.csrf_token())


def test_attribute_values_are_escaped():
    html = html_attrs({"value": HOSTILE, "title": "a'b", "data_x_y": 1, "checked": True, "hidden": False})
    assert (
        html == 'checked data-x-y="1" title="a&#39;b" value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;"'
    )


def test_wtforms_messages_follow_the_request_language(app):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        refresh_locale()  # the tests' app context outlives each request: forget the last one's language
        form = Everything(formdata=MultiDict([("count", "x")]), meta={"csrf": False})
        form.validate()
        assert form.count.errors == ["No es un valor entero válido."]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh_locale()
        form = Everything(formdata=MultiDict([("count", "x")]), meta={"csrf": False})
        form.validate()
        assert form.count.errors == ["Not a valid integer value."]


# The ``field`` macro as the templates wrote it before portal.formrender.field_block took its place: the
# reference its markup must keep, byte for byte (label, required mark, help, errors, aria attributes).
FIELD_MACRO = """{% macro field(f, help=None, class_="", input_class="", autocomplete=None, input_attrs=None) -%}
  {% set has_errors = f.errors|length > 0 %}
  {% set describedby = [] %}
  {% if help %}{% set __ = describedby.append(f.id ~ '-help') %}{% endif %}
  {% if has_errors %}{% set __ = describedby.append(f.id ~ '-error') %}{% endif %}
  {% if f.type == 'BooleanField' %}
  <div class="form-check mb-3 {{ class_ }}">
    {{ f(class_="form-check-input" ~ (" is-invalid" if has_errors else ""), **({"aria-describedby": describedby|join(' ')} if describedby else {})) }}
    <label class="form-check-label" for="{{ f.id }}">{{ f.label.text }}</label>
    {% if help %}<div id="{{ f.id }}-help" class="form-text">{{ help }}</div>{% endif %}
    {% if has_errors %}<div id="{{ f.id }}-error" class="invalid-feedback d-block">{{ f.errors|join(' ') }}</div>{% endif %}
  </div>
  {% else %}
  <div class="mb-3 {{ class_ }}">
    <label class="form-label" for="{{ f.id }}">{{ f.label.text }}</label>{% if f.flags.required %} <span class="text-body-secondary small">{{ _("(required)") }}</span>{% endif %}
    {% set css = ("form-select" if f.type in ("SelectField", "SelectMultipleField") else "form-control") ~ (" is-invalid" if has_errors else "") ~ " " ~ input_class %}
    {% set attrs = {"class_": css} %}
    {# A select always has a value chosen (server-side validation names a missing one), and HTML
       forbids "required" on a select unless its first option is an empty placeholder. #}
    {% if f.type == "SelectField" %}{% set __ = attrs.update({"required": False}) %}{% endif %}
    {% if describedby %}{% set __ = attrs.update({"aria-describedby": describedby|join(' ')}) %}{% endif %}
    {% if has_errors %}{% set __ = attrs.update({"aria-invalid": "true"}) %}{% endif %}
    {% if autocomplete %}{% set __ = attrs.update({"autocomplete": autocomplete}) %}{% endif %}
    {% if input_attrs %}{% set __ = attrs.update(input_attrs) %}{% endif %}
    {{ f(**attrs) }}
    {% if help %}<div id="{{ f.id }}-help" class="form-text">{{ help }}</div>{% endif %}
    {% if has_errors %}<div id="{{ f.id }}-error" class="invalid-feedback d-block">{{ f.errors|join(' ') }}</div>{% endif %}
  </div>
  {% endif %}
{%- endmacro %}"""

FIELD_OPTIONS = [
    {},
    {"help": "Some <help> & text", "class_": "col-6", "input_class": "w-auto", "autocomplete": "off"},
    {"help": "Help", "input_attrs": {"inputmode": "numeric", "required": True}},
]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("formdata", [None, POSTED], ids=["empty", "posted"])
@pytest.mark.parametrize("options", FIELD_OPTIONS)
def test_the_field_macro_writes_what_the_jinja_macro_wrote(app, language, formdata, options):
    from flask import render_template_string

    from portal.formrender import field_block

    call = "{{ field(f, help=help, class_=class_, input_class=input_class, autocomplete=autocomplete, input_attrs=input_attrs) }}"
    arguments = {"help": None, "class_": "", "input_class": "", "autocomplete": None, "input_attrs": None} | options
    with app.test_request_context(method="POST", headers={"Accept-Language": language}):
        refresh_locale()
        form = Everything(formdata=formdata, meta={"csrf": False})
        form.validate()
        for field in form:
            if field.type in ("RadioField", "SubmitField", "HiddenField"):
                continue
            expected = render_template_string(FIELD_MACRO + call, f=field, **arguments)
            assert str(field_block(field, **arguments)) == expected, field.name
            through_macro = render_template_string(
                '{% from "_macros.html" import field %}' + call, f=field, **arguments
            )
            assert through_macro == expected, field.name


def test_every_form_of_the_portal_is_a_portal_form():
    """A form built on FlaskForm directly would render through the slow widgets."""
    offenders = []
    for path in PORTAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                if "FlaskForm" in bases and node.name != "PortalForm":
                    offenders.append(f"{path.relative_to(PORTAL)}:{node.name}")
    assert offenders == []

"""Spanish: a complete catalog, every page in Spanish, the language choice, and emails, calendar and print in both."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import url_for
from flask_babel import gettext as _

from portal.auth.models import Role, User
from portal.i18n import SESSION_KEY, current_locale_identifier, force_locale, refresh_locale, supported_language
from portal.messaging import reminders
from tests.conftest import NO_QUIET_HOURS, csrf_token, login
from tests.plan_factories import make_item, make_plan
from tests.smtp_server import smtp_server_fixture  # noqa: F401  (the smtp_server fixture)
from tests.test_authz_matrix import MATRIX, Clients, world  # noqa: F401  (the world fixture)

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "portal" / "translations" / "es" / "LC_MESSAGES" / "messages.po"

# Words of the English interface that a Spanish page must not show (each is translated in the catalog).
ENGLISH_ONLY = (
    "Log out",
    "Today's check-in",
    "My plan",
    "My progress",
    "Messages with",
    "Your account",
    "Skip to content",
    "Our clinics",
    "Patients</a>",
    "Alerts</a>",
    "Programs</a>",
    "Library</a>",
    "Accounts</a>",
    "Audit log",
    "(required)",
    "Please correct",
    "Save ",
    "Cancel</a>",
    "Change password",
    "Two-step sign-in",
    "Not a substitute",
    "not a substitute",
    "medical advice",
    "Download",
    "Search",
    "Filter",
    "Sort by",
    "Red flag",
    "Never<",
    "Pain (0",
    "How to do it",
    "From your coach",
    "Edit<",
    "No check-ins",
    ">Done<",
    ">Dose<",
    "Every day",
    "once a day",
    " sets of ",
    " reps",
    "Monday",
    "Tuesday",
    "January",
    "February",
    "March",
    "April",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="es")


def _extracted() -> set:
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_marked_string_is_in_the_spanish_catalog():
    """Run the extraction: a string marked in code or templates but missing from the catalog fails."""
    catalog_ids = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in _catalog() if m.id}
    missing = sorted(_extracted() - catalog_ids)
    assert len(catalog_ids) > 600
    assert not missing, f"run `make translations` and translate: {missing[:20]}"


def test_the_catalog_has_no_untranslated_or_fuzzy_entry():
    catalog = _catalog()
    assert not catalog.fuzzy
    bad = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s.strip() for s in strings):
            bad.append(message.id)
    assert not bad, bad[:20]


def _placeholders(text: str) -> tuple[set, set]:
    percent = set(re.findall(r"%\((\w+)\)[sd]", text))
    braces = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    return percent, braces


def test_every_entry_formats_with_its_placeholders():
    """Each Spanish string formats with the English one's placeholders (both %(name)s and {name} styles)."""
    problems = []
    for message in _catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        english_percent, english_braces = _placeholders(ids[-1])
        values = dict.fromkeys(english_percent | {"num"}, 3)
        for text in strings:
            percent, braces = _placeholders(text)
            if percent - english_percent - {"num"} or braces != english_braces:
                problems.append((message.id, text))
                continue
            try:
                if english_percent or "%(num)" in text or "%%" in text:
                    text % values
                if english_braces:
                    text.format(**dict.fromkeys(english_braces, "x"))
            except (KeyError, ValueError, TypeError) as error:
                problems.append((message.id, f"{text}: {error}"))
        # Every placeholder of the English appears in the Spanish (a plural's singular may drop the count).
        if english_percent - _placeholders(strings[-1])[0]:
            problems.append((message.id, strings[-1]))
    assert not problems, problems[:10]


def test_clinical_wording_is_translated_in_full(app):
    with app.test_request_context(), force_locale("es"):
        assert _("New numbness or tingling in your legs?") == "¿Adormecimiento u hormigueo nuevo en las piernas?"
        # The safety tiers' headings, as the patient reads them after a red-flag answer.
        assert _("Call your clinic today") == "Llame hoy a su clínica"
        assert _("Call 911 or go to the nearest emergency room now") == (
            "Llame al 911 o vaya ahora mismo a la sala de emergencias más cercana"
        )


@pytest.mark.parametrize("code", ["xx", "", "es-MX; DROP", "EN", None])
def test_unknown_language_codes_fall_back_to_english(code):
    assert supported_language(code) == "en"


def test_unknown_code_in_the_language_link_is_english_never_a_500(client):
    response = client.get("/language/klingon")
    assert response.status_code == 302
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page


def test_accept_language_picks_spanish_and_the_login_page_offers_english(client):
    page = client.get("/login", headers={"Accept-Language": "es-US,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page and ">English</a>" in page and "Español</a>" not in page
    english = client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert '<html lang="en">' in english and ">Español</a>" in english


def test_the_language_link_is_kept_in_the_session(client, app):
    response = client.get("/language/es")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    with client.session_transaction() as session:
        assert session[SESSION_KEY] == "es"
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page and "¿Olvidó su contraseña?" in page
    # Only same-site targets are followed.
    assert client.get("/language/en?next=https://evil.example/").headers["Location"].endswith("/login")


def test_patient_switches_language_on_the_account_page(db, patient, patient_client):
    token = csrf_token(patient_client, "/account")
    response = patient_client.post(
        "/account", data={"lang-language": "es", "lang-submit": "1", "csrf_token": token}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert '<html lang="es">' in page and "Se guardó su idioma." in page and "Idioma" in page
    db.session.refresh(patient)
    assert patient.language == "es"
    assert "<h1>Hoy</h1>" in patient_client.get("/me/").get_data(as_text=True)
    # A forged code is refused beside the field, and nothing changes.
    token = csrf_token(patient_client, "/account")
    bad = patient_client.post("/account", data={"lang-language": "xx", "lang-submit": "1", "csrf_token": token})
    assert bad.status_code == 400
    db.session.refresh(patient)
    assert patient.language == "es"


def test_admin_sets_the_language_when_creating_and_editing_an_account(db, admin_client, clinic, coach):
    token = csrf_token(admin_client, "/admin/accounts/new")
    response = admin_client.post(
        "/admin/accounts/new",
        data={
            "name": "Lucia Gomez",
            "email": "lucia@example.com",
            "role": "patient",
            "clinic_id": str(clinic.id),
            "coach_id": str(coach.id),
            "phone": "(214) 555-0111",
            "language": "es",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).where(User.email == "lucia@example.com"))
    assert user.language == "es"
    token = csrf_token(admin_client, f"/admin/accounts/{user.id}/edit")
    admin_client.post(
        f"/admin/accounts/{user.id}/edit",
        data={
            "name": user.name,
            "email": user.email,
            "role": "patient",
            "clinic_id": str(clinic.id),
            "coach_id": str(coach.id),
            "phone": "(214) 555-0111",
            "language": "en",
            "csrf_token": token,
        },
    )
    db.session.refresh(user)
    assert user.language == "en"


def test_roster_and_patient_page_show_the_patients_language(db, patient, coach_client):
    patient.language = "es"
    db.session.commit()
    roster = coach_client.get("/coach/").get_data(as_text=True)
    assert 'data-col="language">Español<' in roster
    detail = coach_client.get(f"/coach/patients/{patient.id}").get_data(as_text=True)
    assert 'data-language="es"' in detail
    assert '<html lang="en">' in detail  # the coach reads in their own language


def test_every_page_of_every_role_renders_in_spanish(app, world, db):  # noqa: F811
    """Walk every GET route as each role, in Spanish, and fail on English interface words."""
    for key in ("patient", "coach", "admin"):
        world[key].language = "es"
    db.session.commit()
    clients = Clients(app, world)
    failures = []
    checked = 0
    for (endpoint, method), rule in sorted(MATRIX.items()):
        if method != "GET":
            continue
        with app.test_request_context():
            path = url_for(endpoint, **rule.args(world))
        for actor in ("patient", "coach", "admin"):
            if rule.expected[actor] != "ok":
                continue
            client, _token = clients.get(actor)
            response = client.get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            checked += 1
            html = response.get_data(as_text=True)
            if '<html lang="es">' not in html:
                failures.append(f"{path} as {actor}: not <html lang=es>")
            text = re.sub(r"<script.*?</script>|<!--.*?-->", "", html, flags=re.S)
            for phrase in ENGLISH_ONLY:
                if phrase in text:
                    failures.append(f"{path} as {actor}: {phrase!r}")
    assert checked > 30
    assert not failures, "\n".join(failures)


def test_dates_and_weekdays_come_from_babel(app, db, patient, coach, patient_client):
    patient.language = "es"
    item = make_item(title="Cat-cow stretch", default_sets=2, default_reps=10, default_times_per_day=2)
    make_plan(patient, coach, [item])
    db.session.commit()
    plan_page = patient_client.get("/me/plan").get_data(as_text=True)
    assert "lun" in plan_page and "2 series de 10 repeticiones" in plan_page
    assert "dos veces al día" in plan_page and "Mon<" not in plan_page


def test_a_template_speaks_the_language_in_force_when_it_is_rendered(app):
    # Templates get gettext bound to one render's catalog: a render inside force_locale (an
    # email to a Spanish reader during an English request) must not reuse the request's.
    from flask import render_template_string

    source = '{{ _("Log out") }}|{{ ngettext("%(num)d patient", "%(num)d patients", 2) }}'
    with app.test_request_context("/"):
        assert render_template_string(source) == "Log out|2 patients"
        with force_locale("es"):
            assert render_template_string(source) == "Cerrar sesión|2 pacientes"
        assert render_template_string(source) == "Log out|2 patients"


def test_reminder_email_in_each_recipients_language(smtp_server, app, db, make_user):  # noqa: F811
    from datetime import time

    make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS, name="Sofia Ramirez", language="es")
    make_user(Role.PATIENT, reminder_time=time(0, 0), **NO_QUIET_HOURS, name="Rita Reminder")
    result = app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0
    emails = {email["To"]: email for email in smtp_server.wait_for(2)}
    spanish = next(e for e in emails.values() if "Sofia" in e.get_content())
    english = next(e for e in emails.values() if "Rita" in e.get_content())
    assert spanish["Subject"] == "Su registro diario en Holistiq Coach"
    assert "Hola, Sofia:" in spanish.get_content()
    assert english["Subject"] == "Your daily check-in on Holistiq Coach"
    assert reminders is not None


def test_message_notification_goes_out_in_the_recipients_language(smtp_server, db, patient, coach, login_as):  # noqa: F811
    patient.language = "es"
    db.session.commit()
    coach_client = login_as(coach)
    token = csrf_token(coach_client, f"/messages/patients/{patient.id}")
    coach_client.post(f"/messages/patients/{patient.id}", data={"body": "Hola", "csrf_token": token})
    [email] = smtp_server.wait_for(1)
    assert email["Subject"] == "Tiene un mensaje nuevo en Holistiq Coach"
    assert "Tiene un mensaje nuevo de su coach de salud" in email.get_content()
    patient_client = login_as(patient)
    token = csrf_token(patient_client, "/messages/")
    patient_client.post("/messages/", data={"body": "Gracias", "csrf_token": token})
    emails = smtp_server.wait_for(2)
    assert emails[-1]["Subject"] == "You have a new message on Holistiq Coach"  # the coach reads English


@pytest.mark.parametrize(
    "language,calname,days,heading,safety",
    [
        ("en", "Home plan: ", "round 1 of 3: Pelvic tilt", "Your plan, item by item", "When to stop and get help"),
        (
            "es",
            "Plan en casa: ",
            "ronda 1 de 3: Pelvic tilt",
            "Su plan, elemento por elemento",
            "Cuándo parar y pedir ayuda",
        ),
    ],
)
def test_calendar_and_printable_plan_in_both_languages(
    db, patient, coach, login_as, language, calname, days, heading, safety
):
    patient.language = language
    make_plan(patient, coach, [make_item(title="Pelvic tilt", cautions="Stop if it hurts.")])
    db.session.commit()
    client = login_as(patient)
    ics = client.get("/me/plan/calendar.ics").get_data(as_text=True)
    assert calname in ics and days in ics
    printed = client.get("/me/plan/print").get_data(as_text=True)
    assert f'<html lang="{language}">' in printed and heading in printed and safety in printed


def test_signed_in_users_language_wins_over_the_session_choice(app, db, patient):
    client = app.test_client()
    client.get("/language/es")
    assert login(client, patient).status_code == 302
    assert '<html lang="en">' in client.get("/account").get_data(as_text=True)


def test_todays_cards_speak_spanish_on_the_page_and_in_the_marking_answer(db, patient, coach, login_as):
    # The cards are a macro imported without the render's context: they take the environment's
    # gettext, which must look the catalog up for the locale in force, as the page's own does.
    patient.language = "es"
    plan = make_plan(patient, coach, [make_item(title="Pelvic tilt")])
    plan.items[0].times_per_day = 1  # one "Mark done" finishes the day
    db.session.commit()
    client = login_as(patient)
    page = client.get("/me/").get_data(as_text=True)
    assert "Cómo hacerlo y precauciones" in page and "How to do it" not in page
    assert 'Marcar<span class="visually-hidden"> Pelvic tilt</span> como hecho' in page
    answer = client.post(
        f"/me/today/items/{plan.items[0].id}",
        data={"csrf_token": csrf_token(client, "/me/"), "done": "1"},
        headers={"Accept": "application/json"},
    ).get_json()
    assert "Cómo hacerlo y precauciones" in answer["card"] and "How to do it" not in answer["card"]
    assert 'Marcar<span class="visually-hidden"> Pelvic tilt</span> como no hecho' in answer["card"]


def test_template_gettext_formats_as_jinjas_newstyle_gettext(app):
    """Templates' _ and ngettext escape, then %-format every text (so "%%" reads "%" even without
    values), in a macro imported without context too, and follow force_locale."""
    from flask import render_template_string

    template = (
        "{{ _('Coaching agreement') }}|{{ _('100%% sure') }}|{{ _('Hi %(name)s', name='<b>') }}|"
        "{{ ngettext('%(num)d item', '%(num)d items', 2) }}|{{ _('a < b') }}"
    )
    with app.test_request_context("/"):
        assert render_template_string(template) == "Coaching agreement|100% sure|Hi &lt;b&gt;|2 items|a < b"
        with force_locale("es"):
            assert render_template_string("{{ _('Coaching agreement') }}") == _("Coaching agreement")
            assert _("Coaching agreement") != "Coaching agreement"
        env = app.jinja_env
        macro = env.from_string("{% macro m() %}{{ _('Coaching agreement') }} {{ _('5%%') }}{% endmacro %}")
        assert str(macro.module.m()) == "Coaching agreement 5%"


def test_a_language_is_forced_only_through_the_portals_force_locale():
    """The per-request memos of texts, catalogs and locale names follow ``portal.i18n.force_locale`` and
    ``refresh_locale``; a switch made with Flask-Babel's own would leave them in the language they were in."""
    direct = re.compile(
        r"from flask_babel import .*\b(force_locale|refresh)\b(?! as babel_)|flask_babel\.(force_locale|refresh)\b"
    )
    users = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("portal", "tests", "bench", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if direct.search(line) and path != ROOT / "portal" / "i18n.py" and path != Path(__file__)
    ]
    assert users == []


def test_texts_kept_for_a_request_follow_a_forced_language_in_and_out(app):
    with app.test_request_context("/"):
        assert str(_("Your account")) == "Your account" and current_locale_identifier() == "en"
        with force_locale("es"):
            assert str(_("Your account")) == "Su cuenta" and current_locale_identifier() == "es"
            with force_locale("en"):
                assert str(_("Your account")) == "Your account" and current_locale_identifier() == "en"
            assert str(_("Your account")) == "Su cuenta" and current_locale_identifier() == "es"
        assert str(_("Your account")) == "Your account" and current_locale_identifier() == "en"


def test_texts_kept_for_a_request_follow_a_refreshed_language(app):
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        refresh_locale()
        assert str(_("Your account")) == "Su cuenta" and current_locale_identifier() == "es"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        refresh_locale()  # the test's app context, and its g, outlive each request
        assert str(_("Your account")) == "Your account" and current_locale_identifier() == "en"


def test_the_portal_uses_only_flask_babels_public_api():
    """Flask-Babel keeps its request state in ``g._flask_babel`` and its domain in private attributes: code that
    reads them breaks silently with a release of the library. The portal asks ``get_locale()``,
    ``get_translations()`` and ``force_locale`` instead."""
    private = re.compile(r"_flask_babel|domain_instance|babel_locale|babel_translations")
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "portal").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if private.search(line)
    ]
    assert readers == []

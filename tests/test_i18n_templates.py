"""Every template and every macro speaks Spanish to a Spanish reader.

Each route is requested as each role (and signed out) in Spanish, with the GET and with an empty
form post (the refused form's page is a page too); every HTML answer must name its language and
show no text of the English catalog. Every template file must have been rendered by that walk
or by the checks below (macros are also rendered imported without context, where a page's
context does not reach).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pyotp
import pytest
from babel.messages.pofile import read_po
from flask import Flask, render_template_string, url_for
from jinja2 import BaseLoader
from sqlalchemy import update

from portal.auth.forms import LoginForm
from portal.auth.models import Role, User
from portal.care import pauses
from portal.care.alerts import open_alert
from portal.care.models import AlertKind, CheckIn
from portal.exercises.models import LibraryItem
from portal.extensions import db as _db
from portal.i18n import current_language, force_locale
from portal.patients.forms import CheckInForm
from portal.timeutil import local_today
from tests.conftest import csrf_token, login
from tests.plan_factories import make_item, make_plan, make_program
from tests.test_authz_matrix import ACTORS, MATRIX, Clients, world  # noqa: F401  (the world fixture)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CATALOG = ROOT / "portal" / "translations" / "es" / "LC_MESSAGES" / "messages.po"

# Templates the walk does not reach (they need a flow: a second submit, a finished session, a
# JSON answer...), each with where it is checked in Spanish instead; None: not checked yet.
REACHED_ELSEWHERE = {
    "auth/reset.html": "test_a_token_page_speaks_spanish below",
    "auth/link_invalid.html": "test_a_token_page_speaks_spanish below",
    "patients/_today_card.html": "test_i18n.py: test_todays_cards_speak_spanish_on_the_page_and_in_the_marking_answer",
    "patients/_plan_changes.html": "test_plan_changes.py: test_the_box_speaks_the_patients_language",
    "admin/reassign_confirm.html": "test_the_pages_behind_a_flow_speak_spanish below",
    "auth/two_factor_codes.html": "test_the_pages_behind_a_flow_speak_spanish below",
    "coaching/replace_plan.html": "test_the_pages_behind_a_flow_speak_spanish below",
    "patients/session_summary.html": "test_the_pages_behind_a_flow_speak_spanish below",
    "patients/_safety.html": "test_the_pages_behind_a_flow_speak_spanish below",
    "patients/_item_paused.html": "test_the_pages_behind_a_flow_speak_spanish below",
    # The printable sheet `make figures` writes for the team (scripts/figure_contact_sheet.py), in English.
    "exercises/drawings_file.html": None,
    # No template or view includes it any more (Today shows the red-flag advice another way).
    "patients/_red_flag_box.html": None,
}


def english_catalog_texts() -> set[str]:
    """The fixed English pieces of every catalog entry whose Spanish differs (placeholders cut
    out; pieces short, without a space, or also part of some Spanish text are left out)."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    spanish = " ".join(
        text
        for message in catalog
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
    )
    found = set()
    for message in catalog:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in english:
            for piece in re.split(r"%\(\w+\)\w|%\w|\n", text):
                piece = piece.strip(" .,:;·()«»\"'“”")
                if len(piece) >= 10 and " " in piece and piece not in spanish:
                    found.add(piece)
    return found


ENGLISH = english_catalog_texts()


def english_in(page: str) -> list[str]:
    """The English catalog texts a page shows (scripts, comments and English-only content left out)."""
    text = re.sub(r"<script.*?</script>|<!--.*?-->", "", page, flags=re.S)
    # Library content with no Spanish version is shown in English and marked lang="en".
    text = re.sub(r'<(\w+)[^>]*\blang="en"[^>]*>.*?</\1>', "", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\s+", " ", text)
    return sorted(piece for piece in ENGLISH if piece in text)


def language_problems(page: str) -> list[str]:
    problems = []
    if '<html lang="es">' not in page and "<html" in page:
        problems.append("not <html lang=es>")
    if re.search(r'\b(lang|data-lang|hreflang)=""', page):
        problems.append("an empty language attribute")
    return problems


class RecordingLoader(BaseLoader):
    """The app's loader, noting every template it loads."""

    def __init__(self, loader: BaseLoader) -> None:
        self.loader, self.loaded = loader, set()

    def get_source(self, environment, template):
        self.loaded.add(template)
        return self.loader.get_source(environment, template)

    def list_templates(self):
        return self.loader.list_templates()


@pytest.fixture
def spanish_app(app, monkeypatch) -> Flask:
    """The app, recording the templates it loads (Jinja keys its cache by the loader, so with this
    one every template is loaded again, through it)."""
    monkeypatch.setattr(app.jinja_env, "loader", RecordingLoader(app.jinja_env.loader))
    return app


def _every_template() -> set[str]:
    return {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")}


def test_every_page_and_refused_form_of_every_role_in_spanish(spanish_app, world, db):  # noqa: F811
    for key in ("patient", "coach", "admin", "other_coach", "other_patient"):
        world[key].language = "es"
    db.session.commit()
    clients = Clients(spanish_app, world)
    failures, checked = [], 0
    for (endpoint, method), rule in sorted(MATRIX.items()):
        with spanish_app.test_request_context():
            path = url_for(endpoint, **rule.args(world))
        for actor in ACTORS:
            client, token = clients.get(actor, fresh=rule.fresh_client)
            headers = {"Accept-Language": "es"}
            if method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.open(path, method=method, data={"csrf_token": token}, headers=headers)
            if response.mimetype != "text/html" or 300 <= response.status_code < 400:
                continue
            checked += 1
            page = response.get_data(as_text=True)
            for problem in language_problems(page) + english_in(page):
                failures.append(f"{method} {path} as {actor} ({response.status_code}): {problem}")
    assert checked > 100
    assert not failures, "\n".join(failures)
    unrendered = _every_template() - spanish_app.jinja_env.loader.loaded - REACHED_ELSEWHERE.keys()
    assert not unrendered, (
        f"templates no page rendered (add a route to the walk, or say where they are checked): {unrendered}"
    )


def test_a_token_page_speaks_spanish(client):
    for path in ("/reset?token=not-a-token", "/invitation?token=not-a-token"):
        response = client.get(path, headers={"Accept-Language": "es"}, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html"
        assert language_problems(page) == [] and english_in(page) == [], path


def test_an_error_page_speaks_spanish(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert language_problems(page) == [] and english_in(page) == []


# Every macro of _macros.html, called as a page calls it (the other macro files are imported by
# the pages of the walk, with or without context as each page does).
MACRO_CALLS = (
    "field(form.email)",
    "form_errors(form)",
    "pager(pagination, 'exercises.browse')",
    "list_flashes('added')",
    "medical_note()",
    "item_figure(item)",
    "item_figure(item, 'sm')",
    "item_media(item)",
    "tap_scale(checkin.pain, 'Nada', 'Lo peor')",
)


@pytest.mark.parametrize("imported", [False, True], ids=["with context", "without context"])
def test_the_macros_speak_spanish_and_know_the_language(app, imported):
    """A macro imported without context still renders in the request's language, never an empty one."""
    item = make_item(title="Cat-cow stretch", media_kind="video", media_type="video/mp4", media_digest="0" * 64)
    for n in range(30):
        make_item(title=f"Stretch {n}")
    with app.test_request_context("/library/?page=2", headers={"Accept-Language": "es"}):
        assert current_language() == "es"
        form, checkin = LoginForm(meta={"csrf": False}), CheckInForm(meta={"csrf": False})
        form.validate(), checkin.validate()
        pagination = _db.paginate(_db.select(LibraryItem).order_by(LibraryItem.id), page=2, per_page=10)
        for call in MACRO_CALLS:
            name = call.split("(")[0]
            source = (
                f'{{% from "_macros.html" import {name}{"" if imported else " with context"} %}}'
                f'<p lang="{{{{ current_language }}}}">{{{{ {call} }}}}</p>'
            )
            page = render_template_string(source, form=form, checkin=checkin, pagination=pagination, item=item)
            assert 'lang="es"' in page, (call, page)
            assert english_in(page) == [], (call, english_in(page))


def test_current_language_is_the_one_in_force_in_a_macro_without_context(app):
    source = '{% from "_macros.html" import medical_note %}{{ current_language }}|{{ medical_note() }}'
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        spanish = render_template_string(source)
        with force_locale("en"):
            english = render_template_string(source)
    assert spanish.startswith("es|") and english.startswith("en|")
    assert english_in(spanish) == [] and "medical advice" in english


def test_the_login_message_is_in_the_visitors_language(app):
    """Built with the app, flashed in the language of whoever it turns away."""
    for language, expected in (
        ("es", "Por favor, inicie sesión para continuar."),
        ("en", "Please log in to continue."),
    ):
        client = app.test_client()
        response = client.get("/me/", headers={"Accept-Language": language}, follow_redirects=True)
        assert expected in response.get_data(as_text=True), language


def test_the_walk_signs_in_through_the_real_form(spanish_app, world):  # noqa: F811
    """The walk's clients are real sign-ins (the form, CSRF, two-step for staff)."""
    client = spanish_app.test_client()
    assert login(client, world["coach"]).status_code == 302


def test_the_pages_behind_a_flow_speak_spanish(spanish_app, make_user, coach, login_as, admin_client, db):
    """The pages a walk of single requests does not reach: a paused item, a red flag's advice and
    box, the session's summary, new recovery codes, replacing a plan, moving a patient to another coach."""
    patient = make_user(Role.PATIENT, coach=coach, language="es")
    plan = make_plan(patient, coach, [make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")])
    pauses.pause_item(plan, plan.items[1], "Rodilla primero", coach)
    checkin = CheckIn(patient_id=patient.id, day=local_today(patient.tz), pain=5, stiffness=3, rf_numbness=True)
    db.session.add(checkin)
    db.session.flush()
    open_alert(patient, AlertKind.RED_FLAG, "Entumecimiento", checkin.id, notify=False)
    db.session.commit()
    pages = {}
    client = login_as(patient)
    for path in ("/me/", "/me/plan", "/me/checkin", "/me/today/session/1"):
        pages[path] = client.get(path)
    pages["new recovery codes"] = _new_recovery_codes(login_as, make_user, db)

    for user in (coach,):
        user.language = "es"
    program = make_program(owner=coach, items=[make_item(title="New move")], name="Second plan")
    db.session.commit()
    coach_client = login_as(coach)
    pages["replace the plan"] = coach_client.post(
        f"/coach/patients/{patient.id}/plans",
        data={
            "csrf_token": csrf_token(coach_client, f"/coach/patients/{patient.id}"),
            "assign-program_id": program.id,
            "assign-start_date": local_today(patient.tz).isoformat(),
            "assign-current_plan": f"{plan.id}:{plan.version}",
        },
    )
    admin = db.session.scalar(db.select(User).where(User.role == Role.ADMIN))
    admin.language = "es"
    new_coach = make_user(Role.COACH, name="Robin Second")
    db.session.commit()
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    pages["move to another coach"] = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": str(new_coach.id), "reassign-csrf_token": token},
    )
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.status_code)
        page = response.get_data(as_text=True)
        assert language_problems(page) == [] and english_in(page) == [], (name, english_in(page))
    checked_here = {t for t, where in REACHED_ELSEWHERE.items() if where and "flow_speak_spanish" in where}
    assert checked_here <= spanish_app.jinja_env.loader.loaded, checked_here - spanish_app.jinja_env.loader.loaded


def _new_recovery_codes(login_as, make_user, db):
    user = make_user(Role.PATIENT, language="es", totp_enabled=False)
    client = login_as(user)
    assert client.get("/account/two-factor").status_code == 200
    db.session.refresh(user)
    token = csrf_token(client, "/account/two-factor")
    assert (
        client.post(
            "/account/two-factor", data={"code": pyotp.TOTP(user.totp_secret).now(), "csrf_token": token}
        ).status_code
        == 200
    )
    db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    db.session.commit()
    token = csrf_token(client, "/account/two-factor")
    return client.post(
        "/account/two-factor/recovery-codes",
        data={"codes-code": pyotp.TOTP(user.totp_secret).now(), "csrf_token": token},
    )

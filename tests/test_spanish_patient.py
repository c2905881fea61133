"""A patient who reads Spanish, from the invitation on: every page and every email they get is in
Spanish, including the texts that come from the library and from programs."""

from __future__ import annotations

import html as html_lib
import re
from datetime import time
from functools import cache
from urllib.parse import urlsplit

from flask import url_for

from portal.auth.models import Role
from portal.care.models import Plan, ProgramTranslation
from portal.exercises.models import LibraryItemTranslation
from portal.extensions import db
from portal.timeutil import local_today
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan, make_program
from tests.smtp_server import smtp_server_fixture  # noqa: F401  (the smtp_server fixture)
from tests.test_authz_matrix import MATRIX, OK, Clients, world  # noqa: F401  (the world fixture)
from tests.test_checkins import form_data
from tests.test_i18n import _catalog

ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}
PASSWORD = "a long walk along the river"  # noqa: S105 - test only
# Text that is not the interface's: the app's name, people's and items' names, code-like values.
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
_TAG = re.compile(r"<[^>]+>")


@cache
def _english_catalog() -> tuple[frozenset[str], tuple[str, ...]]:
    """What of the English catalog must not show on a Spanish page or email: whole texts (a button,
    a label: matched against whole text pieces) and phrases of two words or more from longer texts
    (matched anywhere), leaving out what the Spanish keeps as is (names, "PEG", "Holistiq Coach")."""
    entries = [message for message in _catalog() if message.id and message.string]
    pairs = []
    for message in entries:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs.extend((english, spanish) for english in ids for spanish in strings)
    spanish_text = "\n".join(spanish for _english, spanish in pairs)
    whole, phrases = set(), set()
    for english, spanish in pairs:
        if english == spanish:
            continue
        for piece in _TAG.split(_PLACEHOLDER.sub("\x00", english)):
            for fragment in piece.split("\x00"):
                fragment = " ".join(html_lib.unescape(fragment).split()).strip(" .,:;()·—-")
                if not fragment or fragment in spanish_text:
                    continue
                if len(fragment.split()) >= 2 and len(fragment) >= 8:
                    phrases.add(fragment)
                elif fragment == " ".join(_TAG.sub("", english).split()).strip(" .,:;"):
                    whole.add(fragment)
    return frozenset(whole), tuple(sorted(phrases))


def _text_pieces(document: str) -> list[str]:
    """The text a reader meets: text between tags, and the attributes read out or shown."""
    document = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", document, flags=re.S | re.I)
    attributes = re.findall(r'\s(?:aria-label|title|placeholder|alt|value)="([^"]*)"', document)
    texts = _TAG.split(document)
    return [" ".join(html_lib.unescape(piece).split()) for piece in [*texts, *attributes] if piece.strip()]


def english_in(document: str) -> list[str]:
    """The English catalog texts found in a page, an email or a calendar file."""
    whole, phrases = _english_catalog()
    pieces = _text_pieces(document)
    found = {piece for piece in pieces if piece.strip(" .,:;") in whole}
    joined = "\n".join(pieces)
    found.update(phrase for phrase in phrases if re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", joined))
    return sorted(found)


def _spanish(item, title: str) -> None:
    db.session.add(
        LibraryItemTranslation(
            library_item_id=item.id,
            locale="es",
            title=title,
            summary=f"Resumen de {title}.",
            instructions="Paso uno.\nPaso dos.",
            cautions="Pare si el dolor baja por una pierna.",
        )
    )


def test_the_english_catalog_check_finds_english_and_passes_spanish():
    assert english_in("<p>Save check-in</p>") == ["Save check-in"]
    assert "Daily check-in" in english_in("<h1>Daily check-in</h1>")
    assert english_in('<button aria-label="Log out">x</button>') == ["Log out"]
    assert english_in("<h1>Registro diario</h1><p>Guardar registro</p><p>Holistiq Coach</p>") == []


def test_the_checkin_lists_todays_items_in_the_patients_language(db, patient, coach, login_as):
    patient.language = "es"
    stretch, tilt = make_item(title="Cat-cow stretch"), make_item(title="Pelvic tilt")
    _spanish(stretch, "Gato-vaca")
    make_plan(patient, coach, [stretch, tilt])
    client = login_as(patient)
    page = client.get("/me/checkin").get_data(as_text=True)
    labels = re.findall(r'<label class="form-check-label" for="items_done-\d+">([^<]*)</label>', page)
    # An item without a Spanish version keeps its English title, as on Today.
    assert labels == ["Gato-vaca", "Pelvic tilt"]


def test_the_invitation_page_speaks_the_invited_patients_language(smtp_server, db, make_user, admin_client, app):  # noqa: F811
    patient = make_user(Role.PATIENT, password=None, language="es", name="Sofia Ramirez")
    admin_client.post(
        f"/admin/accounts/{patient.id}/send-link",
        data={"csrf_token": csrf_token(admin_client, f"/admin/accounts/{patient.id}")},
    ).close()  # the email goes out once the response is closed
    [email] = smtp_server.wait_for(1)
    link = re.search(r"http://\S+/invitation\?token=\S+", email.get_content()).group(0)
    visitor = app.test_client()  # an English browser: the account's language wins
    page = visitor.get(urlsplit(link).path + "?" + urlsplit(link).query, headers=ENGLISH_BROWSER, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html and "Elija su contraseña" in html, english_in(html)
    # A refused password is explained in Spanish too, beside the field.
    refused = visitor.post(
        "/invitation",
        data={"csrf_token": csrf_token(visitor, "/invitation"), "password": "short", "confirm": "short"},
        headers=ENGLISH_BROWSER,
    )
    assert refused.status_code == 400 and '<html lang="es">' in refused.get_data(as_text=True)
    assert english_in(refused.get_data(as_text=True)) == []


def test_a_program_copied_into_a_plan_takes_the_patients_language(db, coach, patient, make_user, coach_client):
    program = make_program(owner=coach, items=[make_item(title="Bridge")], name="Calm the flare")
    db.session.add(ProgramTranslation(program_id=program.id, locale="es", name="Calmar la crisis", description=""))
    spanish = make_user(Role.PATIENT, coach=coach, language="es")
    db.session.commit()
    for reader, title in ((spanish, "Calmar la crisis"), (patient, "Calm the flare")):
        token = csrf_token(coach_client, f"/coach/patients/{reader.id}")
        response = coach_client.post(
            f"/coach/patients/{reader.id}/plans",
            data={
                "csrf_token": token,
                "assign-program_id": program.id,
                "assign-start_date": local_today(reader.tz).isoformat(),
                "assign-current_plan": "",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        assert db.session.scalar(db.select(Plan.title).where(Plan.patient_id == reader.id)) == title
    # A title the coach writes is kept as written.
    other = make_user(Role.PATIENT, coach=coach, language="es")
    token = csrf_token(coach_client, f"/coach/patients/{other.id}")
    coach_client.post(
        f"/coach/patients/{other.id}/plans",
        data={
            "csrf_token": token,
            "assign-program_id": program.id,
            "assign-start_date": local_today(other.tz).isoformat(),
            "assign-title": "Plan de Ana",
            "assign-current_plan": "",
        },
    )
    assert db.session.scalar(db.select(Plan.title).where(Plan.patient_id == other.id)) == "Plan de Ana"


def _patient_pages(app, world) -> list[str]:  # noqa: F811
    """Every page the route matrix lets a patient open, with the patient's own objects."""
    paths = []
    for (endpoint, method), rule in sorted(MATRIX.items()):
        # Signed-in pages only: the public ones (sign-in, links) are for whoever opens them.
        if method == "GET" and rule.expected["patient"] == OK and rule.expected["anonymous"] != OK:
            with app.test_request_context():
                paths.append(url_for(endpoint, **rule.args(world)))
    return paths


def test_a_spanish_patient_meets_no_english_from_invitation_to_every_page_and_email(
    smtp_server,  # noqa: F811
    app,
    db,
    world,  # noqa: F811
):
    patient = world["patient"]
    patient.language = "es"
    patient.password_hash = None  # not signed up yet: the admin sends the invitation
    patient.reminder_time = time(0, 0)
    patient.quiet_start = patient.quiet_end = time(0, 0)  # no quiet hours: the reminder goes out at any hour
    for item, title in ((world["item"], "Gato-vaca"), (world["plan"].items[1].library_item, "Báscula pélvica")):
        _spanish(item, title)
    db.session.commit()
    clients = Clients(app, world)
    admin, _token = clients.get("admin")
    admin.post(
        f"/admin/accounts/{patient.id}/send-link",
        data={"csrf_token": csrf_token(admin, f"/admin/accounts/{patient.id}")},
    ).close()  # the email goes out once the response is closed
    failures: dict[str, list[str]] = {}

    def check(where: str, document: str) -> None:
        # Nor the English of the library items that have a Spanish version.
        found = english_in(document) + [title for title in ("Cat-cow stretch", "Pelvic tilt") if title in document]
        if found:
            failures[where] = found

    [invitation] = smtp_server.wait_for(1)
    check("invitation email", invitation["Subject"] + "\n" + invitation.get_content())
    link = urlsplit(re.search(r"http://\S+/invitation\?token=\S+", invitation.get_content()).group(0))
    client = app.test_client()
    page = client.get(f"{link.path}?{link.query}", headers=ENGLISH_BROWSER, follow_redirects=True)
    check("invitation page", page.get_data(as_text=True))
    accepted = client.post(
        "/invitation",
        data={"csrf_token": csrf_token(client, "/invitation"), "password": PASSWORD, "confirm": PASSWORD},
        headers=ENGLISH_BROWSER,
        follow_redirects=True,
    )
    assert accepted.request.path == "/me/", accepted.get_data(as_text=True)
    check("after the invitation", accepted.get_data(as_text=True))

    # The daily reminder comes before the day's check-in.
    assert app.test_cli_runner().invoke(args=["reminders", "send"]).exit_code == 0
    # What the patient does on a first day, each answer read as it comes.
    token = csrf_token(client, "/me/")
    marked = client.post(
        f"/me/today/items/{world['plan_item'].id}", data={"csrf_token": token, "done": "1"}, follow_redirects=True
    )
    check("marking an item", marked.get_data(as_text=True))
    saved = client.post("/me/checkin", data=form_data(client), follow_redirects=True)
    check("saving the check-in", saved.get_data(as_text=True))
    sent = client.post("/messages/", data={"csrf_token": token, "body": "Hola"}, follow_redirects=True)
    check("sending a message", sent.get_data(as_text=True))

    checked = 0
    for path in _patient_pages(app, world):
        response = client.get(path, headers=ENGLISH_BROWSER, follow_redirects=True)
        if response.mimetype not in ("text/html", "text/calendar", "text/plain"):
            continue
        assert response.status_code == 200, path
        checked += 1
        # A calendar's PRODID names the program that made it, for software, in English by the standard's habit.
        check(path, re.sub(r"^PRODID:.*$", "", response.get_data(as_text=True), flags=re.M))
    assert checked >= 15

    # Every email a patient gets: the reminder (above), a message from the coach, a password reset.
    coach_client, _token = clients.get("coach")
    coach_client.post(
        f"/messages/patients/{patient.id}",
        data={"csrf_token": csrf_token(coach_client, f"/messages/patients/{patient.id}"), "body": "¿Qué tal?"},
    )
    visitor = app.test_client()
    visitor.post(
        "/password/forgot",
        data={"csrf_token": csrf_token(visitor, "/password/forgot"), "email": patient.email},
        headers=ENGLISH_BROWSER,
    ).close()
    emails = [email for email in smtp_server.wait_for(5) if email["To"] == patient.email]
    assert len(emails) == 4, [email["Subject"] for email in emails]
    for email in emails[1:]:
        check(f"email {email['Subject']!r}", email["Subject"] + "\n" + email.get_content())
    assert not failures, "\n".join(f"{where}: {found}" for where, found in failures.items())

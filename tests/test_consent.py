"""Consent first: "Before we start", its gate over every patient page and the API, versions, the admin editor."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.consent import KINDS, consent_state, current_version, seed_starter_texts, texts_of
from portal.care.onboarding_models import Consent, ConsentText
from portal.extensions import db as _db
from tests.conftest import csrf_token, login, publish_test_consent_texts
from tests.test_api import API, bearer, sign_in


@pytest.fixture
def newcomer(make_user, coach):
    """A patient who has not agreed to anything yet; their clinic has published version 1."""
    patient = make_user(Role.PATIENT, coach=coach, consented=False, name="Tyrone Test")
    if current_version(patient.clinic_id) is None:
        publish_test_consent_texts(patient.clinic_id)
        _db.session.commit()
    return patient


@pytest.fixture
def newcomer_client(app, newcomer):
    client = app.test_client()
    assert login(client, newcomer).status_code == 302
    return client


def _consents(patient) -> list[Consent]:
    return list(_db.session.scalars(_db.select(Consent).where(Consent.patient_id == patient.id)))


def _post(client, **fields):
    token = csrf_token(client, "/me/consent")
    html = client.get("/me/consent").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    data = {"csrf_token": token, "version": version}
    data.update(fields)
    return client.post("/me/consent", data=data)


def test_every_patient_page_waits_for_consent(newcomer_client):
    for path in ("/me/", "/me/checkin", "/me/progress", "/messages/", "/library/", "/account", "/me/export.json"):
        response = newcomer_client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/me/consent"), path
    # A form post is refused too, and stores nothing.
    assert newcomer_client.post("/me/checkin", data={}).status_code in (303, 400)
    html = newcomer_client.get("/me/consent").get_data(as_text=True)
    assert "<h1>Before we start</h1>" in html
    assert "I agree to the coaching agreement" in html and "I have read the privacy notice" in html
    assert "Coaching agreement" in html and "Privacy notice" in html
    assert ">Continue<" in html
    # Signing out still works.
    token = csrf_token(newcomer_client, "/me/consent")
    assert newcomer_client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_unticked_boxes_ask_again_and_store_nothing(newcomer, newcomer_client, db):
    response = _post(newcomer_client)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count("Please agree to continue") == 2
    response = _post(newcomer_client, agreement="y")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count("Please agree to continue") == 1
    assert re.search(r'id="privacy-error"[^>]*>Please agree to continue', html)
    assert _consents(newcomer) == []
    assert newcomer_client.get("/me/").status_code == 302


def test_consent_is_stored_with_version_time_ip_and_language_and_audited(newcomer, newcomer_client, db):
    response = _post(newcomer_client, agreement="y", privacy="y")
    assert response.status_code == 302
    assert newcomer_client.get("/me/").status_code == 200
    given = _consents(newcomer)
    assert sorted(c.kind for c in given) == sorted(KINDS)
    version = current_version(newcomer.clinic_id)
    assert all(c.version == version and c.language == "en" and c.ip == "127.0.0.1" and c.given_at for c in given)
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "consent.give")).all()
    assert len(events) == 2 and all(e.patient_id == newcomer.id for e in events)
    # A double submit stores nothing more.
    token = csrf_token(newcomer_client, "/account")
    again = newcomer_client.post(
        "/me/consent", data={"csrf_token": token, "version": str(version), "agreement": "y", "privacy": "y"}
    )
    assert again.status_code == 302
    assert len(_consents(newcomer)) == 2


def test_spanish_reader_gets_the_spanish_text_and_it_is_recorded(newcomer, app, db):
    newcomer.language = "es"
    db.session.commit()
    client = app.test_client()
    assert login(client, newcomer).status_code == 302
    html = client.get("/me/consent").get_data(as_text=True)
    assert "Antes de empezar" in html and "Acuerdo de acompañamiento" in html
    assert _post(client, agreement="y", privacy="y").status_code == 302
    assert {c.language for c in _consents(newcomer)} == {"es"}


def test_a_version_published_while_the_page_was_open_is_shown_and_asked_again(newcomer, newcomer_client, db):
    token = csrf_token(newcomer_client, "/me/consent")
    old_version = current_version(newcomer.clinic_id)
    ConsentText.__table__  # noqa: B018 - the table exists
    new_version = publish_test_consent_texts(newcomer.clinic_id)
    db.session.execute(
        db.update(ConsentText)
        .where(ConsentText.version == new_version, ConsentText.kind == "privacy", ConsentText.locale == "en")
        .values(body="Privacy notice, second edition: we now keep your goals too.")
    )
    db.session.commit()
    response = newcomer_client.post(
        "/me/consent", data={"csrf_token": token, "version": str(old_version), "agreement": "y", "privacy": "y"}
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "second edition" in html and "updated while the page was open" in html
    assert f'value="{new_version}"' in html
    assert _consents(newcomer) == []
    # A forged, unknown version is treated the same way.
    response = newcomer_client.post(
        "/me/consent", data={"csrf_token": token, "version": "99999", "agreement": "y", "privacy": "y"}
    )
    assert response.status_code == 409 and _consents(newcomer) == []


def test_publishing_a_new_version_asks_the_clinics_patients_again(
    patient, patient_client, make_clinic, make_user, app, db
):
    other_clinic = make_clinic()
    elsewhere = make_user(Role.PATIENT, clinic_id=other_clinic.id)
    assert patient_client.get("/me/").status_code == 200
    publish_test_consent_texts(patient.clinic_id)
    db.session.commit()
    # At the next sign-in, as the admin is told ("at their next visit").
    patient_client = app.test_client()
    assert login(patient_client, patient).status_code == 302
    assert patient_client.get("/me/").headers["Location"].endswith("/me/consent")
    assert consent_state(patient).required and not consent_state(elsewhere).required
    assert _post(patient_client, agreement="y", privacy="y").status_code == 302
    assert patient_client.get("/me/").status_code == 200
    assert {c.version for c in _consents(patient)} == {1, 2}


def test_clinic_without_texts_blocks_with_a_message(make_clinic, make_user, app, db):
    bare = make_clinic()
    patient = make_user(Role.PATIENT, clinic_id=bare.id, consented=False)
    client = app.test_client()
    assert login(client, patient).status_code == 302
    response = client.get("/me/consent")
    assert response.status_code == 503
    assert "has not published" in response.get_data(as_text=True)
    assert client.get("/me/").headers["Location"].endswith("/me/consent")


def test_texts_are_readable_later_from_the_account_page(patient, patient_client):
    account = patient_client.get("/account").get_data(as_text=True)
    assert 'href="/me/agreements"' in account
    html = patient_client.get("/me/agreements").get_data(as_text=True)
    assert "Coaching agreement" in html and "Privacy notice" in html and "agreed on" in html


def test_consents_are_in_the_patients_own_exports(newcomer, newcomer_client):
    _post(newcomer_client, agreement="y", privacy="y")
    data = json.loads(newcomer_client.get("/me/export.json").get_data(as_text=True))
    assert sorted(c["document"] for c in data["consents"]) == ["agreement", "privacy"]
    assert all(c["version"] == 1 and c["ip"] == "127.0.0.1" and c["given_at"] for c in data["consents"])
    archive = zipfile.ZipFile(io.BytesIO(newcomer_client.get("/me/export-csv.zip").data))
    text = archive.read("consents.csv").decode("utf-8-sig")
    assert text.startswith("document,version,language,given_at,ip,clinic") and "privacy,1,en" in text


# --- API --------------------------------------------------------------------


def test_api_answers_consent_required_until_given(newcomer, client):
    headers = bearer(sign_in(client, newcomer))
    response = client.get(f"{API}/me/today", headers=headers)
    assert response.status_code == 403
    assert response.json["code"] == "consent_required"
    status = client.get(f"{API}/me/consent", headers=headers)
    assert status.status_code == 200 and status.json["required"] is True
    assert [d["kind"] for d in status.json["documents"]] == ["agreement", "privacy"]
    assert status.json["documents"][0]["checkbox"] == "I agree to the coaching agreement"
    version = status.json["version"]
    # Not both agreed: refused beside the field, nothing stored.
    refused = client.post(
        f"{API}/me/consent", headers=headers, json={"version": version, "agreement": True, "privacy": False}
    )
    assert refused.status_code == 422
    assert refused.json["errors"] == [{"field": "privacy", "location": "json", "message": "Please agree to continue"}]
    assert (
        client.post(f"{API}/me/consent", headers=headers, json={"version": version, "agreement": "yes"}).status_code
        == 422
    )
    stale = client.post(
        f"{API}/me/consent", headers=headers, json={"version": version + 1, "agreement": True, "privacy": True}
    )
    assert stale.status_code == 409 and _consents(newcomer) == []
    given = client.post(
        f"{API}/me/consent", headers=headers, json={"version": version, "agreement": True, "privacy": True}
    )
    assert given.status_code == 200 and given.json["required"] is False and len(given.json["given"]) == 2
    assert client.get(f"{API}/me/today", headers=headers).status_code == 200


# --- admin -------------------------------------------------------------------


def _form_data(client, path: str) -> dict:
    html = client.get(path).get_data(as_text=True)
    data = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)}
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\n?(.*?)</textarea>', html, re.S):
        data[name] = body
    return data


def test_admin_publishes_a_new_version_in_both_languages(admin_client, patient, clinic, db):
    listing = admin_client.get("/admin/consent-texts").get_data(as_text=True)
    assert "<h1>Consent texts</h1>" in listing and clinic.name in listing
    path = f"/admin/consent-texts/{clinic.id}"
    data = _form_data(admin_client, path)
    assert set(data) == {"csrf_token", "agreement_en", "agreement_es", "privacy_en", "privacy_es"}
    assert "Publish new version" in admin_client.get(path).get_data(as_text=True)
    # A blank Spanish text: the message beside it, nothing published.
    bad = dict(data, privacy_es="   ")
    response = admin_client.post(path, data=bad)
    assert response.status_code == 422
    assert re.search(r'id="privacy_es-error"[^>]*>Write this text', response.get_data(as_text=True))
    assert current_version(clinic.id) == 1
    data["privacy_en"] = "Privacy notice, version two."
    response = admin_client.post(path, data=data)
    assert response.status_code == 302
    assert current_version(clinic.id) == 2
    assert texts_of(clinic.id, 2)[("privacy", "en")].body == "Privacy notice, version two."
    assert texts_of(clinic.id, 2)[("agreement", "es")].body == texts_of(clinic.id, 1)[("agreement", "es")].body
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "consent.publish"))
    assert event is not None and '"version": 2' in event.detail
    assert consent_state(patient).required


def test_consent_texts_editor_is_for_admins_only(coach_client, patient_client, clinic, admin_client):
    assert coach_client.get("/admin/consent-texts").status_code == 403
    assert patient_client.get(f"/admin/consent-texts/{clinic.id}").status_code == 403
    assert admin_client.get("/admin/consent-texts/999999").status_code == 404


def test_seed_consent_command_is_idempotent(app, clinic, make_clinic, db):
    make_clinic()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-consent"])
    assert result.exit_code == 0 and "Published the starter consent texts" in result.output
    count = db.session.scalar(db.select(db.func.count(ConsentText.id)))
    assert count == 2 * 4
    again = runner.invoke(args=["seed-consent"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert db.session.scalar(db.select(db.func.count(ConsentText.id))) == count
    assert seed_starter_texts() == []


def test_texts_keep_their_paragraphs_whatever_line_breaks_the_browser_sent(admin_client, patient, clinic, app):
    path = f"/admin/consent-texts/{clinic.id}"
    data = _form_data(admin_client, path)
    data["agreement_en"] = "First paragraph.\r\n\r\nSecond paragraph,\r\nwith a second line."
    assert admin_client.post(path, data=data).status_code == 302
    assert (
        texts_of(clinic.id, 2)[("agreement", "en")].body == "First paragraph.\n\nSecond paragraph,\nwith a second line."
    )
    client = app.test_client()
    assert login(client, patient).status_code == 302
    html = client.get("/me/consent").get_data(as_text=True)
    assert "<p>First paragraph.</p>" in html
    assert '<p class="mb-0">Second paragraph,<br>with a second line.</p>' in html

"""Authorization matrix: every route of the app, as every kind of user, on someone's objects.

Actors: anonymous, a patient, another patient, the patient's coach, another
coach, and an admin. Object ids in the URLs belong to the patient and their
coach, so "another patient" and "another coach" probe objects that are not
theirs. Expected: the login page for anonymous visitors, 403 for a page the
role may not use, 404 for someone else's object (its existence is not
revealed), and "allowed" (anything else below 500) for the right people.

The matrix is checked against `app.url_map`: a route without an entry here, or
an entry for a route that no longer exists, fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from portal.auth import sessions
from portal.auth.models import OnCallContact, Role
from portal.care.models import Alert, CheckIn
from portal.exercises.figures.catalog import drawing
from portal.extensions import db as _db
from portal.mediastore import media_store
from portal.messaging.models import Message
from portal.push import PushSubscription
from portal.timeutil import local_today, utcnow
from tests.conftest import csrf_token, login
from tests.plan_factories import make_item, make_plan, make_program

ACTORS = ("anonymous", "patient", "other_patient", "other_coach", "admin", "coach")  # the allowed go last
LOGIN, OK = "login", "ok"


def expect(**by_actor: object) -> dict[str, object]:
    return {actor: by_actor.get(actor, 403) for actor in ACTORS}


PUBLIC = dict.fromkeys(ACTORS, OK)
SIGNED_IN = {**dict.fromkeys(ACTORS, OK), "anonymous": LOGIN}
ADMIN_ONLY = expect(anonymous=LOGIN, admin=OK)
COACHES = expect(anonymous=LOGIN, coach=OK, other_coach=OK)
STAFF = expect(anonymous=LOGIN, coach=OK, other_coach=OK, admin=OK)
PATIENTS = expect(anonymous=LOGIN, patient=OK, other_patient=OK)  # each sees their own data
# An object of the patient (or their coach): the coach may, another coach gets 404.
COACH_OBJECT = expect(anonymous=LOGIN, coach=OK, other_coach=404)
# An object of the patient: the patient may, another patient gets 404.
PATIENT_OBJECT = expect(anonymous=LOGIN, patient=OK, other_patient=404)
ALWAYS_LOGIN_PAGE = dict.fromkeys(ACTORS, LOGIN)
# One of the patient's own sign-in sessions: only they may end it; to everyone else it does not exist.
OWN_SESSION = {**dict.fromkeys(ACTORS, 404), "anonymous": LOGIN, "patient": OK}
# Phone notifications: patients and coaches, each their own browsers; admins have none.
PUSH_SUBSCRIBERS = expect(anonymous=LOGIN, patient=OK, other_patient=OK, coach=OK, other_coach=OK)
OWN_PUSH_DEVICE = {**dict.fromkeys(ACTORS, 404), "anonymous": LOGIN, "patient": OK, "admin": 403}
# A library item the coach wrote: the coach and admins change it; another coach only reads it (403).
OWNER_OR_ADMIN = expect(anonymous=LOGIN, coach=OK, admin=OK)


@dataclass(frozen=True)
class Rule:
    expected: dict[str, object]
    args: Callable[[dict], dict] = lambda w: {}
    fresh_client: bool = False  # the request ends the session (sign-out)


def _patient(w):
    return {"patient_id": w["patient"].id}


def _plan(w):
    return {"patient_id": w["patient"].id, "plan_id": w["plan"].id}


def _plan_item(w):
    return {**_plan(w), "item_id": w["plan_item"].id}


def _program(w):
    return {"program_id": w["program"].id}


def _program_item(w):
    return {**_program(w), "item_id": w["program_item"].id}


def _patient_session(w):
    """A sign-in session of the patient on another device, made when the rule runs (another rule may end them all)."""
    row, _secret = sessions.start(w["patient"], user_agent="Mozilla/5.0 (Android 14) Firefox/128.0")
    _db.session.commit()
    return {"session_id": row.id}


def _push_device(w):
    """A browser of the patient with notifications on (made when the rule runs: turning it off deletes it)."""
    row = PushSubscription(
        user_id=w["patient"].id,
        endpoint=f"https://push.example/{w['patient'].id}/{utcnow().timestamp()}",
        p256dh="B" + "A" * 86,
        auth="A" * 22,
    )
    _db.session.add(row)
    _db.session.commit()
    return {"sub_id": row.id}


def _item_media(w):
    """The readable item with a picture of its own (stored when the rule runs)."""
    item = w["item"]
    if item.media_digest is None:
        out = io.BytesIO()
        Image.new("RGB", (40, 30), (10, 20, 30)).save(out, "PNG")
        out.seek(0)
        item.media_kind, item.media_type = "picture", "image/png"
        item.media_digest = item.media_thumb_digest = media_store().put(out, "image/png")
        _db.session.commit()
    return {"item_id": item.id, "digest": item.media_digest, "ext": "png"}


def _on_call(w):
    """One of the clinic's on-call contacts (added when the rule runs: removing it ends it)."""
    contact = OnCallContact(clinic_id=w["clinic"].id, name="Dr. Night", email="night@example.org", phone="-")
    _db.session.add(contact)
    _db.session.commit()
    return {"clinic_id": w["clinic"].id, "contact_id": contact.id}


def _escalated_alert(w):
    """An escalated red-flag alert of the other coach's patient (made when the rule runs)."""
    alert = _db.session.scalar(_db.select(Alert).where(Alert.patient_id == w["other_patient"].id, Alert.open_key == 1))
    if alert is None:
        alert = Alert(patient_id=w["other_patient"].id, kind="red_flag", tier="emergency", severity=0, summary="r")
        _db.session.add(alert)
    alert.escalated_at, alert.acknowledged_at, alert.acknowledged_by_id = utcnow(), None, None
    _db.session.commit()
    return {"alert_id": alert.id}


def _victim(w):
    return {"user_id": w["victim"].id}


MATRIX: dict[tuple[str, str], Rule] = {
    # Public and account pages.
    ("static", "GET"): Rule(PUBLIC, lambda w: {"filename": "css/app.css"}),
    ("auth.index", "GET"): Rule(SIGNED_IN),  # anonymous visitors are sent to the login page
    ("auth.healthz", "GET"): Rule(PUBLIC),
    ("auth.login", "GET"): Rule(PUBLIC),
    ("auth.login", "POST"): Rule(PUBLIC),
    # The sign-in page's language link: it stores the choice and goes (back) to the login page.
    ("auth.choose_language", "GET"): Rule(ALWAYS_LOGIN_PAGE, lambda w: {"code": "es"}),
    ("auth.two_factor", "GET"): Rule({**dict.fromkeys(ACTORS, OK), "anonymous": LOGIN}),
    ("auth.two_factor", "POST"): Rule({**dict.fromkeys(ACTORS, OK), "anonymous": LOGIN}),
    ("auth.logout", "POST"): Rule(ALWAYS_LOGIN_PAGE, fresh_client=True),
    ("auth.forgot_password", "GET"): Rule(PUBLIC),
    ("auth.forgot_password", "POST"): Rule(PUBLIC),
    ("auth.reset_password", "GET"): Rule(PUBLIC, lambda w: {"token": "not-a-real-token"}),
    ("auth.reset_password", "POST"): Rule(PUBLIC, lambda w: {"token": "not-a-real-token"}),
    ("auth.accept_invitation", "GET"): Rule(PUBLIC, lambda w: {"token": "not-a-real-token"}),
    ("auth.accept_invitation", "POST"): Rule(PUBLIC, lambda w: {"token": "not-a-real-token"}),
    ("auth.account", "GET"): Rule(SIGNED_IN),
    ("auth.account", "POST"): Rule(SIGNED_IN),
    ("auth.two_factor_setup", "GET"): Rule(SIGNED_IN),
    ("auth.two_factor_setup", "POST"): Rule(SIGNED_IN),
    ("auth.two_factor_disable", "POST"): Rule(SIGNED_IN),
    ("auth.two_factor_recovery_codes", "POST"): Rule(SIGNED_IN),
    ("auth.end_session", "POST"): Rule(OWN_SESSION, _patient_session),
    ("auth.end_other_sessions", "POST"): Rule(SIGNED_IN),
    # Admin area.
    ("admin.home", "GET"): Rule(ADMIN_ONLY),
    ("admin.accounts", "GET"): Rule(ADMIN_ONLY),
    ("admin.create_account_view", "GET"): Rule(ADMIN_ONLY),
    ("admin.create_account_view", "POST"): Rule(ADMIN_ONLY),
    ("admin.account_detail", "GET"): Rule(ADMIN_ONLY, _victim),
    ("admin.edit_account", "GET"): Rule(ADMIN_ONLY, _victim),
    ("admin.edit_account", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.deactivate_account", "GET"): Rule(ADMIN_ONLY, _victim),
    ("admin.deactivate_account", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.reactivate_account", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.reassign_patient", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.send_link", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.end_sessions", "POST"): Rule(ADMIN_ONLY, _victim),
    ("admin.reset_two_factor", "POST"): Rule(ADMIN_ONLY, lambda w: {"user_id": w["staff_victim"].id}),
    ("admin.audit_log", "GET"): Rule(ADMIN_ONLY),
    ("admin.audit_log_csv", "GET"): Rule(ADMIN_ONLY),
    # Outcomes: staff only; a coach's figures are narrowed to their own patients (tests/test_outcomes_pages.py).
    ("outcomes.page", "GET"): Rule(STAFF),
    ("outcomes.report_csv", "GET"): Rule(STAFF),
    ("outcomes.patients_csv", "GET"): Rule(ADMIN_ONLY),
    ("admin.clinics", "GET"): Rule(ADMIN_ONLY),
    ("admin.consent_texts", "GET"): Rule(ADMIN_ONLY),
    ("admin.edit_consent_texts", "GET"): Rule(ADMIN_ONLY, lambda w: {"clinic_id": w["clinic"].id}),
    ("admin.edit_consent_texts", "POST"): Rule(ADMIN_ONLY, lambda w: {"clinic_id": w["clinic"].id}),
    ("admin.edit_clinic", "GET"): Rule(ADMIN_ONLY, lambda w: {"clinic_id": w["clinic"].id}),
    ("admin.edit_clinic", "POST"): Rule(ADMIN_ONLY, lambda w: {"clinic_id": w["clinic"].id}),
    ("admin.add_on_call", "POST"): Rule(ADMIN_ONLY, lambda w: {"clinic_id": w["clinic"].id}),
    ("admin.remove_on_call", "POST"): Rule(ADMIN_ONLY, _on_call),
    ("admin.safety", "GET"): Rule(ADMIN_ONLY),
    ("admin.safety_csv", "GET"): Rule(ADMIN_ONLY),
    ("admin.acknowledge_escalated", "POST"): Rule(ADMIN_ONLY, _escalated_alert),
    # Coaching: roster, patients and their plans, alerts, programs.
    ("coaching.roster", "GET"): Rule(COACHES),
    ("coaching.alerts", "GET"): Rule(COACHES),
    ("coaching.resolve", "POST"): Rule(COACH_OBJECT, lambda w: {"alert_id": w["alert"].id}),
    # Before it is escalated, only the patient's coach may acknowledge an alert (after, every coach of the clinic).
    ("coaching.acknowledge", "POST"): Rule(COACH_OBJECT, lambda w: {"alert_id": w["alert"].id}),
    ("coaching.patient_detail", "GET"): Rule(COACH_OBJECT, _patient),
    ("coaching.patient_checkins", "GET"): Rule(COACH_OBJECT, _patient),
    ("coaching.resume_patient_exercises", "POST"): Rule(COACH_OBJECT, _patient),
    ("coaching.patient_progress_data", "GET"): Rule(COACH_OBJECT, _patient),
    ("coaching.assign_plan", "POST"): Rule(COACH_OBJECT, _patient),
    ("coaching.edit_plan_details", "GET"): Rule(COACH_OBJECT, _plan),
    ("coaching.edit_plan_details", "POST"): Rule(COACH_OBJECT, _plan),
    ("coaching.end_plan", "POST"): Rule(COACH_OBJECT, _plan),
    ("coaching.plan_item_picker", "GET"): Rule(COACH_OBJECT, _plan),
    ("coaching.add_plan_items", "POST"): Rule(COACH_OBJECT, _plan),
    ("coaching.edit_plan_item", "GET"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.edit_plan_item", "POST"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.move_plan_item", "POST"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.remove_plan_item", "POST"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.pause_plan_item", "POST"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.resume_plan_item", "POST"): Rule(COACH_OBJECT, _plan_item),
    ("coaching.programs", "GET"): Rule(COACHES),
    ("coaching.new_program", "GET"): Rule(COACHES),
    ("coaching.new_program", "POST"): Rule(COACHES),
    ("coaching.program_detail", "GET"): Rule(COACH_OBJECT, _program),
    ("coaching.edit_program", "GET"): Rule(COACH_OBJECT, _program),
    ("coaching.edit_program", "POST"): Rule(COACH_OBJECT, _program),
    ("coaching.duplicate_program", "POST"): Rule(COACH_OBJECT, _program),
    ("coaching.archive_program", "POST"): Rule(COACH_OBJECT, lambda w: {"program_id": w["program_to_archive"].id}),
    ("coaching.program_item_picker", "GET"): Rule(COACH_OBJECT, _program),
    ("coaching.add_program_items", "POST"): Rule(COACH_OBJECT, _program),
    ("coaching.edit_program_item", "GET"): Rule(COACH_OBJECT, _program_item),
    ("coaching.edit_program_item", "POST"): Rule(COACH_OBJECT, _program_item),
    ("coaching.move_program_item", "POST"): Rule(COACH_OBJECT, _program_item),
    ("coaching.remove_program_item", "POST"): Rule(COACH_OBJECT, _program_item),
    # The library: everyone signed in reads; a coach adds items and changes their own (the rest by
    # owner: test_library_items_by_owner), copies the others; admins change every item.
    ("exercises.browse", "GET"): Rule(SIGNED_IN),
    ("exercises.detail", "GET"): Rule(SIGNED_IN, lambda w: {"item_id": w["item"].id}),
    ("exercises.picture", "GET"): Rule(
        SIGNED_IN, lambda w: {"name": "p-kind-exercise", "digest": drawing("p-kind-exercise").digest}
    ),
    ("exercises.drawings", "GET"): Rule(expect(anonymous=LOGIN, coach=OK, other_coach=OK, admin=OK)),
    ("exercises.create", "GET"): Rule(COACHES),
    ("exercises.create", "POST"): Rule(COACHES),
    ("exercises.edit", "GET"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["own_item"].id}),
    ("exercises.edit", "POST"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["own_item"].id}),
    ("exercises.save_item_translation", "POST"): Rule(
        OWNER_OR_ADMIN, lambda w: {"item_id": w["own_item"].id, "locale": "es"}
    ),
    ("exercises.retire", "POST"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["item_to_retire"].id}),
    ("exercises.restore", "POST"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["retired_item"].id}),
    ("exercises.duplicate", "POST"): Rule(COACHES, lambda w: {"item_id": w["item"].id}),
    # An item's own picture or video: read like the item; uploaded and removed like an edit.
    ("exercises.media", "GET"): Rule(SIGNED_IN, _item_media),
    ("exercises.upload_media", "POST"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["own_item"].id}),
    ("exercises.remove_item_media", "POST"): Rule(OWNER_OR_ADMIN, lambda w: {"item_id": w["own_item"].id}),
    # The patient's own pages: each patient sees only their own data.
    ("patients.today", "GET"): Rule(PATIENTS),
    # "Before we start" and the texts agreed to: the patient's own, of their own clinic.
    ("patients.consent", "GET"): Rule(PATIENTS),
    ("patients.consent", "POST"): Rule(PATIENTS),
    ("patients.agreements", "GET"): Rule(PATIENTS),
    # "About your back" and the goals: the signed-in patient's own (ids are step numbers, not objects).
    ("patients.intake", "GET"): Rule(PATIENTS),
    ("patients.intake_step", "GET"): Rule(PATIENTS, lambda w: {"number": 1}),
    ("patients.intake_step", "POST"): Rule(PATIENTS, lambda w: {"number": 1}),
    ("patients.rate_goals", "GET"): Rule(PATIENTS),
    ("patients.rate_goals", "POST"): Rule(PATIENTS),
    ("patients.goals_data", "GET"): Rule(PATIENTS),
    ("patients.mark_item", "POST"): Rule(PATIENT_OBJECT, lambda w: {"plan_item_id": w["plan_item"].id}),
    ("patients.my_plan", "GET"): Rule(PATIENTS),
    ("patients.dismiss_plan_changes", "POST"): Rule(PATIENTS),  # closes only the signed-in patient's own box
    ("patients.dismiss_resume_notice", "POST"): Rule(PATIENT_OBJECT, lambda w: {"alert_id": w["alert"].id}),
    # The session's steps are numbered within the signed-in patient's own day: step 1 is
    # their first movement (or, with none, the summary); a step beyond it does not exist.
    ("patients.session_start", "GET"): Rule(PATIENTS),
    ("patients.session_step", "GET"): Rule(PATIENTS, lambda w: {"step": 1}),
    # The step is of the signed-in patient's own session: no other patient's object is involved.
    ("patients.session_done", "POST"): Rule(PATIENTS, lambda w: {"step": 1}),
    ("patients.plan_print", "GET"): Rule(PATIENTS),
    ("patients.plan_calendar_file", "GET"): Rule(PATIENTS),
    ("patients.checkin", "GET"): Rule(PATIENTS),
    ("patients.checkin", "POST"): Rule(PATIENTS),
    ("patients.checkin_day", "GET"): Rule(PATIENTS, lambda w: {"day": w["checkin_day"].isoformat()}),
    ("patients.history", "GET"): Rule(PATIENTS),
    ("patients.weekly_check", "GET"): Rule(PATIENTS),
    ("patients.weekly_check", "POST"): Rule(PATIENTS),
    ("patients.progress", "GET"): Rule(PATIENTS),
    ("patients.progress_data", "GET"): Rule(PATIENTS),
    ("patients.export_json", "GET"): Rule(PATIENTS),
    ("patients.export_csv", "GET"): Rule(PATIENTS),
    # Messages.
    ("messaging.patient_thread", "GET"): Rule(PATIENTS),
    ("messaging.patient_thread", "POST"): Rule(PATIENTS),
    ("messaging.coach_inbox", "GET"): Rule(COACHES),
    # Text reminders: each patient their own; the provider's inbound replies need its signature (403 without).
    ("texts.reminders", "GET"): Rule(PATIENTS),
    ("texts.send_code", "POST"): Rule(PATIENTS),
    ("texts.verify", "POST"): Rule(PATIENTS),
    ("texts.send_test", "POST"): Rule(PATIENTS),
    ("texts.turn_off", "POST"): Rule(PATIENTS),
    ("texts.save_settings", "POST"): Rule(PATIENTS),
    ("texts.inbound", "POST"): Rule(dict.fromkeys(ACTORS, 403)),
    # Phone notifications: the key and the service worker are public; patients and coaches keep their own devices.
    ("push.public_key", "GET"): Rule(PUBLIC),
    ("push.service_worker", "GET"): Rule(PUBLIC),
    ("push.subscribe", "POST"): Rule(PUSH_SUBSCRIBERS),
    ("push.unsubscribe", "DELETE"): Rule(PUSH_SUBSCRIBERS),
    ("push.preferences", "POST"): Rule(PUSH_SUBSCRIBERS),
    ("push.turn_off", "POST"): Rule(OWN_PUSH_DEVICE, _push_device),
    ("push.send_test", "POST"): Rule(OWN_PUSH_DEVICE, _push_device),
    ("messaging.coach_thread", "GET"): Rule(COACH_OBJECT, _patient),
    ("messaging.coach_thread", "POST"): Rule(COACH_OBJECT, _patient),
    # The JSON API: the browser's cookie opens none of it (bearer tokens only: test_api_authorization_matrix).
    # FHIR downloads: the patient's own, the coach's patient, the practice's files for admins.
    ("fhir.my_record", "GET"): Rule(PATIENTS),
    ("fhir.patient_record", "GET"): Rule(COACH_OBJECT, _patient),
    ("fhir.bulk_files", "GET"): Rule(ADMIN_ONLY),
    ("fhir.bulk_file", "GET"): Rule(expect(anonymous=LOGIN, admin=404), lambda w: {"kind": "Patient"}),
    ("api-docs.openapi_json", "GET"): Rule(PUBLIC),
    ("api_reference.reference", "GET"): Rule(PUBLIC),
    ("api_reference.problem_index", "GET"): Rule(PUBLIC),
    ("api_reference.problem_page", "GET"): Rule(PUBLIC, lambda w: {"code": "item_paused"}),
    ("api.issue_token", "POST"): Rule(PUBLIC),  # a form body is refused (422): the API takes JSON
    ("api.refresh_token", "POST"): Rule(PUBLIC),
}


def _alert(w):
    return {"alert_id": w["alert"].id}


def _api_patient_item(w):
    return {"patient_id": w["patient"].id, "item_id": w["plan_item"].id}


def _api_plan_item(w):
    return {"plan_item_id": w["plan_item"].id}


NO_COOKIE = dict.fromkeys(ACTORS, 401)
# The API with bearer tokens: anonymous is 401; the other roles 403; someone else's object 404.
API_SIGNED_IN = {**dict.fromkeys(ACTORS, OK), "anonymous": 401}
API_PATIENTS = {**expect(patient=OK, other_patient=OK), "anonymous": 401}
API_PATIENT_OBJECT = {**expect(patient=OK, other_patient=404), "anonymous": 401}
API_COACHES = {**expect(coach=OK, other_coach=OK), "anonymous": 401}
API_COACH_OBJECT = {**expect(coach=OK, other_coach=404), "anonymous": 401}
_CHECKIN = {"pain": 3, "stiffness": 2}
API_MATRIX: dict[tuple[str, str], tuple[Rule, dict | None]] = {
    ("api.revoke_token", "POST"): (Rule(API_SIGNED_IN, fresh_client=True), None),
    ("api.get_profile", "GET"): (Rule(API_SIGNED_IN), None),
    ("api.update_profile", "PATCH"): (Rule(API_SIGNED_IN), {"language": "en"}),
    ("api.get_today", "GET"): (Rule(API_PATIENTS), None),
    ("api.my_fhir_record", "GET"): (Rule(API_PATIENTS), None),
    ("api.patient_fhir_record", "GET"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.consent_status", "GET"): (Rule(API_PATIENTS), None),
    ("api.get_intake", "GET"): (Rule(API_PATIENTS), None),
    ("api.save_intake_step", "PUT"): (Rule(API_PATIENTS, lambda w: {"number": 1}), {"answers": {"where": "neck"}}),
    ("api.get_goals", "GET"): (Rule(API_PATIENTS), None),
    ("api.rate_goals", "POST"): (Rule(API_PATIENTS), {"new": [{"activity": "Walking", "score": 4}]}),
    ("api.give_consent_route", "POST"): (Rule(API_PATIENTS), {"version": 1, "agreement": True, "privacy": True}),
    ("api.mark_item", "PUT"): (Rule(API_PATIENT_OBJECT, _api_plan_item), {"sessions_done": 1}),
    ("api.list_checkins", "GET"): (Rule(API_PATIENTS), None),
    ("api.get_todays_checkin", "GET"): (Rule(API_PATIENTS), None),
    ("api.save_todays_checkin", "PUT"): (Rule(API_PATIENTS), _CHECKIN),
    # Runs after the PUT above (sorted order), so each patient has a check-in to change.
    ("api.update_todays_checkin", "PATCH"): (Rule(API_PATIENTS), {"notes": "Better today"}),
    ("api.get_peg", "GET"): (Rule(API_PATIENTS), None),
    ("api.save_peg", "PUT"): (
        Rule(API_PATIENTS),
        {"pain_average": 3, "enjoyment_interference": 2, "activity_interference": 2},
    ),
    ("api.get_progress", "GET"): (Rule(API_PATIENTS), None),
    ("api.get_plan", "GET"): (Rule(API_PATIENTS), None),
    ("api.get_plan_item", "GET"): (Rule(API_PATIENT_OBJECT, _api_plan_item), None),
    ("api.list_my_messages", "GET"): (Rule(API_PATIENTS), None),
    ("api.send_my_message", "POST"): (Rule(API_PATIENTS), {"body": "Hello"}),
    ("api.mark_my_messages_read", "POST"): (Rule(API_PATIENTS), None),
    ("api.roster", "GET"): (Rule(API_COACHES), None),
    ("api.patient_summary", "GET"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.patient_checkins", "GET"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.patient_progress", "GET"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.patient_messages", "GET"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.send_patient_message", "POST"): (Rule(API_COACH_OBJECT, _patient), {"body": "Hello"}),
    ("api.list_alerts", "GET"): (Rule(API_COACHES), None),
    ("api.acknowledge", "POST"): (Rule(API_COACH_OBJECT, _alert), None),
    ("api.pause_plan_item", "POST"): (Rule(API_COACH_OBJECT, _api_patient_item), {"reason": "Rest the knee"}),
    # Sorted after the pause above, so the item is paused when its resume runs (the other coach gets 404).
    ("api.resume_plan_item", "POST"): (Rule(API_COACH_OBJECT, _api_patient_item), None),
    ("api.resume_patient_exercises", "POST"): (Rule(API_COACH_OBJECT, _patient), None),
    ("api.resolve", "POST"): (Rule(API_COACH_OBJECT, _alert), {"note": "Called the patient."}),
}
for _key, (_rule, _body) in API_MATRIX.items():
    MATRIX[_key] = Rule(NO_COOKIE, _rule.args)


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@pytest.fixture(autouse=True)
def empty_fhir_export_folder(app, tmp_path, monkeypatch):
    """The bulk-export download is a 404 until an export ran: each test gets an empty export folder
    (the FHIR tests, in the same worker, leave their files in the shared one)."""
    monkeypatch.setitem(app.config, "FHIR_EXPORT_DIR", str(tmp_path / "fhir-export"))


def test_every_route_is_in_the_matrix(app):
    routes = _routes(app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, f"routes without an authorization rule in tests/test_authz_matrix.py: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


@pytest.fixture
def world(make_user, make_clinic, db, clinic):
    coach = make_user(Role.COACH, name="Coach One")
    other_coach = make_user(Role.COACH, name="Coach Two")
    patient = make_user(Role.PATIENT, coach=coach, name="Patient One")
    other_patient = make_user(Role.PATIENT, coach=other_coach, name="Patient Two")
    victim = make_user(Role.PATIENT, coach=coach, name="Admin Target")
    staff_victim = make_user(Role.COACH, name="Coach Three")
    admin = make_user(Role.ADMIN, name="Admin One")
    item = make_item(title="Cat-cow stretch")
    plan = make_plan(patient, coach, [item, make_item(title="Pelvic tilt")])
    make_plan(other_patient, other_coach, [make_item(title="Bridge")])
    program = make_program(coach, [item])
    program_to_archive = make_program(coach, [item])
    yesterday = local_today(patient.tz) - timedelta(days=1)
    checkins = [CheckIn(patient_id=p.id, day=yesterday, pain=4, stiffness=3) for p in (patient, other_patient)]
    db.session.add_all(checkins)
    db.session.flush()
    alert = Alert(patient_id=patient.id, kind="pain_worsening", summary="Pain rising", checkin_id=checkins[0].id)
    db.session.add(alert)
    db.session.add(Message(patient_id=patient.id, sender_id=patient.id, recipient_id=coach.id, body="Hello coach"))
    retired_item = make_item(title="Old stretch", is_active=False, created_by_id=coach.id)
    db.session.commit()
    return {
        "coach": coach,
        "other_coach": other_coach,
        "patient": patient,
        "other_patient": other_patient,
        "victim": victim,
        "staff_victim": staff_victim,
        "admin": admin,
        "clinic": clinic,
        "item": item,
        "own_item": make_item(title="Coach One's stretch", created_by_id=coach.id),
        "item_to_retire": make_item(title="Retire me", created_by_id=coach.id),
        "retired_item": retired_item,
        "plan": plan,
        "plan_item": plan.items[0],
        "program": program,
        "program_item": program.items[0],
        "program_to_archive": program_to_archive,
        "checkin_day": yesterday,
        "alert": alert,
    }


def _outcome(response) -> object:
    status = response.status_code
    assert status < 500, f"server error {status}"
    if status in (301, 302, 303) and urlsplit(response.headers["Location"]).path == "/login":
        return LOGIN
    if status in (401, 403, 404):
        return status
    return OK


class Clients:
    """One signed-in client per actor (a fresh one for requests that end the session)."""

    def __init__(self, app: Flask, world: dict) -> None:
        self.app, self.world = app, world
        self._cache: dict[str, tuple[FlaskClient, str]] = {}

    def make(self, actor: str) -> tuple[FlaskClient, str]:
        client = self.app.test_client()
        if actor == "anonymous":
            return client, csrf_token(client, "/login")
        assert login(client, self.world[actor]).status_code == 302
        return client, csrf_token(client, "/account")

    def get(self, actor: str, fresh: bool = False) -> tuple[FlaskClient, str]:
        if fresh:
            return self.make(actor)
        if actor not in self._cache:
            self._cache[actor] = self.make(actor)
        return self._cache[actor]


def test_authorization_matrix(app, world):
    from flask import url_for

    clients = Clients(app, world)
    failures = []
    for (endpoint, method), rule in sorted(MATRIX.items()):
        with app.test_request_context():
            path = url_for(endpoint, **rule.args(world))
        for actor in ACTORS:
            client, token = clients.get(actor, fresh=rule.fresh_client)
            if method == "GET":
                response = client.get(path)
            else:
                response = client.open(path, method=method, data={"csrf_token": token})
            try:
                got = _outcome(response)
            except AssertionError as error:
                failures.append(f"{method} {path} as {actor}: {error}")
                continue
            if got != rule.expected[actor]:
                failures.append(
                    f"{method} {path} as {actor}: expected {rule.expected[actor]}, got {got} ({response.status_code})"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "actor,path",
    [
        ("coach", "/coach/patients/999999"),
        ("coach", "/messages/patients/999999"),
        ("coach", "/coach/programs/999999"),
        ("admin", "/admin/accounts/999999"),
        ("admin", "/admin/clinics/999999/edit"),
        ("patient", "/library/999999"),
    ],
)
def test_ids_that_do_not_exist_are_404(app, world, actor, path):
    client, _ = Clients(app, world).make(actor)
    assert client.get(path).status_code == 404


def test_a_coach_cannot_reach_another_coachs_patient_by_any_route(app, world):
    """Every route that takes a patient id, tried with the other coach's patient: all 404."""
    from flask import url_for

    client, token = Clients(app, world).make("coach")
    w = {**world, "patient": world["other_patient"]}
    for (endpoint, method), rule in MATRIX.items():
        if rule.expected is not COACH_OBJECT or rule.args not in (_patient,):
            continue
        with app.test_request_context():
            path = url_for(endpoint, **rule.args(w))
        response = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})
        assert response.status_code == 404, f"{method} {path}"


# --- the library by owner ------------------------------------------------------

LIBRARY_OWNERS = ("coach", "other_coach", None)  # None: a starter item of the practice
MANAGERS = {"coach": {"coach"}, "other_coach": {"other_coach"}, None: set()}


@pytest.mark.parametrize("owner", LIBRARY_OWNERS, ids=["own", "other_coachs", "starter"])
def test_library_items_by_owner(app, world, db, owner):
    """Edit, retire, restore as each actor, on an item of each owner; buttons only where allowed."""
    from flask import url_for

    from portal.exercises.models import LibraryItem

    author = world[owner].id if owner else None
    clients = Clients(app, world)
    failures = []
    for actor in ("patient", "other_coach", "coach", "admin"):
        may = actor == "admin" or actor in MANAGERS[owner]
        item = make_item(title=f"Item of {owner} for {actor}", created_by_id=author)
        client, token = clients.get(actor)
        with app.test_request_context():
            paths = {
                "edit": url_for("exercises.edit", item_id=item.id),
                "retire": url_for("exercises.retire", item_id=item.id),
                "restore": url_for("exercises.restore", item_id=item.id),
            }
        html = client.get(f"/library/{item.id}").get_data(as_text=True)
        if (paths["edit"] in html) != may:
            failures.append(f"{actor} on {owner}'s item: edit button shown={not may}")
        if (f"/library/{item.id}/duplicate" in html) != (actor.endswith("coach") and not may):
            failures.append(f"{actor} on {owner}'s item: wrong duplicate button")
        edit_form = client.get(paths["edit"])
        retired = client.post(paths["retire"], data={"csrf_token": token})
        db.session.expire_all()
        after_retire = db.session.get(LibraryItem, item.id).is_active
        if may:
            if edit_form.status_code != 200 or retired.status_code != 302 or after_retire:
                failures.append(f"{actor} on {owner}'s item: should edit and retire")
            restored = client.post(paths["restore"], data={"csrf_token": token})
            db.session.expire_all()
            if restored.status_code != 302 or not db.session.get(LibraryItem, item.id).is_active:
                failures.append(f"{actor} on {owner}'s item: should restore")
        else:
            # Read-only: refused with 403 (the item is visible to them), and nothing changes.
            if edit_form.status_code != 403 or retired.status_code != 403 or not after_retire:
                failures.append(
                    f"{actor} on {owner}'s item: expected 403, got {edit_form.status_code}/{retired.status_code}"
                )
            changed = client.post(paths["edit"], data={"csrf_token": token, "title": "Hijacked", "kind": "exercise"})
            db.session.expire_all()
            if changed.status_code != 403 or db.session.get(LibraryItem, item.id).title == "Hijacked":
                failures.append(f"{actor} on {owner}'s item: edit POST not refused")
    assert not failures, "\n".join(failures)


def test_a_coach_duplicates_a_starter_item_into_their_own(app, world, db):
    from portal.exercises.models import LibraryItem

    starter = make_item(title="Starter bridge", instructions="Lie down.\nLift.", cautions="Go slowly.")
    client, token = Clients(app, world).make("other_coach")
    response = client.post(f"/library/{starter.id}/duplicate", data={"csrf_token": token})
    assert response.status_code == 302
    copy = db.session.scalar(
        db.select(LibraryItem).where(LibraryItem.id != starter.id, LibraryItem.title == "Starter bridge")
    )
    assert copy.created_by_id == world["other_coach"].id and copy.is_active and copy.slug != starter.slug
    assert (copy.instructions, copy.cautions, copy.kind) == (starter.instructions, starter.cautions, starter.kind)
    assert response.headers["Location"].endswith(f"/library/{copy.id}/edit")
    # Their copy is theirs to change; the starter item is untouched.
    assert client.get(f"/library/{copy.id}/edit").status_code == 200
    assert client.get(f"/library/{starter.id}/edit").status_code == 403


def _api_tokens(app: Flask, user) -> dict:
    from tests.conftest import PASSWORD, totp_code

    body = {"email": user.email, "password": PASSWORD}
    if user.role != Role.PATIENT:
        body["code"] = totp_code(user)
    response = app.test_client().post("/api/v1/auth/token", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def test_api_authorization_matrix(app, world):
    """The API with bearer tokens: the same object-level rules as the pages (404 for someone else's)."""
    from flask import url_for

    headers: dict[str, dict] = {}
    failures = []
    client = app.test_client()
    for (endpoint, method), (rule, body) in sorted(API_MATRIX.items()):
        with app.test_request_context():
            path = url_for(endpoint, **rule.args(world))
        for actor in ACTORS:
            if actor == "anonymous":
                auth = {}
            elif rule.fresh_client or actor not in headers:
                auth = _api_tokens(app, world[actor])
                if not rule.fresh_client:
                    headers[actor] = auth
            else:
                auth = headers[actor]
            response = client.open(path, method=method, json=body, headers=auth)
            try:
                got = _outcome(response)
            except AssertionError as error:
                failures.append(f"{method} {path} as {actor}: {error}")
                continue
            if got != rule.expected[actor]:
                failures.append(
                    f"{method} {path} as {actor}: expected {rule.expected[actor]}, got {got} ({response.status_code})"
                )
    assert not failures, "\n".join(failures)

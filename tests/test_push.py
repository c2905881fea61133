"""Phone notifications (web push): the public key, storing and removing a browser's subscription, the endpoint
guard (SSRF), and sending to a real local push service (tests/push_server.py) that checks the VAPID signature
against the portal's public key and decrypts the aes128gcm payload with the subscription's private key."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest
from flask import Flask

from portal import outbox, push, state
from portal.auth.models import UserSession
from portal.care.checkins import patient_today, save_checkin
from portal.crypto import b64url_decode, parse_vapid_key, vapid_public_key
from portal.extensions import db
from portal.outbox import MAX_ATTEMPTS
from portal.push import OutboundPush, PushSubscription
from portal.timeutil import utcnow
from tests.conftest import PASSWORD, change_password, csrf_token
from tests.push_server import push_service_fixture  # noqa: F401 - the push_service fixture
from tests.test_checkins import make_plan
from tests.test_i18n_templates import english_in, language_problems


def _rows(user_id: int | None = None) -> list[PushSubscription]:
    db.session.expire_all()
    query = db.select(PushSubscription).order_by(PushSubscription.id)
    if user_id is not None:
        query = query.where(PushSubscription.user_id == user_id)
    return list(db.session.scalars(query))


def _send_json(client, method: str, body, *, token: str | None = "page"):
    """A JSON request to /me/push-subscriptions as push.js sends it (CSRF token from the account page)."""
    headers = {"Accept": "application/json"}
    if token == "page":
        token = csrf_token(client, "/account")
    if token:
        headers["X-CSRFToken"] = token
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.open(
        "/me/push-subscriptions", method=method, data=data, headers=headers, content_type="application/json"
    )


def _post(client, body, *, token: str | None = "page"):
    return _send_json(client, "POST", body, token=token)


def _delete(client, body, *, token: str | None = "page"):
    return _send_json(client, "DELETE", body, token=token)


def test_public_key_is_the_portals_vapid_key(app, client):
    response = client.get("/push/public-key")
    assert response.status_code == 200
    key = response.get_json()["public_key"]
    assert key == push.application_server_key(app)
    raw = b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point, as PushManager.subscribe wants


def test_development_key_is_generated_into_instance_once(tmp_path):
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(ENV_NAME="development", VAPID_PRIVATE_KEY="")
    state.init_app(app)
    push.init_app(app)
    key_file = tmp_path / push.VAPID_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = push.application_server_key(app)
    assert first == vapid_public_key(parse_vapid_key(key_file.read_text()))
    again = Flask(__name__, instance_path=str(tmp_path))
    again.config.update(ENV_NAME="development", VAPID_PRIVATE_KEY="")
    state.init_app(again)
    push.init_app(again)
    assert push.application_server_key(again) == first  # kept across restarts: subscriptions stay valid


def test_development_key_makes_the_instance_folder_of_a_fresh_clone(tmp_path):
    # A fresh clone has no instance/ folder, and with a PostgreSQL DATABASE_URL nothing else makes it.
    instance = tmp_path / "instance"
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(ENV_NAME="development", VAPID_PRIVATE_KEY="")
    state.init_app(app)
    push.init_app(app)
    assert (instance / push.VAPID_KEY_FILE).is_file()


def test_subscribe_stores_the_browser_and_lists_it(patient_client, patient, push_service):
    sub = push_service.subscription()
    response = _post(patient_client, sub)
    assert response.status_code == 201
    [row] = _rows(patient.id)
    assert row.endpoint == sub["endpoint"] and row.p256dh == sub["keys"]["p256dh"] and row.auth == sub["keys"]["auth"]
    # The same browser again: the same row.
    assert _post(patient_client, sub).status_code == 200
    assert len(_rows()) == 1
    html = patient_client.get("/account").get_data(as_text=True)
    assert "Send a test notification" in html and ">Turn off<" in html
    assert "Turn on phone notifications" in html


def test_a_browser_another_account_had_now_notifies_the_new_one(login_as, patient, make_user, coach, push_service):
    sub = push_service.subscription()
    assert _post(login_as(patient), sub).status_code == 201
    other = make_user(coach=coach)
    assert _post(login_as(other), sub).status_code == 201
    assert [row.user_id for row in _rows()] == [other.id]


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        {"keys": {"p256dh": "x", "auth": "y"}},
        {"endpoint": "https://push.example/abc"},
        {"endpoint": "https://push.example/abc", "keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"endpoint": "https://push.example/abc", "keys": {"p256dh": "BAAA", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
        {"endpoint": 42, "keys": {"p256dh": "x", "auth": "y"}},
    ],
)
def test_bad_subscriptions_are_a_clear_400_and_store_nothing(patient_client, push_service, body):
    response = _post(patient_client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert _rows() == []


def test_wrong_auth_secret_length_is_refused(patient_client, push_service):
    sub = push_service.subscription()
    sub["keys"]["auth"] = "AAAA"
    assert _post(patient_client, sub).status_code == 400
    assert _rows() == []


def test_missing_csrf_token_is_refused(patient_client, push_service):
    response = _post(patient_client, push_service.subscription(), token=None)
    assert response.status_code == 400
    assert _rows() == []
    response = _delete(patient_client, {"endpoint": "https://push.example/x"}, token=None)
    assert response.status_code == 400


def test_admins_have_no_phone_notifications(admin_client, push_service):
    assert _post(admin_client, push_service.subscription()).status_code == 403
    assert _rows() == []


def test_delete_removes_only_the_users_own_subscription(login_as, patient, make_user, coach, push_service):
    mine, theirs = push_service.subscription(), push_service.subscription()
    client = login_as(patient)
    other = make_user(coach=coach)
    assert _post(client, mine).status_code == 201
    assert _post(login_as(other), theirs).status_code == 201
    # Someone else's endpoint: as if it did not exist, and nothing removed.
    assert _delete(client, {"endpoint": theirs["endpoint"]}).status_code == 404
    assert _delete(client, {"nope": 1}).status_code == 400
    assert _delete(client, "{broken").status_code == 400
    assert len(_rows()) == 2
    assert _delete(client, {"endpoint": mine["endpoint"]}).status_code == 204
    assert [row.user_id for row in _rows()] == [other.id]


def test_turn_off_form_deletes_that_device_only_for_its_owner(login_as, patient, make_user, coach, push_service):
    client = login_as(patient)
    assert _post(client, push_service.subscription()).status_code == 201
    [row] = _rows()
    other_client = login_as(make_user(coach=coach))
    token = csrf_token(other_client, "/account")
    assert other_client.post(f"/me/push-subscriptions/{row.id}/off", data={"csrf_token": token}).status_code == 404
    token = csrf_token(client, "/account")
    response = client.post(f"/me/push-subscriptions/{row.id}/off", data={"csrf_token": token})
    assert response.status_code == 302
    assert _rows() == []


# --- the endpoint guard ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/push/x",
        "https://localhost/push/x",
        "https://[::1]/push/x",
        "https://10.1.2.3/push/x",
        "https://172.16.0.1/push/x",
        "https://192.168.1.10/push/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/push/x",
        "https://[::ffff:127.0.0.1]/push/x",
        "https://100.64.0.1/push/x",
        "https://0.0.0.0/push/x",
        "https://224.0.0.1/push/x",
        "http://93.184.215.14/push/x",  # public, but not https
        "https://user:pw@93.184.215.14/push/x",
        "ftp://93.184.215.14/push/x",
        "https://93.184.215.14/push/\nx",
        "https:///push/x",
    ],
)
def test_endpoint_guard_refuses_local_and_non_https(endpoint):
    with pytest.raises(push.EndpointRefused):
        push.check_endpoint(endpoint, allow_local=False)


def test_endpoint_guard_accepts_a_public_https_address():
    target = push.check_endpoint("https://93.184.215.14:8443/wpush/v2/abc?x=1", allow_local=False)
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/wpush/v2/abc?x=1")
    assert target.origin == "https://93.184.215.14:8443"


def test_loopback_endpoint_is_refused_without_the_local_setting(app, patient_client, push_service):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = False
    response = _post(patient_client, push_service.subscription())
    assert response.status_code == 400
    assert "cannot be used" in response.get_json()["error"]
    assert _rows() == []


def test_a_stored_endpoint_is_checked_again_at_send_time(app, patient_client, push_service):
    assert _post(patient_client, push_service.subscription()).status_code == 201
    [row] = _rows()
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = False
    with pytest.raises(push.EndpointRefused):
        push.send(row, push.payload("Holistiq Coach", "Test", "http://127.0.0.1:5000/"))
    assert push_service.received == []


# --- sending ------------------------------------------------------------------------------------


def test_send_is_vapid_signed_aes128gcm_with_a_ttl_and_decrypts_to_the_generic_text(app, patient_client, push_service):
    sub = push_service.subscription()
    assert _post(patient_client, sub).status_code == 201
    [row] = _rows()
    push.send(row, push.payload("Holistiq Coach", "Time for your back plan", "http://127.0.0.1:5000/today"), ttl=600)
    db.session.commit()
    [got] = push_service.messages()
    assert got.vapid_ok, got.vapid_problem
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["ttl"] == "600"
    assert got.claims["aud"] == push_service.origin
    assert got.payload == {
        "title": "Holistiq Coach",
        "body": "Time for your back plan",
        "url": "http://127.0.0.1:5000/today",
    }
    assert _rows()[0].last_sent_at is not None


def test_a_410_from_the_push_service_removes_the_subscription(patient_client, push_service):
    sub = push_service.subscription()
    assert _post(patient_client, sub).status_code == 201
    push_service.status[push_service.path_of(sub)] = 410
    [row] = _rows()
    with pytest.raises(push.SubscriptionGone):
        push.send(row, push.payload("Holistiq Coach", "Test", "http://127.0.0.1:5000/"))
    db.session.commit()
    assert _rows() == []


def test_a_redirect_is_never_followed(patient_client, push_service):
    sub = push_service.subscription()
    assert _post(patient_client, sub).status_code == 201
    push_service.redirects[push_service.path_of(sub)] = f"{push_service.origin}/elsewhere"
    [row] = _rows()
    with pytest.raises(push.PushFailed):
        push.send(row, push.payload("Holistiq Coach", "Test", "http://127.0.0.1:5000/"))
    assert [r.path for r in push_service.received] == [push_service.path_of(sub)]


def test_the_connection_goes_to_the_checked_address_with_the_hosts_name(patient_client, push_service):
    sub = push_service.subscription(host="localhost")
    assert _post(patient_client, sub).status_code == 201
    [row] = _rows()
    push.send(row, push.payload("Holistiq Coach", "Test", "http://127.0.0.1:5000/"))
    [got] = push_service.messages()
    port = push_service.server.server_address[1]
    assert got.headers["host"] == f"localhost:{port}"
    assert got.claims["aud"] == f"http://localhost:{port}"


def test_service_worker_is_served_from_the_root_as_a_script(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    source = response.get_data(as_text=True)
    assert "showNotification" in source and "notificationclick" in source
    assert "parsed.origin === self.location.origin" in source  # only the portal's own pages open on tap


# --- through the outbox: the test notification, coaches' alerts and messages -----------------------------


def _subscribe(client, push_service) -> tuple[dict, PushSubscription]:
    sub = push_service.subscription()
    assert _post(client, sub).status_code == 201
    row = db.session.scalar(db.select(PushSubscription).where(PushSubscription.endpoint == sub["endpoint"]))
    return sub, row


def _push_rows() -> list[OutboundPush]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(OutboundPush).order_by(OutboundPush.id)))


def test_send_a_test_notification_reaches_the_push_service_once(patient_client, push_service):
    _sub, row = _subscribe(patient_client, push_service)
    token = csrf_token(patient_client, "/account")
    response = patient_client.post(f"/me/push-subscriptions/{row.id}/test", data={"csrf_token": token})
    assert response.status_code == 302
    [got] = push_service.wait_for(1)  # sent right after the response
    assert got.vapid_ok and got.headers["content-encoding"] == "aes128gcm"
    assert got.payload == {
        "title": "Holistiq Coach",
        "body": "This is a test notification. Notifications from the portal will come to this device.",
        "url": "http://127.0.0.1:5000/account",
    }
    outbox.deliver_due()  # the worker's round finds nothing left to send
    assert len(push_service.received) == 1
    [message] = _push_rows()
    assert message.sent_at is not None and message.recipient == str(row.id)
    page = patient_client.get("/account").get_data(as_text=True)
    assert "We sent a test notification to that device." in page


def test_spanish_preference_gets_the_test_notification_in_spanish(make_user, coach, login_as, push_service):
    client = login_as(make_user(coach=coach, language="es"))
    _sub, row = _subscribe(client, push_service)
    token = csrf_token(client, "/account")
    assert client.post(f"/me/push-subscriptions/{row.id}/test", data={"csrf_token": token}).status_code == 302
    [got] = push_service.wait_for(1)
    assert got.payload["body"] == (
        "Esta es una notificación de prueba. Las notificaciones del portal llegarán a este dispositivo."
    )


def test_a_410_in_the_outbox_removes_the_subscription_and_gives_the_message_up(patient, patient_client, push_service):
    sub, row = _subscribe(patient_client, push_service)
    push_service.status[push_service.path_of(sub)] = 410
    push.notify(patient.id, "Holistiq Coach", "Time for your back plan", "http://127.0.0.1:5000/me/")
    db.session.commit()
    outbox.deliver_due()
    assert _rows() == []
    [message] = _push_rows()
    assert message.sent_at is None and message.attempts == MAX_ATTEMPTS  # never tried again
    outbox.deliver_due()
    assert len(push_service.received) == 1


def test_a_push_service_that_is_down_is_retried_later(patient, patient_client, push_service):
    sub, _row = _subscribe(patient_client, push_service)
    push_service.status[push_service.path_of(sub)] = 503
    push.notify(patient.id, "Holistiq Coach", "Time for your back plan", "http://127.0.0.1:5000/me/")
    db.session.commit()
    assert outbox.deliver_due() == (0, 1)
    [message] = _push_rows()
    assert message.sent_at is None and message.attempts == 1 and message.next_attempt_at > utcnow()
    assert len(_rows()) == 1  # the subscription stays


def test_the_push_channel_carries_reminders_for_patients_with_a_device(
    patient, make_user, coach, patient_client, push_service
):
    _sub, row = _subscribe(patient_client, push_service)
    other = make_user(coach=coach)
    assert push.reminder_recipients([patient.id, other.id]) == {patient.id: [str(row.id)]}


def _coach_with_phone(coach, login_as, push_service, **choices) -> dict:
    client = login_as(coach)
    sub, _row = _subscribe(client, push_service)
    token = csrf_token(client, "/account")
    data = {"csrf_token": token, **{f"pushprefs-{name}": "y" for name, on in choices.items() if on}}
    assert client.post("/me/push/preferences", data=data).status_code == 302
    db.session.expire_all()
    return sub


@pytest.mark.parametrize(
    ("answer", "pushed"), [("rf_bladder_bowel", True), ("rf_fever", True), ("rf_activity_stopping", False)]
)
def test_coach_gets_a_generic_push_for_emergency_and_urgent_alerts(
    coach, patient, login_as, push_service, answer, pushed
):
    _coach_with_phone(coach, login_as, push_service, push_alerts=True)
    make_plan(db, patient, coach)
    save_checkin(patient, patient_today(patient), {"pain": 7, "stiffness": 6, answer: True})
    db.session.commit()
    outbox.deliver_due()
    got = push_service.messages()
    if not pushed:
        assert got == []
        return
    [notification] = got
    assert notification.payload == {
        "title": "Holistiq Coach",
        "body": "Urgent alert for a patient: open the portal",
        "url": "http://127.0.0.1:5000/coach/alerts",
    }
    # Nothing about the patient or the symptom.
    text = (notification.payload["title"] + " " + notification.payload["body"]).lower()
    for leaked in (patient.name.lower(), "bladder", "fever", "7", "pain"):
        assert leaked not in text


def test_no_alert_push_without_the_coachs_choice(coach, patient, login_as, push_service):
    _coach_with_phone(coach, login_as, push_service, push_messages=True)
    make_plan(db, patient, coach)
    save_checkin(patient, patient_today(patient), {"pain": 7, "stiffness": 6, "rf_bladder_bowel": True})
    db.session.commit()
    outbox.deliver_due()
    assert push_service.messages() == []


def test_new_message_push_for_coach_and_patient_in_their_language(coach, patient, login_as, push_service):
    coach.language = "es"
    db.session.commit()
    _coach_with_phone(coach, login_as, push_service, push_messages=True)
    patient_client = login_as(patient)
    token = csrf_token(patient_client, "/messages/")
    secret = "My pain was 8/10 after the fall"
    assert patient_client.post("/messages/", data={"body": secret, "csrf_token": token}).status_code == 302
    db.session.commit()
    outbox.deliver_due()
    [got] = push_service.messages()
    assert got.payload["body"] == "Tiene un mensaje nuevo de un paciente"
    assert got.payload["url"] == "http://127.0.0.1:5000/messages/inbox"
    assert "8/10" not in json.dumps(got.payload) and patient.name not in json.dumps(got.payload)


@pytest.mark.parametrize("role", ["patient", "coach"])
def test_the_section_speaks_spanish_with_devices_listed(make_user, coach, login_as, push_service, role):
    user = make_user(role, language="es", **({"coach": coach} if role == "patient" else {}))
    client = login_as(user)
    _subscribe(client, push_service)
    page = client.get("/account", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Activar las notificaciones en el teléfono" in page and "Enviar una notificación de prueba" in page
    # What push.js says comes from the page, in the reader's language too.
    assert 'data-msg-failed="No se pudieron activar las notificaciones en este navegador.' in page
    assert language_problems(page) == [] and english_in(page) == []


def test_a_user_keeps_at_most_ten_devices_the_oldest_goes(patient, patient_client, push_service):
    subs = [push_service.subscription() for _ in range(push.MAX_DEVICES + 1)]
    for sub in subs:
        assert _post(patient_client, sub).status_code == 201
    assert [row.endpoint for row in _rows(patient.id)] == [sub["endpoint"] for sub in subs[1:]]


def test_flask_keys_vapid_prints_a_key_production_accepts(app):
    result = app.test_cli_runner().invoke(args=["keys", "vapid"])
    assert result.exit_code == 0, result.output
    first, second = result.output.strip().splitlines()
    private = first.removeprefix("VAPID_PRIVATE_KEY=")
    assert second == f"# public key: {vapid_public_key(parse_vapid_key(private))}"


# --- a subscription belongs to the sign-in it was turned on in -------------------------------------------------


def _sessions_page_end(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, "/account")})


def test_signing_out_turns_off_that_browsers_notifications_only(login_as, patient, push_service):
    shared_phone, own_laptop = login_as(patient), login_as(patient)
    _subscribe(shared_phone, push_service)
    _sub, kept = _subscribe(own_laptop, push_service)
    assert shared_phone.post("/logout", data={"csrf_token": csrf_token(shared_phone, "/account")}).status_code == 302
    assert [row.id for row in _rows(patient.id)] == [kept.id]
    push.notify(patient.id, "Holistiq Coach", "Time for your back plan", "http://127.0.0.1:5000/today")
    db.session.commit()
    outbox.deliver_due()
    assert [got.path for got in push_service.messages()] == [push_service.path_of(_sub)]


def test_ending_a_session_from_the_list_turns_off_its_browser(login_as, patient, push_service):
    phone, laptop = login_as(patient), login_as(patient)
    _subscribe(phone, push_service)
    _sub, kept = _subscribe(laptop, push_service)
    [gone] = [row for row in _rows(patient.id) if row.id != kept.id]
    response = _sessions_page_end(laptop, f"/account/sessions/{gone.session_id}/end")
    assert response.status_code == 302
    assert [row.id for row in _rows(patient.id)] == [kept.id]
    html = laptop.get("/account").get_data(as_text=True)
    assert html.count(">Turn off<") == 1  # the device list shows only the browser still on


def test_signing_out_everywhere_else_keeps_only_this_browser(login_as, patient, push_service):
    phone, laptop = login_as(patient), login_as(patient)
    _subscribe(phone, push_service)
    _sub, kept = _subscribe(laptop, push_service)
    assert _sessions_page_end(laptop, "/account/sessions/end-others").status_code == 302
    assert [row.id for row in _rows(patient.id)] == [kept.id]


def test_admin_ending_a_users_sessions_and_deactivation_turn_off_every_browser(login_as, patient, admin, push_service):
    from portal.auth.accounts import set_active

    _subscribe(login_as(patient), push_service)
    _subscribe(login_as(patient), push_service)
    admin_client = login_as(admin)
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/end-sessions", data={"csrf_token": csrf_token(admin_client, "/admin/")}
    )
    assert response.status_code == 302
    assert _rows(patient.id) == []
    _subscribe(login_as(patient), push_service)
    set_active(patient, False)
    db.session.commit()
    assert _rows(patient.id) == []


def test_a_password_change_turns_off_the_other_browsers(login_as, patient, push_service):
    first, second = login_as(patient), login_as(patient)
    _subscribe(second, push_service)
    _sub, here = _subscribe(first, push_service)
    new_password = "a-brand-new-passphrase-77"
    response = change_password(first, PASSWORD, new_password)
    assert response.status_code == 302
    # This browser stays signed in (on a new session) and keeps its notifications; its account page ties them on.
    [kept] = _rows(patient.id)
    assert kept.id == here.id and kept.session_id is None
    first.get("/account")
    assert _post(first, _sub).status_code == 200  # what push.js does when it finds the browser's subscription
    assert _rows(patient.id)[0].session_id is not None
    assert first.post("/logout", data={"csrf_token": csrf_token(first, "/account")}).status_code == 302
    assert _rows(patient.id) == []


def test_a_sign_in_that_runs_out_of_time_keeps_the_reminders(app, login_as, patient, push_service):
    """Nobody signed out: the phone still gets its reminders, which are for the days the portal is not opened."""
    phone = login_as(patient)
    _sub, row = _subscribe(phone, push_service)
    for session_row in db.session.scalars(db.select(UserSession).where(UserSession.user_id == patient.id)):
        session_row.last_active_at -= timedelta(minutes=app.config["PATIENT_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert phone.get("/account").status_code == 302  # signed out by the idle limit
    [kept] = _rows(patient.id)
    assert kept.id == row.id and kept.session_id is None
    # Signing in again elsewhere, and out everywhere, turns it off: "everywhere" means every other place.
    laptop = login_as(patient)
    assert _sessions_page_end(laptop, "/account/sessions/end-others").status_code == 302
    assert _rows(patient.id) == []


def test_an_expired_session_purged_at_the_next_sign_in_keeps_its_browser(login_as, patient, push_service):
    phone = login_as(patient)
    _subscribe(phone, push_service)
    for session_row in db.session.scalars(db.select(UserSession).where(UserSession.user_id == patient.id)):
        session_row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login_as(patient)  # deletes the expired session
    [kept] = _rows(patient.id)
    assert kept.session_id is None


# --- urgency ---------------------------------------------------------------------------------------------------


def test_urgent_alerts_go_out_with_high_urgency_stored_in_the_row(coach, patient, login_as, push_service):
    sub = _coach_with_phone(coach, login_as, push_service, push_alerts=True)
    push_service.status[push_service.path_of(sub)] = 503  # the first try fails: the retry reads the stored row
    make_plan(db, patient, coach)
    save_checkin(patient, patient_today(patient), {"pain": 7, "stiffness": 6, "rf_bladder_bowel": True})
    db.session.commit()
    outbox.deliver_due()
    [message] = _push_rows()
    assert message.urgency == "high" and message.sent_at is None
    push_service.status.pop(push_service.path_of(sub))
    message.next_attempt_at = utcnow()
    db.session.commit()
    outbox.deliver_due()
    first, second = push_service.messages()
    assert first.urgency == second.urgency == "high"
    assert second.payload["body"] == "Urgent alert for a patient: open the portal"


def test_reminders_and_test_notifications_go_out_with_normal_urgency(patient, patient_client, push_service):
    _sub, row = _subscribe(patient_client, push_service)
    push.notify(patient.id, "Holistiq Coach", "Time for your back plan", "http://127.0.0.1:5000/today")
    db.session.commit()
    outbox.deliver_due()
    token = csrf_token(patient_client, "/account")
    assert patient_client.post(f"/me/push-subscriptions/{row.id}/test", data={"csrf_token": token}).status_code == 302
    push_service.wait_for(2)
    assert [got.urgency for got in push_service.messages()] == ["normal", "normal"]
    assert push_service.messages()[0].payload["body"] == "Time for your back plan"


def test_an_unknown_urgency_is_refused_when_queued():
    with pytest.raises(ValueError):
        push.OutboundPush(recipient="1", subject="", body="x", link="", urgency="urgent")

"""Phone notifications (web push): the public key, storing and removing a browser's subscription, the endpoint
guard (SSRF), and sending to a real local push service (tests/push_server.py) that checks the VAPID signature
against the portal's public key and decrypts the aes128gcm payload with the subscription's private key."""

from __future__ import annotations

import json
import stat

import pytest
from flask import Flask

from portal import push, state
from portal.crypto import b64url_decode, parse_vapid_key, vapid_public_key
from portal.extensions import db
from portal.push import PushSubscription
from tests.conftest import csrf_token
from tests.push_server import push_service_fixture  # noqa: F401 - the push_service fixture


def _rows(user_id: int | None = None) -> list[PushSubscription]:
    db.session.expire_all()
    query = db.select(PushSubscription).order_by(PushSubscription.id)
    if user_id is not None:
        query = query.where(PushSubscription.user_id == user_id)
    return list(db.session.scalars(query))


def _post(client, body, *, token: str | None = "page", content_type="application/json"):
    headers = {"Accept": "application/json"}
    if token == "page":
        token = csrf_token(client, "/account")
    if token:
        headers["X-CSRFToken"] = token
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/me/push-subscriptions", data=data, headers=headers, content_type=content_type)


def _delete(client, body, *, token: str | None = "page"):
    headers = {"Accept": "application/json"}
    if token == "page":
        token = csrf_token(client, "/account")
    if token:
        headers["X-CSRFToken"] = token
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.delete("/me/push-subscriptions", data=data, headers=headers, content_type="application/json")


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
    assert ">Turn off<" in html
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

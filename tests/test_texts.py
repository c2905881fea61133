"""Text reminders: codes to the phone on file, verification, test texts, STOP/START/HELP replies, all against
a real local HTTP fake of the provider (tests/sms_server.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal import outbox
from portal.extensions import db
from portal.messaging import texts
from portal.messaging.texts import OutboundText, TextCode, TextSubscription
from portal.push import PushSubscription
from portal.timeutil import utcnow
from tests.conftest import csrf_token
from tests.sms_server import SENDER, SID, TOKEN, sms_provider_fixture  # noqa: F401 - the sms_provider fixture

PHONE = "(214) 555-0123"
E164 = "+12145550123"
INBOUND = "http://localhost/sms/inbound"


@pytest.fixture
def texter(make_user, coach):
    return make_user(coach=coach, phone=PHONE)


@pytest.fixture
def texter_client(login_as, texter):
    return login_as(texter)


def _deliver():
    """The worker's round of the text outbox (texts sent right after a response are not sent again)."""
    outbox.deliver_due()


def _ask_code(client, sms_provider):
    token = csrf_token(client, "/account")
    response = client.post("/me/texts/code", data={"csrf_token": token, "txstart-submit": "y"})
    _deliver()
    return response


def _last_code(sms_provider) -> str:
    match = re.search(r"\b(\d{6})\b", sms_provider.bodies()[-1])
    assert match, sms_provider.bodies()
    return match.group(1)


def _verify(client, code):
    token = csrf_token(client, "/me/texts")
    return client.post("/me/texts/verify", data={"csrf_token": token, "txverify-code": code, "txverify-submit": "y"})


def _sign(params: dict[str, str], url: str = INBOUND, token: str = TOKEN) -> str:
    return texts.twilio_signature(token, url, params)


def _subscription(user) -> TextSubscription | None:
    db.session.expire_all()
    return db.session.scalar(db.select(TextSubscription).where(TextSubscription.user_id == user.id))


def test_account_page_has_the_reminders_section(texter_client):
    html = texter_client.get("/account").get_data(as_text=True)
    assert ">Reminders</h2>" in html
    assert 'value="Text me reminders"' in html
    assert 'value="Verify"' in html
    assert html.count("csrf_token") >= 6  # each form its own token


def test_code_turns_texts_on_and_test_text_arrives(texter_client, texter, sms_provider):
    response = _ask_code(texter_client, sms_provider)
    assert response.status_code == 302
    [sent] = sms_provider.messages()
    assert sent.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert sent.form["To"] == E164 and sent.form["From"] == SENDER
    code = _last_code(sms_provider)
    # Stored only hashed.
    row = db.session.scalar(db.select(TextCode))
    assert code not in row.code_hash and len(row.code_hash) == 64

    response = _verify(texter_client, code)
    assert response.status_code == 302
    sub = _subscription(texter)
    assert sub.enabled and sub.phone == E164

    html = texter_client.get("/account").get_data(as_text=True)
    assert 'value="Send a test text"' in html and 'value="Turn off texts"' in html
    token = csrf_token(texter_client, "/account")
    assert texter_client.post("/me/texts/test", data={"csrf_token": token}).status_code == 302
    _deliver()
    assert len(sms_provider.messages()) == 2
    body = sms_provider.bodies()[-1]
    assert "test text" in body
    # Every request carried the right Basic auth; no text was sent twice.
    assert all(r.auth_ok for r in sms_provider.received)
    assert (
        db.session.scalar(db.select(db.func.count()).select_from(OutboundText).where(OutboundText.sent_at.is_(None)))
        == 0
    )

    token = csrf_token(texter_client, "/account")
    assert texter_client.post("/me/texts/off", data={"csrf_token": token}).status_code == 302
    assert not _subscription(texter).enabled


def test_spanish_patient_gets_spanish_texts(make_user, coach, login_as, sms_provider):
    patient = make_user(coach=coach, phone=PHONE, language="es")
    client = login_as(patient)
    _ask_code(client, sms_provider)
    body = sms_provider.bodies()[-1]
    assert "código" in body and "10 minutos" in body


def test_wrong_code_format_is_a_400_with_a_message(texter_client, sms_provider):
    _ask_code(texter_client, sms_provider)
    response = _verify(texter_client, "12ab")
    assert response.status_code == 400
    assert "Enter the 6-digit code from the text." in response.get_data(as_text=True)


def test_five_wrong_tries_lock_the_code(texter_client, texter, sms_provider):
    _ask_code(texter_client, sms_provider)
    code = _last_code(sms_provider)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        response = _verify(texter_client, wrong)
        assert response.status_code == 400
        assert "This code is not right." in response.get_data(as_text=True)
    response = _verify(texter_client, wrong)
    assert "locked" in response.get_data(as_text=True)
    # Now even the right code is refused.
    response = _verify(texter_client, code)
    assert response.status_code == 400
    assert "locked" in response.get_data(as_text=True)
    assert _subscription(texter) is None


def test_code_expires_after_ten_minutes(texter_client, texter, sms_provider):
    _ask_code(texter_client, sms_provider)
    code = _last_code(sms_provider)
    row = db.session.scalar(db.select(TextCode))
    row.created_at -= timedelta(minutes=11)
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = _verify(texter_client, code)
    assert response.status_code == 400
    assert "This code has expired." in response.get_data(as_text=True)
    assert _subscription(texter) is None


def test_at_most_three_codes_an_hour_per_number(texter_client, sms_provider):
    for _ in range(3):
        assert _ask_code(texter_client, sms_provider).status_code == 302
    response = _ask_code(texter_client, sms_provider)
    assert response.status_code == 429
    assert "Too many codes were sent to this number." in response.get_data(as_text=True)
    assert len(sms_provider.messages()) == 3


def test_missing_csrf_is_refused(texter_client, texter, sms_provider):
    response = texter_client.post("/me/texts/code", data={})
    assert response.status_code == 400
    assert sms_provider.received == []
    assert db.session.scalar(db.select(db.func.count()).select_from(TextCode)) == 0


def test_no_phone_on_file_is_a_clear_400(make_user, coach, login_as, sms_provider):
    client = login_as(make_user(coach=coach, phone=""))
    html = client.get("/account").get_data(as_text=True)
    assert "ask your clinic to add your mobile number" in html
    token = csrf_token(client, "/account")
    response = client.post("/me/texts/code", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Add a mobile phone number" in response.get_data(as_text=True)


def test_a_coach_cannot_use_patient_texts(coach_client):
    token = csrf_token(coach_client, "/account")
    assert coach_client.post("/me/texts/code", data={"csrf_token": token}).status_code == 403


def _turn_on(client, sms_provider):
    _ask_code(client, sms_provider)
    assert _verify(client, _last_code(sms_provider)).status_code == 302


def test_stop_with_a_valid_signature_turns_texts_off_and_start_back_on(app, texter_client, texter, sms_provider):
    _turn_on(texter_client, sms_provider)
    inbound = app.test_client()
    params = {"From": E164, "To": SENDER, "Body": "STOP", "MessageSid": "SM1", "AccountSid": SID}
    response = inbound.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": _sign(params)})
    assert response.status_code == 200
    assert "no more texts" in response.get_data(as_text=True)
    assert not _subscription(texter).enabled

    params["Body"] = "start"
    response = inbound.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": _sign(params)})
    assert response.status_code == 200 and "texts are on again" in response.get_data(as_text=True)
    assert _subscription(texter).enabled

    params["Body"] = "HELP"
    response = inbound.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": _sign(params)})
    assert "(817) 555-0142" in response.get_data(as_text=True)


@pytest.mark.parametrize("signature", [None, "", "bm90LXRoZS1zaWduYXR1cmU=", "wrong-token"])
def test_stop_with_a_bad_signature_changes_nothing(app, texter_client, texter, sms_provider, signature):
    _turn_on(texter_client, sms_provider)
    params = {"From": E164, "To": SENDER, "Body": "STOP"}
    headers = {}
    if signature == "wrong-token":
        headers["X-Twilio-Signature"] = _sign(params, token="not-our-token")
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = app.test_client().post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 403
    assert _subscription(texter).enabled
    # A signature over other parameters does not carry over to these.
    forged = dict(params, Body="START")
    response = app.test_client().post("/sms/inbound", data=params, headers={"X-Twilio-Signature": _sign(forged)})
    assert response.status_code == 403


def test_signature_matches_twilios_documented_example():
    """The example from Twilio's security docs: auth token 12345, this URL and these parameters."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    assert texts.twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_failed_send_stays_queued_and_is_retried_once(texter_client, sms_provider):
    sms_provider.fail = True
    _ask_code(texter_client, sms_provider)
    row = db.session.scalar(db.select(OutboundText))
    db.session.refresh(row)
    assert row.sent_at is None and row.attempts >= 1
    sms_provider.fail = False
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _deliver()
    _deliver()
    assert len(sms_provider.messages()) == 2  # the failed try and the one success, nothing more
    db.session.refresh(row)
    assert row.sent_at is not None


def test_a_claimed_text_is_not_sent_by_a_second_worker(texter_client, sms_provider):
    sms_provider.fail = True
    _ask_code(texter_client, sms_provider)
    sms_provider.fail = False
    row = db.session.scalar(db.select(OutboundText))
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert outbox.claim(row.id)
    assert not outbox.claim(row.id)  # the second worker's claim fails while the first holds it


def test_stop_speaks_for_every_patient_on_that_number(app, make_user, coach, login_as, sms_provider):
    first, second = (make_user(coach=coach, phone=PHONE) for _ in range(2))
    for user in (first, second):
        _turn_on(login_as(user), sms_provider)
    params = {"From": E164, "To": SENDER, "Body": "Stop"}
    response = app.test_client().post("/sms/inbound", data=params, headers={"X-Twilio-Signature": _sign(params)})
    assert response.status_code == 200
    assert not _subscription(first).enabled and not _subscription(second).enabled


def test_account_page_reads_both_reminder_channels_in_one_statement(texter, texter_client, login_as, queries):
    """The text subscription and the browsers with phone notifications come from one statement, whatever the number
    of devices or signed-in browsers; the page's count stays flat."""
    with queries() as before:
        texter_client.get("/account")
    db.session.add(TextSubscription(user_id=texter.id, phone=E164, enabled=True))
    for n in range(3):
        db.session.add(
            PushSubscription(
                user_id=texter.id, endpoint=f"https://push.example.com/{n}", p256dh="k" * 87, auth="a" * 22
            )
        )
        login_as(texter)  # another signed-in browser on the sessions list
    db.session.commit()
    with queries() as after:
        html = texter_client.get("/account").get_data(as_text=True)
    assert "Text reminders are on." in html and html.count("data-push-endpoint=") == 3
    assert len(after) == len(before)
    channels = [s for s in after if "text_subscription" in s or "push_subscription" in s]
    assert len(channels) == 1 and "text_subscription" in channels[0] and "push_subscription" in channels[0]

"""Application logs carry no health data and no secrets.

One run through the sensitive journeys (sign-in with and without a second
factor, a failed sign-in, a password reset, a check-in, a message) with every
logger captured at DEBUG; nothing sensitive may appear in any record.
"""

from __future__ import annotations

import logging
import re

import pyotp
import pytest
from sqlalchemy.exc import IntegrityError

from portal.auth.models import User
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.mail import OutboundEmail
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token, login

WRONG_PASSWORD = "Wrong-Secret-Guess-991"
NEW_PASSWORD = "Brand-New-Passphrase-4417"
NOTE = "MARKER-NOTE sharp spasm after lifting my grandson"
MESSAGE = "MARKER-MSG my lower back locked up on the stairs"
PAIN = 7


def _log_text(caplog) -> str:
    """Everything logged: formatted messages plus raw arguments and tracebacks."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_logs_hold_no_secrets_and_no_health_data(app, client, login_as, patient, coach, db, caplog):
    caplog.set_level(logging.DEBUG)
    app.logger.setLevel(logging.DEBUG)
    # Alembic's logging setup (migrations run by other tests) disables existing loggers: hear them all.
    for logger in [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]:
        logger.disabled = False

    # Failed and successful sign-ins, one of them with a second factor.
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": patient.email, "password": WRONG_PASSWORD, "csrf_token": token})
    patient_client = login_as(patient)
    totp_now = pyotp.TOTP(TOTP_SECRET).now()
    assert login(app.test_client(), coach).status_code == 302

    # A password reset: the emailed link carries a secret token.
    other = app.test_client()
    token = csrf_token(other, "/password/forgot")
    other.post("/password/forgot", data={"email": patient.email, "csrf_token": token})
    mail = db.session.scalar(db.select(OutboundEmail).order_by(OutboundEmail.id.desc()))
    reset_token = re.search(r"/password/reset\?token=(\S+)", mail.body).group(1)
    token = csrf_token(other, f"/password/reset?token={reset_token}")
    response = other.post(
        f"/password/reset?token={reset_token}",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    patient_client = app.test_client()
    assert login(patient_client, patient, NEW_PASSWORD).status_code == 302

    # A check-in with a note, and a message to the coach.
    token = csrf_token(patient_client, "/me/checkin")
    checkin = {
        "pain": PAIN,
        "stiffness": 6,
        "spasm_episodes": 3,
        "notes": NOTE,
        "csrf_token": token,
        **dict.fromkeys(RED_FLAG_FIELDS, "no"),
    }
    assert patient_client.post("/me/checkin", data=checkin).status_code in (200, 302, 303)
    token = csrf_token(patient_client, "/messages/")
    assert patient_client.post("/messages/", data={"body": MESSAGE, "csrf_token": token}).status_code in (200, 302, 303)

    # The journeys really stored the sensitive values (so their absence from logs means something).
    from portal.care.models import CheckIn
    from portal.messaging.models import Message

    assert db.session.scalar(db.select(CheckIn.notes).where(CheckIn.patient_id == patient.id)) == NOTE
    assert db.session.scalar(db.select(Message.body).where(Message.body == MESSAGE)) == MESSAGE

    logged = _log_text(caplog)
    assert caplog.records, "the journeys logged nothing at all: is capture working?"
    with patient_client.session_transaction() as cookie:
        session_secret = cookie["_user_id"]
    for secret in (PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, reset_token, TOTP_SECRET, totp_now, session_secret):
        assert secret not in logged
    for health in (NOTE, "MARKER-NOTE", MESSAGE, "MARKER-MSG"):
        assert health not in logged
    assert not re.search(r"pain\W{0,6}" + str(PAIN), logged, re.IGNORECASE)
    assert "argon2" not in logged  # no password hashes


def test_database_errors_do_not_echo_stored_values(db, patient):
    """SQL errors end up in logs and error reports: their parameters must stay hidden."""
    secret_note = "MARKER-PARAM lower back note"
    duplicate = User(email=patient.email, name=secret_note, role="patient")
    db.session.add(duplicate)
    with pytest.raises(IntegrityError) as error:
        db.session.flush()
    db.session.rollback()
    assert secret_note not in str(error.value)


def test_mail_bodies_are_not_logged_by_default(app, db, caplog, patient):
    from portal.mail import send_email_now

    caplog.set_level(logging.DEBUG)
    send_email_now(patient.email, "Subject", "Body with https://portal.example/password/reset?token=SECRET-TOKEN-123")
    assert "SECRET-TOKEN-123" not in _log_text(caplog)


def test_mail_bodies_logged_only_on_explicit_development_opt_in(monkeypatch):
    from portal.mail import _may_log_bodies

    monkeypatch.delenv("MAIL_LOG_BODIES", raising=False)
    assert not _may_log_bodies({"ENV_NAME": "development"})
    assert _may_log_bodies({"ENV_NAME": "development", "MAIL_LOG_BODIES": "1"})
    assert not _may_log_bodies({"ENV_NAME": "production", "MAIL_LOG_BODIES": "1"})
    assert not _may_log_bodies({"ENV_NAME": "testing", "MAIL_LOG_BODIES": "1"})
    monkeypatch.setenv("MAIL_LOG_BODIES", "1")
    assert _may_log_bodies({"ENV_NAME": "development"})

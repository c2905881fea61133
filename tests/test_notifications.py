"""New-message emails through a real SMTP server: what arrives, what never does, and failures."""

from __future__ import annotations

import logging
from datetime import timedelta

from portal.auth.models import Role
from portal.mail import OutboundEmail
from portal.messaging import services
from portal.messaging.models import Message
from portal.timeutil import utcnow
from tests.conftest import csrf_token
from tests.smtp_server import smtp_server_fixture, smtp_tls_server_fixture  # noqa: F401  (fixtures)

SECRET_TEXT = "My pain was 8/10 after the fall on the stairs"


def _send(client, path: str, body: str = SECRET_TEXT, **kwargs):
    return client.post(path, data={"body": body, "csrf_token": csrf_token(client, path)}, **kwargs)


def _text(message) -> str:
    return message.get_content()


def test_patient_message_emails_the_coach_without_health_data(smtp_server, app, patient, coach, patient_client):
    assert _send(patient_client, "/messages/").status_code == 302
    [email] = smtp_server.wait_for(1)
    assert email["To"] == coach.email
    assert email["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert email["Subject"] == "You have a new message on Holistiq Coach"
    body = _text(email)
    assert "http://127.0.0.1:5000/messages/inbox" in body
    # Neither the message, nor figures, nor who the patient is.
    for leaked in (SECRET_TEXT, "8/10", "pain", "fall", patient.name, patient.email):
        assert leaked not in body and leaked not in email["Subject"]


def test_coach_reply_emails_the_patient_without_the_text(smtp_server, db, patient, coach_client):
    assert _send(coach_client, f"/messages/patients/{patient.id}", "Keep the ice on 15 minutes.").status_code == 302
    [email] = smtp_server.wait_for(1)
    assert email["To"] == patient.email
    body = _text(email)
    assert "Hello Pat," in body and "/messages/" in body
    assert "ice" not in body and "15 minutes" not in body


def test_one_email_per_unread_batch(smtp_server, db, patient, coach, patient_client, coach_client):
    _send(patient_client, "/messages/", "first")
    _send(patient_client, "/messages/", "second")
    assert len(smtp_server.wait_for(2, timeout=0.5)) == 1  # the coach has not read the first yet
    coach_client.get(f"/messages/patients/{patient.id}")  # read
    _send(patient_client, "/messages/", "third")
    assert len(smtp_server.wait_for(2)) == 2


def test_a_reassigned_patients_first_message_emails_the_new_coach(db, make_user, patient, coach):
    """What the patient has not read yet (the former coach's message) is not the new coach's unread:
    the patient's first message to the new coach still sends them an email."""
    services.send_message(coach, patient, "Before you move to Nadia.")
    new_coach = make_user(Role.COACH, name="Nadia Newcoach")
    patient.coach_id = new_coach.id
    db.session.commit()
    assert services.unread_count(patient) == 1  # the patient has not opened the thread
    assert services.mark_read(patient, new_coach) == 0  # none of it is unread for the new coach
    _message, email = services.send_message(patient, patient, "Hello new coach")
    assert email is not None and email.to_address == new_coach.email


def test_notifications_off_means_no_email(smtp_server, db, patient, patient_client, login_as):
    patient.email_notifications = False
    db.session.commit()
    coach_client = login_as(patient.coach)
    _send(coach_client, f"/messages/patients/{patient.id}", "hello")
    assert smtp_server.wait_for(1, timeout=0.3) == []
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id))) == 0


def test_patient_turns_notifications_off_on_the_account_page(db, patient, patient_client):
    token = csrf_token(patient_client, "/account")
    response = patient_client.post(
        "/account", data={"prefs-reminder_time": "", "prefs-submit": "Save preferences", "csrf_token": token}
    )
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.email_notifications is False


def test_failing_smtp_server_keeps_the_page_working_and_retries(
    smtp_server, app, db, patient, patient_client, caplog, monkeypatch
):
    caplog.set_level(logging.WARNING, logger="portal.mail")
    smtp_server.set_failing(True)
    response = _send(patient_client, "/messages/", "hello coach")
    assert response.status_code == 302  # the message is sent even though the email is not
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1
    queued = db.session.scalar(db.select(OutboundEmail))
    assert queued.sent_at is None and queued.attempts == 1 and queued.last_error.startswith("SMTP")
    assert "not sent (attempt 1)" in caplog.text
    assert smtp_server.messages() == []

    # The server recovers; the next `flask mail retry` after the back-off sends it.
    smtp_server.set_failing(False)
    result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert "Sent 0 queued message(s)" in result.output  # still backing off
    queued.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["mail", "retry"])
    assert "Sent 1 queued message(s); 0 still failing." in result.output
    assert len(smtp_server.wait_for(1)) == 1


def test_unreachable_smtp_server_and_wrong_password_are_logged_not_raised(smtp_server, app, db, patient_client):
    app.config["MAIL_PASSWORD"] = "wrong-password"
    assert _send(patient_client, "/messages/", "one").status_code == 302
    email = db.session.scalar(db.select(OutboundEmail))
    assert email.sent_at is None and email.last_error.startswith("SMTP")  # refused login

    app.config["MAIL_PORT"] = 1  # nothing listens there
    db.session.execute(db.update(Message).values(read_at=utcnow()))  # so the next one notifies again
    db.session.commit()
    assert _send(patient_client, "/messages/", "two").status_code == 302
    errors = db.session.scalars(db.select(OutboundEmail.last_error).order_by(OutboundEmail.id)).all()
    assert errors[1] == "ConnectionRefusedError"
    assert smtp_server.messages() == []


def test_links_ignore_a_forged_host_header(smtp_server, app, db, patient):
    """Whoever triggers the email must not choose where its link points (Host header poisoning)."""
    with app.test_request_context("/messages/", base_url="http://evil.example"):
        _message, email = services.send_message(patient, patient, "hi")
        db.session.commit()
        services.deliver_after_commit(email)
    [received] = smtp_server.wait_for(1)
    body = _text(received)
    assert "evil.example" not in body and "http://127.0.0.1:5000/messages/inbox" in body


def test_mail_goes_over_starttls_then_login(smtp_tls_server, db, patient, patient_client):
    assert _send(patient_client, "/messages/", "over TLS").status_code == 302
    [email] = smtp_tls_server.wait_for(1)
    assert email["To"] == patient.coach.email
    assert db.session.scalar(db.select(OutboundEmail.sent_at)) is not None


def test_tls_problems_leave_the_mail_queued(smtp_tls_server, app, db, patient, patient_client, monkeypatch):
    # A server that insists on STARTTLS while we are set up without it.
    app.config["MAIL_USE_TLS"] = False
    assert _send(patient_client, "/messages/", "one").status_code == 302
    # A certificate we do not trust.
    app.config["MAIL_USE_TLS"] = True
    monkeypatch.delenv("SSL_CERT_FILE")
    db.session.execute(db.update(Message).values(read_at=utcnow()))  # so the next one notifies again
    db.session.commit()
    assert _send(patient_client, "/messages/", "two").status_code == 302
    errors = db.session.scalars(db.select(OutboundEmail.last_error).order_by(OutboundEmail.id)).all()
    assert errors[0].startswith("SMTP") and errors[1] == "SSLCertVerificationError"
    assert db.session.scalar(db.select(db.func.count(OutboundEmail.id)).where(OutboundEmail.sent_at.is_(None))) == 2
    assert smtp_tls_server.messages() == []


def test_mail_retry_leases_each_email_and_stops_at_the_first_failure(smtp_server, app, db):
    from portal.mail import LEASE, queue_email, retry_pending

    for n in range(3):
        queue_email(f"person{n}@example.org", "You have a new message on Holistiq Coach", "Open the portal.")
    db.session.commit()
    first, second, third = db.session.scalars(db.select(OutboundEmail).order_by(OutboundEmail.id)).all()
    # Another worker holds a lease on the second one: this run must not send it too.
    second.next_attempt_at = utcnow() + LEASE
    db.session.commit()
    assert retry_pending() == (2, 0)
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["person0@example.org", "person2@example.org"]

    # With the server failing, one attempt is made and the rest wait (no MAIL_TIMEOUT each).
    smtp_server.set_failing(True)
    for n in range(3):
        queue_email(f"later{n}@example.org", "You have a new message on Holistiq Coach", "Open the portal.")
    db.session.commit()
    assert retry_pending() == (0, 1)
    attempts = db.session.scalars(
        db.select(OutboundEmail.attempts).where(OutboundEmail.to_address.like("later%")).order_by(OutboundEmail.id)
    ).all()
    assert attempts == [1, 0, 0]

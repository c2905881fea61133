"""The one-outbox migration moves every queued email and text into outbound_message, keeping each row's state,
and its downgrade moves them back."""

from __future__ import annotations

from datetime import datetime

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from config import TestingConfig
from portal.app import create_app
from portal.extensions import db
from portal.mail import OutboundEmail
from portal.messaging.texts import OutboundText
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres

BEFORE = "a3c7e1d9b5f2"
ONE_OUTBOX = "b6d2f8a4c1e7"
T0 = datetime(2026, 12, 1, 9, 0)
T1 = datetime(2026, 12, 1, 9, 5)


def test_queued_emails_and_texts_move_into_the_one_outbox_and_back(tmp_path):
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = create_postgres_database(base, prefix="holistiq_outbox") if is_postgres(base) else None
    url = url or f"sqlite:///{tmp_path / 'o.sqlite3'}"
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade(revision=BEFORE)
            common = {"c": T0, "n": T1}
            db.session.execute(
                text(
                    "INSERT INTO outbound_email (to_address, subject, body, created_at, attempts, next_attempt_at,"
                    " sent_at, last_error) VALUES"
                    " ('a@example.org', 'Sent one', 'Body A', :c, 1, :n, :n, ''),"
                    " ('b@example.org', 'Failing one', 'Body B', :c, 3, :n, NULL, 'SMTPServerDisconnected')"
                ),
                common,
            )
            db.session.execute(
                text(
                    "INSERT INTO outbound_text (to_number, body, created_at, attempts, next_attempt_at, sent_at,"
                    " last_error) VALUES ('+12145550100', 'Your code is 123456.', :c, 0, :n, NULL, '')"
                ),
                common,
            )
            db.session.commit()

            upgrade(revision=ONE_OUTBOX)
            emails = db.session.scalars(db.select(OutboundEmail).order_by(OutboundEmail.id)).all()
            assert [(e.channel, e.to_address, e.subject, e.body, e.attempts) for e in emails] == [
                ("email", "a@example.org", "Sent one", "Body A", 1),
                ("email", "b@example.org", "Failing one", "Body B", 3),
            ]
            assert emails[0].sent_at == T1 and emails[1].sent_at is None
            assert emails[1].last_error == "SMTPServerDisconnected" and emails[1].next_attempt_at == T1
            (sms,) = db.session.scalars(db.select(OutboundText)).all()
            assert (sms.channel, sms.to_number, sms.body, sms.sent_at, sms.link) == (
                "text",
                "+12145550100",
                "Your code is 123456.",
                None,
                "",
            )
            db.session.commit()

            downgrade(revision=BEFORE)
            assert db.session.execute(
                text("SELECT to_address, subject, attempts FROM outbound_email ORDER BY id")
            ).all() == [("a@example.org", "Sent one", 1), ("b@example.org", "Failing one", 3)]
            assert db.session.execute(text("SELECT to_number, body FROM outbound_text")).all() == [
                ("+12145550100", "Your code is 123456.")
            ]
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    finally:
        if is_postgres(base):
            drop_postgres_database(url)

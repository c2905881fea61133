"""One outbox for every channel: rows of each channel go out through their registered sender, a failing channel
holds back only itself, a gone recipient is given up, a channel nobody registered waits, and backoff and claims are
the same for all (real SMTP server and fake SMS provider)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config import TestingConfig
from portal import outbox
from portal.app import create_app
from portal.extensions import db
from portal.mail import OutboundEmail, queue_email
from portal.messaging.texts import OutboundText, queue_text
from portal.outbox import Channel, OutboundMessage, Undeliverable, register_channel
from portal.state import portal_state
from portal.timeutil import utcnow
from tests.sms_server import sms_provider_fixture  # noqa: F401 - the sms_provider fixture
from tests.smtp_server import smtp_server_fixture  # noqa: F401 - the smtp_server fixture


class OutboundProbe(OutboundMessage):
    """A channel of this test only."""

    __mapper_args__ = {"polymorphic_identity": "probe"}


@pytest.fixture
def probe(app):
    """Register the "probe" channel on the test app for one test; ``probe.gone`` makes its sends Undeliverable."""

    class Probe:
        sent: list[str] = []
        gone: set[str] = set()

        @staticmethod
        def send(message: OutboundMessage) -> None:
            if message.recipient in Probe.gone:
                raise Undeliverable("410 Gone")
            Probe.sent.append(message.recipient)

    register_channel(app, Channel("probe", send=Probe.send, lease=timedelta(seconds=30)))
    try:
        yield Probe
    finally:
        portal_state(app).channels.pop("probe")


def test_each_app_has_its_own_channels_and_a_name_registers_once():
    first, second = create_app(TestingConfig), create_app(TestingConfig)
    assert {"email", "text"} <= set(outbox.channels(first))
    register_channel(first, Channel("probe", send=lambda message: None))
    assert "probe" not in outbox.channels(second)
    with pytest.raises(ValueError, match="already registered"):
        register_channel(first, Channel("probe", send=lambda message: None))
    assert outbox.message_class("text") is OutboundText and outbox.message_class("email") is OutboundEmail


def test_one_round_sends_every_channel_and_a_failing_one_holds_back_only_itself(smtp_server, sms_provider):
    sms_provider.fail = True
    for n in range(2):
        queue_text(f"+1214555010{n}", "Holistiq Coach: a test text.")
        queue_email(f"person{n}@example.org", "Hello", "A queued email.")
    db.session.commit()
    assert outbox.deliver_due() == (2, 1)  # both emails; the first text failed and its channel stopped
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["person0@example.org", "person1@example.org"]
    attempts = db.session.scalars(db.select(OutboundText.attempts).order_by(OutboundText.id)).all()
    assert attempts == [1, 0]  # the second text was not tried against a failing provider
    first = db.session.scalar(db.select(OutboundText).order_by(OutboundText.id))
    assert first.last_error == "HTTPError"
    assert timedelta(seconds=50) < first.next_attempt_at - utcnow() <= timedelta(minutes=1)  # backoff: 1 minute

    sms_provider.fail = False
    assert outbox.deliver_due() == (1, 0)  # the second text; the first waits out its backoff
    first.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert outbox.deliver_due() == (1, 0)
    assert outbox.deliver_due() == (0, 0)  # nothing is sent twice
    # The provider saw the failed try of the first text, then each text once.
    assert [r.form["To"] for r in sms_provider.messages()] == ["+12145550100", "+12145550101", "+12145550100"]
    assert len(smtp_server.messages()) == 2


def test_backoff_doubles_from_one_minute_and_stops_growing():
    assert [outbox.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert outbox.backoff(30) == outbox.backoff(11) == timedelta(minutes=1024)


def test_an_undeliverable_row_is_given_up_and_the_round_goes_on(probe):
    probe.gone = {"gone-subscription"}
    db.session.add_all(
        [
            OutboundProbe(recipient="gone-subscription", body="Time for your back plan"),
            OutboundProbe(recipient="live-subscription", body="Time for your back plan"),
        ]
    )
    db.session.commit()
    assert outbox.deliver_due() == (2, 0)
    assert probe.sent == ["live-subscription"]
    gone = db.session.scalar(db.select(OutboundProbe).where(OutboundProbe.recipient == "gone-subscription"))
    assert gone.sent_at is None and gone.attempts == outbox.MAX_ATTEMPTS and gone.last_error.startswith("Undeliverable")
    assert not outbox.claim(gone.id)  # never tried again
    assert outbox.deliver_due() == (0, 0)


def test_rows_of_a_channel_nobody_registered_wait(app):
    db.session.add(OutboundProbe(recipient="someone", body="Time for your back plan"))
    db.session.commit()
    assert "probe" not in outbox.channels(app)
    assert outbox.deliver_due() == (0, 0)
    row = db.session.scalar(db.select(OutboundProbe))
    assert row.sent_at is None and row.attempts == 0


def test_a_claim_holds_for_the_channels_lease_and_only_one_claim_wins(probe):
    row = OutboundProbe(recipient="someone", body="Time for your back plan")
    db.session.add(row)
    db.session.commit()
    assert outbox.claim(row.id, timedelta(seconds=30))
    assert not outbox.claim(row.id, timedelta(seconds=30))  # a second worker's claim fails while it holds
    db.session.refresh(row)
    assert timedelta(seconds=25) < row.next_attempt_at - utcnow() <= timedelta(seconds=30)
    assert outbox.deliver_due() == (0, 0)  # leased: not due for this round either
    assert probe.sent == []

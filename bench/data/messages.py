"""A few messages in each patient's thread, alternating patient and coach."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from bench.data.people import PatientSpec

MESSAGE_COLUMNS = ("patient_id", "sender_id", "recipient_id", "body", "sent_at", "read_at")
PATIENT_MESSAGES = (
    "Is it okay to do the stretches twice a day?",
    "The knee-to-chest stretch pulls a bit on the left side. Should I keep going?",
    "I missed a few days because of work travel, back on track now.",
    "Thanks, the breathing exercise really helps at night.",
    "Could we swap one exercise? The bridge hurts my wrist when I push up.",
)
COACH_MESSAGES = (
    "Great work this week. Keep the movements slow and pain-free.",
    "Yes, a gentle second round in the evening is fine if it feels good.",
    "Let's ease off that one for now; I've added a gentler option to your plan.",
    "Thanks for the update. Remember to check in each day so I can see your progress.",
    "Nice consistency! Your pain scores are trending down.",
)


def message_rows(patients: Sequence[PatientSpec], days: int, now: datetime, rng: random.Random) -> Iterator[tuple]:
    """Rows in MESSAGE_COLUMNS order: 0-6 per thread; the last two days' are still unread."""
    for spec in patients:
        for k in range(rng.randint(0, 6)):
            sent = now - timedelta(days=rng.uniform(0, days), minutes=k)
            if k % 2 == 0:
                sender, recipient, body = spec.id, spec.coach_id, rng.choice(PATIENT_MESSAGES)
            else:
                sender, recipient, body = spec.coach_id, spec.id, rng.choice(COACH_MESSAGES)
            read_at = None if sent > now - timedelta(days=2) else sent + timedelta(hours=5)
            yield (spec.id, sender, recipient, body, sent, read_at)

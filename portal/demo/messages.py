"""Short conversations between demo patients and their coaches (idempotent).

Maria Gonzalez writes in English; her last message is left unread so a coach
signing in to the demo sees the unread badge in the navigation, on the roster
and in the inbox. Sofia Ramirez reads the portal in Spanish, and she and her
coach write to each other in Spanish.
"""

from __future__ import annotations

from datetime import timedelta

from portal.auth.models import email_lookup
from portal.extensions import db
from portal.messaging.models import Message
from portal.timeutil import utcnow

# (who writes: "patient" or "coach", hours ago, text)
CONVERSATION = (
    (
        "coach",
        50,
        "Hi Maria, welcome to your home plan. Start gently: the stretches should feel like a pull, never a sharp pain. Write to me here any time.",
    ),
    (
        "patient",
        47,
        "Thank you! The knee-to-chest stretch felt good this morning.\nIs it OK to do it again before bed?",
    ),
    ("coach", 46, "Yes, twice a day is fine for that one. Keep the movements slow and breathe out as you stretch."),
    ("patient", 3, "Sitting at my desk all afternoon made my lower back tight again. Should I add a break?"),
)


SPANISH_CONVERSATION = (
    (
        "coach",
        30,
        "Hola Sofia, soy Priya, su coach. Empiece despacio: los estiramientos deben sentirse como un jalón suave, nunca como un dolor agudo. Escríbame aquí cuando quiera.",
    ),
    (
        "patient",
        28,
        "Gracias. Ayer trabajé en el jardín y hoy tengo la espalda baja muy tiesa.\n¿Hago los ejercicios igual?",
    ),
    (
        "coach",
        26,
        "Sí, pero con menos repeticiones y sin forzar. Si siente adormecimiento en las piernas, llame a la clínica.",
    ),
    ("patient", 5, "Ya me siento un poco mejor. Mañana hago mi registro diario."),
)

# (patient email, conversation, leave the last message unread)
CONVERSATIONS = (
    ("patient@example.com", CONVERSATION, True),
    ("patient7@example.com", SPANISH_CONVERSATION, False),
)


def seed_demo_messages() -> None:
    for email, conversation, last_unread in CONVERSATIONS:
        _seed_conversation(email, conversation, last_unread)
    db.session.commit()


def _seed_conversation(email: str, conversation: tuple, last_unread: bool) -> None:
    patient = db.session.scalar(email_lookup(email))
    if patient is None or patient.coach_id is None:
        return
    if db.session.scalar(db.select(Message.id).where(Message.patient_id == patient.id).limit(1)) is not None:
        return  # already seeded (or the demo has been used): leave the thread alone
    now = utcnow()
    for index, (who, hours_ago, text) in enumerate(conversation):
        sent_at = now - timedelta(hours=hours_ago)
        sender, recipient = (patient.id, patient.coach_id) if who == "patient" else (patient.coach_id, patient.id)
        last = last_unread and index == len(conversation) - 1
        db.session.add(
            Message(
                patient_id=patient.id,
                sender_id=sender,
                recipient_id=recipient,
                body=text,
                sent_at=sent_at,
                read_at=None if last else sent_at + timedelta(minutes=20),
            )
        )

"""Demo consent, intake and goals: every demo patient but Tyrone Jackson has agreed, answered and named goals.

Tyrone (patient10) has none of them and no plan, so his first sign-in walks through
"Before we start" and "About your back", and his coach then sees a suggested program.
"""

from __future__ import annotations

from portal.auth.models import User, email_lookup
from portal.care.consent import KINDS, current_version, seed_starter_texts
from portal.care.onboarding_models import Consent
from portal.demo.accounts import PATIENTS
from portal.extensions import db
from portal.timeutil import utcnow

# The demo patient who starts from nothing.
NEW_PATIENT_EMAIL = "patient10@example.com"


def demo_patients_with_history() -> list[User]:
    found = [db.session.scalar(email_lookup(email)) for email, *_rest in PATIENTS if email != NEW_PATIENT_EMAIL]
    return [patient for patient in found if patient is not None]


def seed_consent() -> None:
    """Starter texts for every clinic, and the demo patients' agreement to them."""
    seed_starter_texts()
    db.session.flush()
    for patient in demo_patients_with_history():
        version = current_version(patient.clinic_id)
        have = set(
            db.session.scalars(
                db.select(Consent.kind).where(
                    Consent.patient_id == patient.id, Consent.clinic_id == patient.clinic_id, Consent.version == version
                )
            )
        )
        for kind in KINDS:
            if kind not in have:
                db.session.add(
                    Consent(
                        patient_id=patient.id,
                        clinic_id=patient.clinic_id,
                        kind=kind,
                        version=version,
                        language=patient.language or "en",
                        given_at=utcnow(),
                        ip="127.0.0.1",
                    )
                )
    db.session.commit()

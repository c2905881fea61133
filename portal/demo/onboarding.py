"""Demo consent, intake and goals: every demo patient but Tyrone Jackson has agreed, answered and named goals.

Tyrone (patient10) has none of them and no plan, so his first sign-in walks through
"Before we start" and "About your back", and his coach then sees a suggested program.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from portal.auth.models import User, email_lookup
from portal.care.consent import KINDS, current_version, seed_starter_texts
from portal.care.intake import LAST_STEP
from portal.care.onboarding_models import Consent, Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS
from portal.demo.accounts import PATIENTS
from portal.extensions import db
from portal.timeutil import local_today, utcnow

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


# email -> (answers that differ from DEMO_ANSWERS, [(activity, first rating, latest rating)])
DEMO_INTAKES = {
    "patient@example.com": (
        {"since": "under_6_weeks", "posture": "standing", "worse": ["bending", "mornings"], "sleep": "most_nights"},
        [("Get through a full shift at work", 3, 5), ("Sleep through the night", 2, 4)],
    ),
    "patient2@example.com": (
        {"posture": "sitting", "worse": ["sitting"], "activity": "light"},
        [("Sit at my desk all morning", 4, 6), ("Drive to my sister's in Dallas", 5, 6)],
    ),
    "patient3@example.com": (
        {"where": "more_than_one", "episodes": "once", "activity": "moderate"},
        [("Lift my toddler", 3, 6), ("Walk 30 minutes on the trail", 5, 7), ("Garden on weekends", 4, 4)],
    ),
    "patient4@example.com": (
        {"posture": "lifting", "since": "6_to_12_weeks", "worse": ["lifting", "bending"]},
        [("Finish a warehouse shift", 2, 3), ("Play catch with my son", 4, 6)],
    ),
    "patient5@example.com": (
        {"where": "middle_back", "posture": "standing", "activity": "light"},
        [("Cook dinner standing at the stove", 5, 7), ("Carry the groceries upstairs", 3, 4)],
    ),
    "patient6@example.com": (
        {"activity": "very", "better": ["moving", "stretching"]},
        [("Play weekend tennis", 2, 5), ("Run 5 km", 3, 4)],
    ),
    "patient7@example.com": (
        {"since": "under_6_weeks", "where": "buttock_leg", "posture": "standing"},
        [("Trabajar en el jardín", 3, 4), ("Caminar al mercado", 5, 5)],
    ),
    "patient8@example.com": (
        {"posture": "standing", "episodes": "several", "activity": "light"},
        [("Stand through church services", 4, 6), ("Watch the grandkids' games from the bleachers", 3, 5)],
    ),
    "patient9@example.com": (
        {"posture": "sitting", "since": "over_12_weeks", "worse": ["sitting", "mornings"]},
        [("Work an afternoon without spasms", 4, 5), ("Pick up my niece", 5, 7)],
    ),
}
DEMO_ANSWERS: dict[str, object] = {
    "where": "low_back",
    "since": "over_12_weeks",
    "episodes": "several",
    "worse": ["sitting", "lifting"],
    "worse_other": "",
    "better": ["walking", "heat"],
    "better_other": "",
    "posture": "sitting",
    "activity": "moderate",
    "sleep": "some_nights",
    **dict.fromkeys(RED_FLAG_FIELDS, False),
    "peg_pain": 6,
    "peg_enjoyment": 5,
    "peg_activity": 6,
}
FIRST_RATING_DAYS_AGO = 20
LATEST_RATING_DAYS_AGO = 6


def seed_intakes() -> None:
    """A finished intake and two or three rated goals for every demo patient but Tyrone (idempotent)."""
    for patient in demo_patients_with_history():
        story = DEMO_INTAKES.get(patient.email)
        if story is None or db.session.scalar(db.select(Intake.id).where(Intake.patient_id == patient.id)):
            continue
        changes, activities = story
        today = local_today(patient.tz)
        started = datetime.combine(today - timedelta(days=FIRST_RATING_DAYS_AGO), time(15, 0))
        db.session.add(
            Intake(
                patient_id=patient.id,
                answers={**DEMO_ANSWERS, **changes},
                steps_done=LAST_STEP,
                started_at=started,
                updated_at=started,
                finished_at=started,
                finished_on=today - timedelta(days=FIRST_RATING_DAYS_AGO),
            )
        )
        for activity, first, latest in activities:
            goal = Goal(patient_id=patient.id, activity=activity, created_at=started)
            db.session.add(goal)
            db.session.flush()
            db.session.add_all(
                [
                    GoalRating(
                        goal_id=goal.id,
                        patient_id=patient.id,
                        day=today - timedelta(days=FIRST_RATING_DAYS_AGO),
                        score=first,
                    ),
                    GoalRating(
                        goal_id=goal.id,
                        patient_id=patient.id,
                        day=today - timedelta(days=LATEST_RATING_DAYS_AGO),
                        score=latest,
                    ),
                ]
            )
    db.session.commit()

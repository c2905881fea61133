"""The starter programs, then a plan for every demo patient (idempotent).

Plans start a few weeks back, with different programs and goals, so every demo patient
has something to do today from their first login, and one has an earlier plan in history.
"""

from __future__ import annotations

from datetime import timedelta

from portal.auth.models import User, email_lookup
from portal.care.models import Plan, PlanStatus, Program
from portal.care.plans import assign_program
from portal.coaching.programs import load_starter_program_translations, load_starter_programs, plan_title
from portal.demo.accounts import PATIENTS
from portal.exercises.translations import TRANSLATED_LANGUAGES
from portal.extensions import db
from portal.timeutil import local_today

# email -> (starter program slug, days since the plan started, goals). Tyrone Jackson (patient10)
# has no plan: he is the new patient whose intake leads his coach to a suggested program.
DEMO_PLANS = {
    "patient@example.com": (
        "flare-first-two-weeks",
        12,
        "Get through the workday without spasms and sleep through the night.",
    ),
    "patient2@example.com": (
        "desk-worker-posture-reset",
        21,
        "Sit at the desk for a full morning without lower back tightness.",
    ),
    "patient3@example.com": (
        "core-stability-builder",
        28,
        "Lift my toddler without a twinge; walk 30 minutes on the trail.",
    ),
    "patient4@example.com": ("safe-lifting-at-work-and-home", 18, "Finish warehouse shifts with pain at 3 or below."),
    "patient5@example.com": (
        "anti-inflammatory-kitchen-basics",
        15,
        "Cook at home five nights a week and drink more water.",
    ),
    "patient6@example.com": ("walking-and-return-to-activity", 24, "Back to weekend tennis by spring."),
    # Sofia reads Spanish: her coach writes her goals in it.
    "patient7@example.com": ("flare-first-two-weeks", 9, "Calmar esta crisis y volver a cuidar mi jardín."),
    "patient8@example.com": (
        "core-stability-builder",
        35,
        "Stand through church services and grandkids' games comfortably.",
    ),
    "patient9@example.com": ("desk-worker-posture-reset", 20, "Fewer afternoon spasms at the office."),
}
# One patient moved on from an earlier plan, so the plan history has something to show.
EARLIER_PLAN = ("patient@example.com", "anti-inflammatory-kitchen-basics", 26)


def seed_programs() -> None:
    result = load_starter_programs()
    if not result.ok:
        db.session.rollback()
        raise RuntimeError("The starter programs are invalid:\n" + "\n".join(str(p) for p in result.problems))
    for locale in TRANSLATED_LANGUAGES:
        translated = load_starter_program_translations(locale)
        if not translated.ok:
            db.session.rollback()
            raise RuntimeError(
                f"The starter programs' {locale} text is invalid:\n" + "\n".join(str(p) for p in translated.problems)
            )
    db.session.commit()


def seed_plans() -> None:
    programs = {p.slug: p for p in db.session.scalars(db.select(Program).where(Program.slug.is_not(None)))}
    coaches = {email: db.session.scalar(email_lookup(email)) for email in {p[3] for p in PATIENTS}}
    for email, _name, _city, coach_email in PATIENTS:
        patient = db.session.scalar(email_lookup(email))
        spec = DEMO_PLANS.get(email)
        if patient is None or spec is None or programs.get(spec[0]) is None:
            continue
        if db.session.scalar(db.select(Plan.id).where(Plan.patient_id == patient.id).limit(1)) is not None:
            continue  # already seeded (or a coach has worked on this patient): leave it alone
        coach = coaches[coach_email]
        today = local_today(patient.tz)
        previous = None
        if email == EARLIER_PLAN[0] and programs.get(EARLIER_PLAN[1]) is not None:
            previous = _assign(patient, programs[EARLIER_PLAN[1]], coach, today - timedelta(days=EARLIER_PLAN[2]), "")
        slug, days_ago, goals = spec
        _assign(patient, programs[slug], coach, today - timedelta(days=days_ago), goals, replaces=previous)
    db.session.commit()


def _assign(patient: User, program: Program, coach: User, start, goals: str, replaces: Plan | None = None) -> Plan:
    plan = assign_program(
        patient, program, coach, title=plan_title(program, patient), goals=goals, start_date=start, replaces=replaces
    )
    if replaces is not None:
        # The earlier plan ended when this one started, not on the day the demo was seeded.
        replaces.end_date = start - timedelta(days=1)
    assert plan.status == PlanStatus.ACTIVE
    return plan

"""Demo clinics, staff and patients (the published demo accounts).

Staff are enrolled in two-step sign-in with DEMO_TOTP_SECRET; everyone signs in
with the demo password. Accounts that already exist are left alone.
"""

from __future__ import annotations

from flask import current_app

from portal.auth.accounts import create_account
from portal.auth.models import Clinic, OnCallContact, Role, User, email_lookup
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.timeutil import DEFAULT_TIMEZONE

CLINICS = (
    {
        "name": "Holistiq Spine & Ortho Arlington",
        "city": "Arlington",
        "phone": "(817) 555-0142",
        "address": "1200 W Abram St, Arlington, TX",
    },
    {
        "name": "Holistiq Spine & Ortho Irving",
        "city": "Irving",
        "phone": "(972) 555-0117",
        "address": "600 E Las Colinas Blvd, Irving, TX",
    },
    {
        "name": "Holistiq Spine & Ortho Plano",
        "city": "Plano",
        "phone": "(469) 555-0188",
        "address": "5800 Granite Pkwy, Plano, TX",
    },
)

# Each demo clinic's on-call contact (fictional): emailed about Emergency alerts and escalations.
ON_CALL = {
    "Arlington": ("Dr. Elena Ortiz", "oncall.arlington@example.com", "(817) 555-0150"),
    "Irving": ("Dr. Samuel Reyes", "oncall.irving@example.com", "(972) 555-0151"),
    "Plano": ("Dr. Grace Liu", "oncall.plano@example.com", "(469) 555-0152"),
}

STAFF = (
    {"email": "admin@example.com", "name": "Dana Whitfield", "role": Role.ADMIN, "city": "Arlington"},
    {"email": "coach@example.com", "name": "Marcus Bell", "role": Role.COACH, "city": "Arlington"},
    {"email": "coach2@example.com", "name": "Priya Raman", "role": Role.COACH, "city": "Plano"},
)

AREA_CODES = {"Arlington": "817", "Irving": "972", "Plano": "469"}

# Demo patients who read the portal in Spanish; everyone else reads English.
SPANISH_SPEAKERS = {"patient7@example.com"}

# (email, name, city, coach email)
PATIENTS = (
    ("patient@example.com", "Maria Gonzalez", "Arlington", "coach@example.com"),
    ("patient2@example.com", "James Carter", "Arlington", "coach@example.com"),
    ("patient3@example.com", "Linh Nguyen", "Irving", "coach@example.com"),
    ("patient4@example.com", "Robert Thompson", "Irving", "coach@example.com"),
    ("patient5@example.com", "Aisha Okafor", "Plano", "coach@example.com"),
    ("patient6@example.com", "Daniel Kim", "Plano", "coach2@example.com"),
    ("patient7@example.com", "Sofia Ramirez", "Irving", "coach2@example.com"),
    ("patient8@example.com", "William Brooks", "Arlington", "coach2@example.com"),
    ("patient9@example.com", "Fatima Haddad", "Plano", "coach2@example.com"),
    ("patient10@example.com", "Tyrone Jackson", "Irving", "coach2@example.com"),
)

# Fictional numbers (555-01xx is reserved for fiction): the safety loop needs a phone for every patient.
AREA_CODES = {"Arlington": "817", "Irving": "972", "Plano": "469"}


def demo_phone(index: int, city: str) -> str:
    return f"({AREA_CODES[city]}) 555-{101 + index:04d}"


# Demo staff are enrolled in two-step sign-in with this fixed, published secret so the
# demo works out of the box: add it to an authenticator app, or run `flask demo-code`.
# It is demo data like the demo password, never for real accounts.
DEMO_TOTP_SECRET = "HOLISTIQDEMOSTAFFTOTPSECRET23456"  # noqa: S105 - a published demo value  # nosec B105


def seed_accounts() -> None:
    password_hash = hash_password(current_app.config["DEMO_PASSWORD"])
    clinics = {}
    for spec in CLINICS:
        clinic = db.session.scalar(db.select(Clinic).where(Clinic.city == spec["city"]))
        if clinic is None:
            clinic = Clinic(timezone=DEFAULT_TIMEZONE, **spec)
            db.session.add(clinic)
            db.session.flush()
        clinics[spec["city"]] = clinic
        if not clinic.on_call_contacts:
            name, email, phone = ON_CALL[spec["city"]]
            clinic.on_call_contacts.append(OnCallContact(name=name, email=email, phone=phone))
    for spec in STAFF:
        if db.session.scalar(email_lookup(spec["email"])) is None:
            user = create_account(
                email=spec["email"], name=spec["name"], role=spec["role"], clinic_id=clinics[spec["city"]].id
            )
            user.password_hash = password_hash
            user.totp_secret = DEMO_TOTP_SECRET
            user.totp_enabled = True
    db.session.flush()
    for index, (email, name, city, coach_email) in enumerate(PATIENTS):
        existing = db.session.scalar(email_lookup(email))
        if existing is not None and not existing.phone:
            existing.phone = demo_phone(index, city)  # demo data seeded before phones were required
        if existing is None:
            coach = db.session.scalar(email_lookup(coach_email))
            user = create_account(
                email=email,
                name=name,
                role=Role.PATIENT,
                clinic_id=clinics[city].id,
                coach_id=coach.id,
                language="es" if email in SPANISH_SPEAKERS else "en",
                phone=demo_phone(index, city),
            )
            user.password_hash = password_hash
    db.session.commit()


def demo_patients() -> list[User]:
    emails = [p[0] for p in PATIENTS]
    return list(db.session.scalars(db.select(User).where(User.email.in_(emails)).order_by(User.id)))

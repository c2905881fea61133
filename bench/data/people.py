"""Generated coaches and patients: who they are, and the account rows."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Row

from portal.auth.models import Role

PATIENTS_PER_COACH = 200
EMAIL_DOMAIN = "bench.holistiq.example"

FIRST_NAMES = (
    "Maria James Linh Robert Aisha Daniel Sofia William Fatima Tyrone Emily Carlos Grace Omar Hannah "
    "Luis Mei Anthony Priya Jamal Olivia Diego Chloe Samuel Nadia Ethan Rosa Kevin Leah Marcus Ana "
    "Brandon Yusuf Tanya Victor Keisha Noah Isabel Derek Amara"
).split()
LAST_NAMES = (
    "Gonzalez Carter Nguyen Thompson Okafor Kim Ramirez Brooks Haddad Jackson Patel Johnson Lee Garcia "
    "Martinez Davis Wilson Anderson Taylor Moore Hernandez Lopez Clark Lewis Walker Hall Young King "
    "Wright Scott Green Baker Adams Nelson Hill Rivera Campbell Mitchell Roberts Turner"
).split()

USER_COLUMNS = (
    "id",
    "email",
    "name",
    "role",
    "clinic_id",
    "coach_id",
    "password_hash",
    "created_at",
    "totp_secret",
    "totp_enabled",
)


@dataclass
class PatientSpec:
    id: int
    coach_id: int
    clinic_id: int
    baseline: float  # pain at the start of the period
    slope: float  # change per day (negative: improving)
    adherence: float  # probability of checking in on a given day
    diligence: float  # probability of doing a due item on an active day


@dataclass
class People:
    coach_ids: list[int]
    coach_clinic: dict[int, int]  # coach id -> clinic id
    patients: list[PatientSpec]


def plan_people(n_patients: int, first_id: int, clinics: Sequence[Row], rng: random.Random) -> People:
    """Ids, clinics and traits of ⌈N/200⌉ coaches and N patients, ids from first_id on."""
    n_coaches = max(1, math.ceil(n_patients / PATIENTS_PER_COACH))
    coach_ids = list(range(first_id, first_id + n_coaches))
    coach_clinic = {cid: clinics[i % len(clinics)].id for i, cid in enumerate(coach_ids)}
    patients = []
    for i, pid in enumerate(range(first_id + n_coaches, first_id + n_coaches + n_patients)):
        coach_id = coach_ids[i // PATIENTS_PER_COACH]
        # Most patients attend their coach's clinic; some live nearer another one.
        clinic_id = coach_clinic[coach_id] if rng.random() < 0.8 else rng.choice(clinics).id
        patients.append(patient_traits(pid, coach_id, clinic_id, rng))
    return People(coach_ids, coach_clinic, patients)


def patient_traits(pid: int, coach_id: int, clinic_id: int, rng: random.Random) -> PatientSpec:
    """Most improve, some stay flat, a few get worse; adherence varies widely."""
    trend = rng.random()
    slope = -rng.uniform(0.01, 0.04) if trend < 0.7 else (0.0 if trend < 0.9 else rng.uniform(0.005, 0.02))
    return PatientSpec(
        id=pid,
        coach_id=coach_id,
        clinic_id=clinic_id,
        baseline=rng.uniform(4.0, 8.5),
        slope=slope,
        adherence=rng.choice((0.35, 0.6, 0.75, 0.85, 0.9, 0.95, 0.98)),
        diligence=rng.uniform(0.4, 0.95),
    )


def user_rows(
    people: People, rng: random.Random, password_hash: str, created: datetime, staff_totp: str
) -> Iterator[tuple]:
    """Coaches, then patients, in USER_COLUMNS order.

    Everyone shares one password hash (hashing per user would dominate the run);
    coaches share the published demo two-step secret (passed in already encrypted, as the
    column stores it) so the benchmark can sign them in.
    """
    for n, cid in enumerate(people.coach_ids, 1):
        yield (
            cid,
            f"coach-{n:04d}@{EMAIL_DOMAIN}",
            _name(rng),
            Role.COACH.value,
            people.coach_clinic[cid],
            None,
            password_hash,
            created,
            staff_totp,
            True,
        )
    for n, spec in enumerate(people.patients, 1):
        yield (
            spec.id,
            f"patient-{n:05d}@{EMAIL_DOMAIN}",
            _name(rng),
            Role.PATIENT.value,
            spec.clinic_id,
            spec.coach_id,
            password_hash,
            created,
            None,
            False,
        )


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

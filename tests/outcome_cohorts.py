"""Building cohorts for the Outcomes tests: patients with a first plan, check-ins, weekly scores,
red-flag alerts and plan-item logs, written straight to the database (no password hashing)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from portal.auth.models import Clinic, Role, User
from portal.care.models import Alert, AlertKind, CheckIn, ItemLog, Plan, PlanItem, Program, WeeklyOutcome
from portal.care.onboarding_models import Goal, GoalRating
from portal.care.schedules import start_schedule
from portal.exercises.models import LibraryItem
from portal.extensions import db

TODAY = date(2026, 3, 20)  # a Friday
_n = itertools.count(1)


@dataclass
class PatientSpec:
    """One patient of a generated or hand-built cohort."""

    clinic: int  # index into the cohort's clinics
    coach: int
    program: int | None  # index into the programs, None for a plan made without one
    start_ago: int  # days from the start to TODAY
    pains: dict[int, int] = field(default_factory=dict)  # days after the start -> pain
    pegs: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # weeks after the start's Monday -> answers
    alerts: list[float | None] = field(default_factory=list)  # hours to resolve (None: still open)
    done_days: list[int] = field(default_factory=list)  # days before TODAY with the plan's item done
    activities: list[list[tuple[int, int]]] = field(
        default_factory=list
    )  # PSFS: per activity, (days after start, score)
    alert_tiers: list[str | None] = field(default_factory=list)  # the tier of each alert in ``alerts`` (None: none)
    # hours to the acknowledgement of each alert in ``alerts`` (None: not acknowledged; a resolved
    # alert without one was acknowledged when resolved, as the care rule does)
    alert_acks: list[float | None] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.start_on(TODAY)

    def start_on(self, today: date) -> date:
        return today - timedelta(days=self.start_ago)


@dataclass
class Cohort:
    clinics: list[Clinic]
    coaches: list[User]
    programs: list[Program]
    patients: list[User]


def build(
    specs: list[PatientSpec],
    clinics: int | list[Clinic] = 2,
    coaches: int | list[User] = 2,
    programs: int | list[Program] = 2,
    today: date = TODAY,
) -> Cohort:
    """Write the cohort: clinics, coaches and programs (new ones, or the rows given), then each
    patient with their records, their days counted back from ``today``."""
    tag = next(_n)
    new_clinics = (
        [Clinic(name=f"Outcome clinic {tag}-{i}", city=f"City {i}", phone="(817) 555-0100") for i in range(clinics)]
        if isinstance(clinics, int)
        else []
    )
    clinic_rows = new_clinics or list(clinics)
    db.session.add_all(new_clinics)
    db.session.flush()
    new_coaches = (
        [
            User(
                email=f"oc{tag}-{i}@example.org", name=f"Coach {tag}-{i}", role=Role.COACH, clinic_id=clinic_rows[0].id
            )
            for i in range(coaches)
        ]
        if isinstance(coaches, int)
        else []
    )
    coach_rows = new_coaches or list(coaches)
    new_programs = (
        [Program(name=f"Program {tag}-{i}", description="") for i in range(programs)]
        if isinstance(programs, int)
        else []
    )
    program_rows = new_programs or list(programs)
    item = LibraryItem(
        kind="exercise",
        title=f"Outcome item {tag}",
        slug=f"outcome-item-{tag}",
        summary="s",
        instructions="i",
        body_area="lower_back",
    )
    db.session.add_all([*new_coaches, *new_programs, item])
    db.session.flush()
    patients = []
    for n, spec in enumerate(specs):
        start = spec.start_on(today)
        patient = User(
            email=f"op{tag}-{n}@example.org",
            name=f"Zz Outcome patient {tag}-{n}",
            role=Role.PATIENT,
            clinic_id=clinic_rows[spec.clinic].id,
            coach_id=coach_rows[spec.coach].id,
        )
        db.session.add(patient)
        db.session.flush()
        patients.append(patient)
        plan = Plan(
            patient_id=patient.id,
            coach_id=patient.coach_id,
            program_id=program_rows[spec.program].id if spec.program is not None else None,
            title="Plan",
            start_date=start,
        )
        db.session.add(plan)
        db.session.flush()
        plan_item = PlanItem(plan_id=plan.id, library_item_id=item.id, times_per_day=1, weekdays="0123456")
        db.session.add(plan_item)
        start_schedule(plan, plan_item, start)  # due daily from the start
        db.session.flush()
        for offset, pain in spec.pains.items():
            db.session.add(
                CheckIn(patient_id=patient.id, day=start + timedelta(days=offset), pain=pain, stiffness=pain)
            )
        monday = start - timedelta(days=start.weekday())
        for week, (a, b, c) in spec.pegs.items():
            db.session.add(
                WeeklyOutcome(
                    patient_id=patient.id,
                    week_start=monday + timedelta(weeks=week),
                    pain_average=a,
                    enjoyment_interference=b,
                    activity_interference=c,
                )
            )
        for k, hours in enumerate(spec.alerts):
            opened = datetime.combine(start, datetime.min.time()) + timedelta(hours=10 + k)
            resolved = opened + timedelta(hours=hours) if hours is not None else None
            ack = spec.alert_acks[k] if k < len(spec.alert_acks) else None
            acknowledged = opened + timedelta(hours=ack) if ack is not None else resolved
            # A resolved alert holds no open slot; the ORM would put open_key's default in for None.
            db.session.execute(
                db.insert(Alert).values(
                    patient_id=patient.id,
                    kind=AlertKind.RED_FLAG,
                    severity=0,
                    opened_at=opened,
                    resolved_at=resolved,
                    acknowledged_at=acknowledged,
                    tier=spec.alert_tiers[k] if k < len(spec.alert_tiers) else None,
                    open_key=None if resolved else 1,
                )
            )
        for k, ratings in enumerate(spec.activities):
            goal = Goal(patient_id=patient.id, activity=f"Activity {k}")
            db.session.add(goal)
            db.session.flush()
            for offset, score in ratings:
                db.session.add(
                    GoalRating(goal_id=goal.id, patient_id=patient.id, day=start + timedelta(days=offset), score=score)
                )
            db.session.flush()  # ratings in the order given: the id breaks a tie of days
        for back in spec.done_days:
            db.session.add(ItemLog(plan_item_id=plan_item.id, patient_id=patient.id, day=today - timedelta(days=back)))
    db.session.commit()
    return Cohort(clinic_rows, coach_rows, program_rows, patients)

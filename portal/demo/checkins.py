"""Demo check-in history: six weeks of believable check-ins, item logs and weekly checks.

Runs after the plans step (item logs belong to the plan items).
Each demo patient follows a story so the charts and the coach's inbox are alive:
most improve, Linh's pain has risen over the last days (pain-worsening alert),
Robert reported a red flag two days ago (urgent alert), Sofia stopped checking in
five days ago (missed check-ins alert). Nobody has checked in today yet, so a
first login can try the check-in. Idempotent: a patient with any check-in is skipped.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.auth.models import User, email_lookup
from portal.care.alerts import open_alert, red_flag_summary, scan_missed_checkins, worsening
from portal.care.models import AlertKind, CheckIn, ItemLog, Plan, PlanStatus, WeeklyOutcome
from portal.extensions import db
from portal.timeutil import local_today

HISTORY_DAYS = 42

# email -> (pain 6 weeks ago, pain yesterday, chance of checking in, chance of doing an item)
STORIES = {
    "patient@example.com": (7, 3, 0.95, 0.85),
    "patient2@example.com": (6, 4, 0.85, 0.75),
    "patient3@example.com": (4, 3, 0.9, 0.7),  # then a rise over the last 3 days (below)
    "patient4@example.com": (6, 4, 0.8, 0.6),  # red flag two days ago (below)
    "patient5@example.com": (5, 4, 0.75, 0.55),
    "patient6@example.com": (8, 3, 0.9, 0.9),
    "patient7@example.com": (6, 5, 0.8, 0.5),  # no check-ins for the last 5 days (below)
    "patient8@example.com": (5, 2, 0.6, 0.7),
    "patient9@example.com": (4, 4, 0.85, 0.65),
}
WORSENING = "patient3@example.com"
RED_FLAG = "patient4@example.com"
MISSED = "patient7@example.com"
NOTES = (
    "Heat pack before the stretches helped.",
    "Long drive today, back was tight afterwards.",
    "Slept better with the pillow between my knees.",
    "Skipped the walk, it rained all day.",
    "Spasm this morning getting out of bed, eased after 10 minutes.",
    "Felt good after the evening routine.",
    "",
    "",
    "",
)


def _clamp(value: float, low: int = 0, high: int = 10) -> int:
    return max(low, min(high, round(value)))


def _pain_for(email: str, start: int, end: int, days_ago: int, rng: random.Random) -> int:
    progress = (HISTORY_DAYS - days_ago) / HISTORY_DAYS
    pain = start + (end - start) * progress + rng.uniform(-1.0, 1.0)
    if email == WORSENING and days_ago <= 3:
        pain = 6 + (3 - days_ago) * 0.5 + rng.uniform(0, 0.5)
    return _clamp(pain)


def _seed_patient(patient: User, story: tuple[int, int, float, float], plan: Plan | None) -> CheckIn | None:
    rng = random.Random(patient.email)  # noqa: S311 - demo data, the same history on every machine  # nosec B311
    start_pain, end_pain, checkin_rate, item_rate = story
    today = local_today(patient.tz)
    red_flag_checkin = None
    weekly: dict[date, list[int]] = {}
    for days_ago in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=days_ago)
        forced = days_ago <= 3 or (patient.email == RED_FLAG and days_ago == 2)
        if patient.email == MISSED and days_ago <= 5:
            continue
        if not forced and rng.random() > checkin_rate:
            continue
        pain = _pain_for(patient.email, start_pain, end_pain, days_ago, rng)
        checkin = CheckIn(
            patient_id=patient.id,
            day=day,
            pain=pain,
            stiffness=_clamp(pain + rng.uniform(-1.5, 1.0)),
            spasm_episodes=max(0, round(pain / 2.5 + rng.uniform(-1.5, 1.0))),
            sleep_quality=max(1, min(5, round(5 - pain / 2.5 + rng.uniform(-0.6, 0.6)))),
            water_glasses=rng.randint(4, 9),
            notes=rng.choice(NOTES),
        )
        if patient.email == RED_FLAG and days_ago == 2:
            checkin.rf_walking = True
            checkin.notes = "My left leg felt weak on the stairs this morning and I almost tripped."
            red_flag_checkin = checkin
        db.session.add(checkin)
        weekly.setdefault(day - timedelta(days=day.weekday()), []).append(pain)
        if plan is not None and day >= plan.start_date:
            for item in plan.items:
                if item.is_active and item.is_due_on(day) and rng.random() < item_rate:
                    db.session.add(
                        ItemLog(
                            plan_item_id=item.id,
                            patient_id=patient.id,
                            day=day,
                            done=True,
                            sessions_done=item.times_per_day,
                        )
                    )
    for monday, pains in weekly.items():
        if monday + timedelta(days=6) >= today or len(pains) < 3:
            continue  # only weeks that are over and were followed
        average = sum(pains) / len(pains)
        # Answered on the week's Sunday evening (the patient's time), as a patient would: its FHIR
        # ``authored`` is that moment, not the moment the demo data was loaded.
        answered = (
            datetime.combine(monday + timedelta(days=6), time(19, 30), tzinfo=ZoneInfo(patient.tz))
            .astimezone(UTC)
            .replace(tzinfo=None)
        )
        db.session.add(
            WeeklyOutcome(
                patient_id=patient.id,
                week_start=monday,
                pain_average=_clamp(average + rng.uniform(-0.5, 0.5)),
                enjoyment_interference=_clamp(average - 0.5 + rng.uniform(-1, 1)),
                activity_interference=_clamp(average + rng.uniform(-1, 1)),
                created_at=answered,
                updated_at=answered,
            )
        )
    db.session.flush()
    return red_flag_checkin


def seed_checkin_history() -> None:
    for email, story in STORIES.items():
        patient = db.session.scalar(email_lookup(email))
        if patient is None:
            continue
        if db.session.scalar(db.select(CheckIn.id).where(CheckIn.patient_id == patient.id).limit(1)) is not None:
            continue  # already has history: leave it alone
        plan = db.session.scalar(db.select(Plan).where(Plan.patient_id == patient.id, Plan.status == PlanStatus.ACTIVE))
        red_flag_checkin = _seed_patient(patient, story, plan)
        # The alerts the real rules would have opened when these check-ins came in.
        if red_flag_checkin is not None:
            open_alert(
                patient,
                AlertKind.RED_FLAG,
                red_flag_summary(red_flag_checkin),
                red_flag_checkin.id,
                notify=False,
                tier=red_flag_checkin.red_flag_tier,
            )
        yesterday = local_today(patient.tz) - timedelta(days=1)
        change = worsening(patient.id, yesterday)
        if change is not None:
            open_alert(
                patient,
                AlertKind.PAIN_WORSENING,
                f"Pain averaged {change[0]:.1f} over the last 3 days, up from {change[1]:.1f} the week before.",
            )
    scan_missed_checkins()
    db.session.commit()

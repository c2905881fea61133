"""Demo data for `flask seed-demo`: idempotent, safe to run again and again.

Dev-only code at the top of the layers: it imports the features it fills and no
feature imports it. Each step looks up what exists before adding, so a second
run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from portal.demo.accounts import CLINICS, DEMO_TOTP_SECRET, PATIENTS, STAFF, demo_patients, seed_accounts
from portal.demo.checkins import seed_checkin_history
from portal.demo.library import seed_library
from portal.demo.messages import seed_demo_messages
from portal.demo.onboarding import seed_consent, seed_intakes
from portal.demo.plans import seed_plans, seed_programs

# In order: each step needs what the ones before it made (plans need the programs,
# which need the library; the check-in history follows the plans).
STEPS: tuple[Callable[[], None], ...] = (
    seed_accounts,
    seed_consent,
    seed_library,
    seed_programs,
    seed_plans,
    seed_demo_messages,
    seed_checkin_history,
    seed_intakes,
)


def run_all() -> None:
    for step in STEPS:
        step()


__all__ = [
    "CLINICS",
    "DEMO_TOTP_SECRET",
    "PATIENTS",
    "STAFF",
    "STEPS",
    "demo_patients",
    "run_all",
    "seed_accounts",
    "seed_checkin_history",
    "seed_consent",
    "seed_intakes",
    "seed_demo_messages",
    "seed_library",
    "seed_plans",
    "seed_programs",
]

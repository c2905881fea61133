"""Imports every model module so the metadata (and Alembic) sees all tables."""

from portal.api.idempotency import IdempotentRequest  # noqa: F401
from portal.audit import AuditEvent  # noqa: F401
from portal.auth.models import Clinic, OnCallContact, RecoveryCode, User  # noqa: F401
from portal.care.models import (  # noqa: F401
    Alert,
    CheckIn,
    ItemLog,
    Plan,
    PlanItem,
    PlanItemPause,
    Program,
    ProgramItem,
    ProgramTranslation,
    WeeklyOutcome,
)
from portal.care.onboarding_models import Consent, ConsentText, Goal, GoalRating, Intake  # noqa: F401
from portal.exercises.models import LibraryItem, LibraryItemTranslation  # noqa: F401
from portal.mail import OutboundEmail  # noqa: F401
from portal.messaging.models import Message, ReminderSent  # noqa: F401
from portal.messaging.texts import OutboundText, TextCode, TextSubscription  # noqa: F401
from portal.outbox import OutboundMessage  # noqa: F401
from portal.push import PushSubscription  # noqa: F401

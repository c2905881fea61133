"""Each role's home page and navigation sections.

Entries whose endpoint is not registered are skipped, so a feature blueprint
adds its section just by existing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.sqlutil import KeptStatement
from portal.state import portal_state

# Keyed by role name (the values of auth's Role): this module sits below auth and imports none of it.
HOME_ENDPOINTS = {
    "patient": "patients.today",
    "coach": "coaching.roster",
    "admin": "outcomes.page",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    badge: str = ""  # name of a context value holding a count to show beside the label


NAV = {
    "patient": (
        NavItem(_l("Today"), "patients.today"),
        NavItem(_l("Check in"), "patients.checkin"),
        NavItem(_l("My plan"), "patients.my_plan"),
        NavItem(_l("My progress"), "patients.progress"),
        NavItem(_l("Messages"), "messaging.patient_thread", badge="unread_messages"),
        NavItem(_l("Library"), "exercises.browse"),
    ),
    "coach": (
        NavItem(_l("Patients"), "coaching.roster"),
        NavItem(_l("Alerts"), "coaching.alerts", badge="open_alerts"),
        NavItem(_l("Messages"), "messaging.coach_inbox", badge="unread_messages"),
        NavItem(_l("Programs"), "coaching.programs"),
        NavItem(_l("Library"), "exercises.browse"),
        NavItem(_l("Outcomes"), "outcomes.page"),
    ),
    "admin": (
        NavItem(_l("Outcomes"), "outcomes.page"),
        NavItem(_l("Accounts"), "admin.accounts"),
        NavItem(_l("Clinics"), "admin.clinics"),
        NavItem(_l("Safety"), "admin.safety", badge="escalated_alerts"),
        NavItem(_l("Consent texts"), "admin.consent_texts"),
        NavItem(_l("Audit log"), "admin.audit_log"),
        NavItem(_l("FHIR export"), "fhir.bulk_files"),
    ),
}


def home_endpoint_for(user) -> str:
    endpoint = HOME_ENDPOINTS.get(user.role, "auth.account")
    return endpoint if endpoint in current_app.view_functions else "auth.account"


def nav_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions  # once, not through the app's proxy for each entry
    return [item for item in NAV.get(user.role, ()) if item.endpoint in views]


# Features register, from their init_app, each badge they own as a builder taking the reader's
# role (never the reader: the badge cannot capture a user) and returning a COUNT statement with
# the reader's id as the bound parameter ``user_id``, or None when the badge does not apply to
# that role. A page reads all its badges in one statement, kept per role and run with the id.
def register_badge(app: Flask, name: str, build: Callable[[str], Any]) -> None:
    """Let ``build(role)`` count the badge ``name`` in this app's navigation."""
    portal_state(app).badge_providers[name] = build


def _build_badges_statement(role: str):
    """One SELECT of every badge the role's navigation shows in this app, each column labelled with
    its badge's name; None when none applies."""
    providers = portal_state().badge_providers
    counts = {}
    for item in NAV.get(role, ()):
        build = providers.get(item.badge)
        query = build(role) if build is not None and item.endpoint in current_app.view_functions else None
        if query is not None:
            counts[item.badge] = query.scalar_subquery().label(item.badge)
    return db.select(*counts.values()) if counts else None


_badges_statement = KeptStatement(_build_badges_statement, variants=[(role,) for role in NAV])


def badges_for(user) -> dict[str, int]:
    """The counts beside the signed-in user's navigation entries, by badge name (one statement)."""
    statement = _badges_statement(user.role) if user.role in NAV else None
    if statement is None:
        return {}
    # The session's connection, not the session: a plain COUNT needs none of the ORM's work.
    row = db.session.connection().execute(statement, {"user_id": user.id}).one()
    return {name: count or 0 for name, count in row._mapping.items()}

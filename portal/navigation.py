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
    return [item for item in NAV.get(user.role, ()) if item.endpoint in current_app.view_functions]


# Features register, for each badge they own, a function(user) -> a COUNT query (or None when
# the badge does not apply to that user), from their init_app. All of a page's badges are read
# in one statement. A query is built once per app with the user's id as the bound parameter
# ``user_id``: each page then only runs it, and the statement that reads them together is kept too.
def register_badge(app: Flask, name: str, provider: Callable[[Any], Any]) -> None:
    """Let ``provider`` count the badge ``name`` in this app's navigation."""
    portal_state(app).badge_providers[name] = provider


def badges_for(user, items: list[NavItem]) -> dict[str, int]:
    state = portal_state()
    queries = {}
    for item in items:
        provider = state.badge_providers.get(item.badge)
        query = provider(user) if provider is not None else None
        if query is not None:
            queries[item.badge] = query
    if not queries:
        return {}
    names = tuple(queries)
    parts = tuple(queries.values())
    key = ("navigation.badges", names)
    kept = state.statements.get(key)
    if kept is None or any(a is not b for a, b in zip(kept[0], parts, strict=True)):
        kept = state.statements[key] = (parts, db.select(*(query.scalar_subquery() for query in parts)))
    statement = kept[1]
    # The session's connection, not the session: a plain COUNT needs none of the ORM's work.
    row = db.session.connection().execute(statement, {"user_id": user.id}).one()
    return {name: count or 0 for name, count in zip(names, row, strict=True)}

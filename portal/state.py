"""The portal's per-app state: every registry and cache lives on one object in ``app.extensions``.

Nothing here is a module global: two apps built in one process (tests, a worker beside a
web app) share none of it, and a fresh app starts empty. Feature packages fill the
registries from their ``init_app(app)``; the caches fill themselves as pages are served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

EXTENSION_KEY = "portal"


@dataclass
class PortalState:
    """One app's registries (filled by ``init_app`` steps) and caches (filled by use)."""

    # navigation: badge name -> provider(user) -> a COUNT statement bound on ``user_id``, or None
    badge_providers: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    # the library's item page: (patient id, library item id) -> the patient's plan item, or None
    plan_item_lookups: list[Callable[[int, int], Any]] = field(default_factory=list)
    # kept statements, by builder and arguments (see portal.sqlutil)
    statements: dict[tuple, Any] = field(default_factory=dict)
    # library texts in other languages, by (item id, locale) (see portal.exercises.translations)
    library_texts: dict[tuple[int, str], Any] = field(default_factory=dict)
    # templates' URLs that depend on the endpoint alone, by (script root, endpoint[, file]) (see portal.urlcache)
    urls: dict[tuple, str] = field(default_factory=dict)
    # the footer's clinics, with the time they were read (see portal.clinics)
    footer_clinics: tuple[float, list[dict]] | None = None
    # the worker's jobs, by name (see portal.jobs): each package registers its own from init_app
    jobs: dict[str, Any] = field(default_factory=dict)
    # the outbox's channels (email, text, push ...), by name (see portal.outbox): each package registers its own
    channels: dict[str, Any] = field(default_factory=dict)
    # Flask-Babel's message domain for this app's requests (see portal.i18n)
    i18n_domain: Any = None
    # WTForms' own messages, by locale (see portal.forms)
    wtforms_catalogs: dict[str, Any] = field(default_factory=dict)
    # table name -> what to forget when a transaction that wrote to it commits (see portal.sqlutil)
    forgetters: dict[str, list[Callable[[], None]]] = field(default_factory=dict)
    # the VAPID private key that signs web push requests (see portal.push)
    push_key: Any = None
    # each time zone's today where it differs from the practice's, for one 15-minute slot (see portal.timeutil)
    zone_todays: tuple[Any, dict[str, Any]] | None = None


def init_app(app: Flask) -> PortalState:
    """Give the app its empty state (the first step of create_app)."""
    state = PortalState()
    app.extensions[EXTENSION_KEY] = state
    return state


def portal_state(app: Flask | None = None) -> PortalState:
    """The state of ``app``, by default the current app's."""
    return (app or current_app).extensions[EXTENSION_KEY]

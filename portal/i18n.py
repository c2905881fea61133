"""The portal's languages: which one a request is in, and the Babel set-up.

A signed-in user reads the portal in the language stored on their account; an
anonymous visitor in the one they chose on the login page (kept in the session),
else the best match for their browser's Accept-Language, else English. Anything
else (an unknown code from a form, a query string or an old row) falls back to English.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_app_context, has_request_context, request, session
from flask_babel import Domain, get_locale
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from portal.extensions import babel
from portal.timeutil import DEFAULT_TIMEZONE

# Shown in each language's own name, so a reader finds theirs.
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
SESSION_KEY = "lang"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def supported_language(code: str | None) -> str:
    """The code if the portal speaks it, else English."""
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def select_locale() -> str:
    # Outside a request (CLI, reminders, alert scans) text is English unless the
    # caller forces the recipient's language with flask_babel.force_locale.
    if not has_request_context():
        return DEFAULT_LANGUAGE
    api_user = g.get("api_user")  # signed in with a bearer token: the cookie's user does not count
    if api_user is not None:
        return supported_language(api_user.language)
    if getattr(current_user, "is_authenticated", False):
        return supported_language(getattr(current_user, "language", None))
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(tuple(LANGUAGES), default=DEFAULT_LANGUAGE)


def select_timezone() -> str:
    if has_request_context() and g.get("api_user") is not None:
        return g.api_user.tz
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.tz
    return DEFAULT_TIMEZONE


def _per_locale(name: str, compute):
    """A value derived from the request's locale, computed once per request and locale.

    Kept beside Flask-Babel's own state and keyed by the locale object itself, so
    ``force_locale`` (which swaps that object in and back) is always honoured.
    """
    locale = get_locale()
    state = g.get("_flask_babel") if has_request_context() else None
    if state is not None:
        memo = getattr(state, name, None)
        if memo is not None and memo[0] is locale:
            return memo[1]
    value = compute(locale)
    if state is not None:
        setattr(state, name, (locale, value))
    return value


def current_language() -> str:
    """The request's language code ("en" or "es"); asked once per item on a list page."""
    return _per_locale("portal_language", lambda locale: supported_language(str(locale or DEFAULT_LANGUAGE)))


def current_locale_identifier() -> str:
    """The request's locale as Babel spells it ("en", "es"); dates format it hundreds of times a page."""
    return _per_locale("portal_locale_identifier", lambda locale: str(locale or DEFAULT_LANGUAGE))


class _RequestDomain(Domain):
    """Flask-Babel's message domain, with the request's catalog memoized beside its own state.

    A page asks for its catalog a few hundred times (every ``_`` in a template, every lazy
    label, every message built in Python); Flask-Babel's own lookup rebuilds the locale's
    identifier each time. The memo is keyed by the locale object itself, so ``force_locale``
    (which swaps that object in and back) is always honoured.
    """

    def get_translations(self):
        state = g.get("_flask_babel") if has_app_context() else None
        if state is not None:
            memo = getattr(state, "portal_translations", None)
            if memo is not None and memo[0] is getattr(state, "babel_locale", None):
                return memo[1]
        translations = super().get_translations()
        state = g.get("_flask_babel") if has_app_context() else None
        if state is not None:
            state.portal_translations = (getattr(state, "babel_locale", None), translations)
        return translations


_DOMAIN = _RequestDomain()


def _translations():
    return _DOMAIN.get_translations()


class _RequestCatalog:
    """Stands for the catalog of whatever locale is in force when a text is looked up."""

    def ugettext(self, string):
        return _translations().ugettext(string)

    def ungettext(self, singular, plural, num):
        return _translations().ungettext(singular, plural, num)


def _gettext_functions(catalog) -> dict:
    """Template ``_``, ``gettext`` and ``ngettext`` over ``catalog``: they behave exactly as Jinja's
    "newstyle" gettext (escaped, then %-formatted with the keyword arguments) but call the catalog
    directly.

    Each render gets them bound to the request's catalog as the render starts (``force_locale``
    included): a page calls ``_`` a few hundred times, and looking the catalog up each time was a
    measurable share of a page. Imported macros, which do not see the render's context, use the
    environment's, bound to a ``_RequestCatalog``.
    """

    def formatted(context, text: str, variables: dict):
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - the catalog is ours; values are escaped by the % below  # nosec B704
        return text % variables

    @pass_context
    def gettext(context, string, /, **variables):
        return formatted(context, catalog.ugettext(string), variables)

    @pass_context
    def ngettext(context, singular, plural, num, /, **variables):
        variables.setdefault("num", num)
        return formatted(context, catalog.ungettext(singular, plural, num), variables)

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def register_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel builds its domain lazily (a cached property): ours takes its place, for
    # the Python side (gettext, lazy labels) as for the templates.
    babel.domain_instance = _DOMAIN
    # After Flask-Babel installed its own: "_" too, so a template's _() is one call, not an alias of one.
    app.jinja_env.globals.update(_gettext_functions(_RequestCatalog()))

    @app.context_processor
    def inject_language():
        return {"current_language": current_language(), "languages": LANGUAGES, **_gettext_functions(_translations())}

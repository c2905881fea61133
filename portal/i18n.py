"""The portal's languages: which one a request is in, and the Babel set-up.

A signed-in user reads the portal in the language stored on their account; an
anonymous visitor in the one they chose on the login page (kept in the session),
else the best match for their browser's Accept-Language, else English. Anything
else (an unknown code from a form, a query string or an old row) falls back to English.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, g, has_app_context, has_request_context, request, session
from flask_babel import Domain, get_locale, get_translations
from flask_babel import force_locale as babel_force_locale
from flask_babel import refresh as babel_refresh
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from portal.extensions import babel
from portal.state import portal_state
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
    # caller forces the recipient's language with portal.i18n.force_locale.
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


# Which forced language a request is in: ``force_locale`` below changes it on the way in and on the way out, so a
# value kept for the request's language is never read under another one.
_LOCALE_GENERATION = "portal_locale_generation"


@contextmanager
def force_locale(locale: str) -> Iterator[None]:
    """Flask-Babel's ``force_locale`` (texts for a recipient in their own language), and the portal's per-request
    memos follow it. The portal forces a language only through this one: tests/test_i18n.py fails on code that
    imports Flask-Babel's directly, whose switch the memos would not see."""
    store = g._get_current_object() if has_app_context() else None
    with babel_force_locale(locale):
        _next_generation(store)
        try:
            yield
        finally:
            _next_generation(store)


def refresh_locale() -> None:
    """Flask-Babel's ``refresh`` (the language chosen again, as if the request had just begun), followed by the
    portal's per-request memos like ``force_locale``."""
    babel_refresh()
    _next_generation(g._get_current_object() if has_app_context() else None)


def _next_generation(store) -> None:
    if store is not None:
        setattr(store, _LOCALE_GENERATION, getattr(store, _LOCALE_GENERATION, 0) + 1)


def _per_locale(name: str, compute):
    """A value derived from the request's locale, computed once per request and forced language.

    Kept in ``g`` under our own name beside the forced-language generation it was computed in, so a
    ``force_locale`` or ``refresh_locale`` (ours, above) is always honoured. A page asks this about a hundred times (every
    lazy label, every ``_`` of an imported macro, every date): ``g`` is resolved once, and the locale is
    asked from ``get_locale()``, Flask-Babel's public API, only when the value is computed.
    """
    try:
        store = g._get_current_object()
    except RuntimeError:  # no app context: nothing to keep it in
        return compute(get_locale())
    generation = getattr(store, _LOCALE_GENERATION, 0)
    memo = getattr(store, name, None)
    if memo is not None and memo[0] == generation:
        return memo[1]
    value = compute(get_locale())
    setattr(store, name, (generation, value))
    return value


def current_language() -> str:
    """The request's language code ("en" or "es"); asked once per item on a list page."""
    return _per_locale("portal_language", lambda locale: supported_language(str(locale or DEFAULT_LANGUAGE)))


def current_locale_identifier() -> str:
    """The request's locale as Babel spells it ("en", "es"); dates format it hundreds of times a page."""
    return _per_locale("portal_locale_identifier", lambda locale: str(locale or DEFAULT_LANGUAGE))


class _LanguageOfTheRequest:
    """``current_language`` where a render's context does not reach (a macro imported without
    context): the request's language whenever it is printed or compared, never an empty string."""

    def __str__(self) -> str:
        return current_language()

    def __html__(self) -> str:
        return current_language()

    def __eq__(self, other: object) -> bool:
        return current_language() == (str(other) if isinstance(other, _LanguageOfTheRequest) else other)

    def __hash__(self) -> int:
        return hash(current_language())


# Templates' ``_``, ``gettext`` and ``ngettext`` behave exactly as Jinja's own "newstyle" i18n
# callables (the text escaped when the template autoescapes, then %-formatted with the keyword
# arguments, ``num`` included for ngettext) over the catalog a context processor hands each render
# (Flask-Babel's ``get_translations()``, asked once per render, ``force_locale`` included). A page
# calls ``_`` a few hundred times: Jinja's wrappers call the catalog through ``Context.call`` and
# format every text, even one without a ``%``, which together cost more than the lookup itself.
# A macro imported without context has no such variable and asks the app's domain (its per-request
# memo) each time.
RENDER_TRANSLATIONS = "portal_translations"
# The locale's name each render formats dates in, for the same reason: a chart page labels ~70 days.
RENDER_LOCALE = "portal_locale"


def _formatted(context, text: str, variables: dict):
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - the catalog is ours; values are escaped by the % below  # nosec B704
    # A text without "%" formats to itself when there are no values: only that case skips the %.
    return text % variables if variables or "%" in text else text


def _template_callables(domain: Domain) -> tuple:
    """The templates' gettext and ngettext for an app whose domain is ``domain``."""

    @pass_context
    def gettext(context, string, /, **variables):
        translations = context.get(RENDER_TRANSLATIONS)
        if translations is None:
            translations = domain.get_translations()
        return _formatted(context, translations.ugettext(string), variables)

    @pass_context
    def ngettext(context, singular, plural, num, /, **variables):
        translations = context.get(RENDER_TRANSLATIONS)
        if translations is None:
            translations = domain.get_translations()
        variables.setdefault("num", num)
        return _formatted(context, translations.ungettext(singular, plural, num), variables)

    return gettext, ngettext


class _RequestDomain(Domain):
    """Flask-Babel's message domain, its catalog kept per request and locale (in ``g``, under our
    own name): a page asks for it a few hundred times (every ``_`` in Python and in an imported
    macro, every lazy label), and Flask-Babel's own lookup rebuilds the locale's name each time."""

    def get_translations(self):
        return _per_locale("portal_translations", lambda _locale: Domain.get_translations(self))


def register_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # One per app (its catalogs cache included); each request makes it the default through
    # Flask-Babel's Domain.as_default().
    domain = portal_state(app).i18n_domain = _RequestDomain()
    app.before_request(domain.as_default)
    gettext, ngettext = _template_callables(domain)
    # Newstyle, so a {% trans %} block would call these with its values and format nothing itself.
    app.jinja_env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)
    # Jinja's ``_`` is an alias that looks ``gettext`` up and calls it on every use; a page calls
    # it a few hundred times, so it is the same function, and both replace Jinja's wrappers of them.
    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)
    app.jinja_env.globals["current_language"] = _LanguageOfTheRequest()

    @app.context_processor
    def inject_language():
        return {
            "current_language": current_language(),
            "languages": LANGUAGES,
            RENDER_TRANSLATIONS: get_translations(),
            RENDER_LOCALE: current_locale_identifier(),
        }

"""The application factory: create_app() reads as the list of steps that build the portal."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.templating import Environment
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter, Map

from config import BASE_DIR, Config, config_for
from portal import clinics, mail, mediastore, push, state
from portal.admin import wiring as admin
from portal.api import wiring as api
from portal.api.blueprint import PREFIX as API_PREFIX
from portal.auth import sessions
from portal.auth import wiring as auth
from portal.care import wiring as care
from portal.cli import register_commands
from portal.coaching import wiring as coaching
from portal.errors import register_error_handlers
from portal.exercises import wiring as exercises
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.fhir import wiring as fhir
from portal.formatting import register_template_filters
from portal.formrender import field_block
from portal.i18n import register_i18n
from portal.jsonbody import SafeJSONProvider
from portal.messaging import wiring as messaging
from portal.navigation import badges_for, nav_for
from portal.outcomes import wiring as outcomes
from portal.patients import wiring as patients
from portal.security import apply_upload_limit, register_security
from portal.sqlutil import end_reads_with_commit, track_writes, tune_sqlite
from portal.urlcache import template_url_for


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, whose templates read the environment's globals directly.

    Jinja gives every template a ChainMap over the environment's globals so that globals given to one
    template never reach the others. The portal gives templates none of their own, and the ChainMap
    costs on every page: each render copies it, and each ``{% from "_macros.html" import ... %}`` looks
    its names up one by one through it. A template without globals of its own gets the environment's
    dict itself (so globals registered after it was loaded are seen, as before); one with some gets
    Jinja's ChainMap.
    """

    def make_globals(self, d):
        return super().make_globals(d) if d else self.globals


class PortalFlask(Flask):
    jinja_environment = TemplateEnvironment


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    """Build the app: config, its state, extensions, each feature package, errors, headers, CLI."""
    config_class = config if isinstance(config, type) else config_for(config)
    if hasattr(config_class, "validate"):
        config_class.validate()
    app = PortalFlask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.json = SafeJSONProvider(app)
    app.config.from_object(config_class)
    app.config.update(overrides)
    _ensure_instance_dir(app)

    state.init_app(app)  # every registry and cache of this app, filled by the steps below
    configure_logging(app)
    register_extensions(app)
    register_i18n(app)
    register_url_converters(app)
    clinics.init_app(app)
    # Each feature package registers its blueprints, badges, lookups, template helpers and commands.
    auth.init_app(app)
    admin.init_app(app)
    exercises.init_app(app)
    care.init_app(app)
    coaching.init_app(app)
    patients.init_app(app)
    messaging.init_app(app)
    api.init_app(app)
    fhir.init_app(app)
    outcomes.init_app(app)
    register_session_rules(app)
    register_template_helpers(app)
    register_template_filters(app)
    register_error_handlers(app)
    register_security(app)
    register_commands(app)
    return app


def _ensure_instance_dir(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (BASE_DIR / "instance").mkdir(exist_ok=True)


class PathOnlyAccessLog(logging.Filter):
    """The development server's access log (`flask run`) with paths only, never query strings.

    Reset and invitation links carry their token in the query string; the terminal,
    like any log, must never hold one. Gunicorn's production format logs %(U)s only.
    """

    _QUERY = re.compile(r"^(\S+ [^?\s]*)\?\S*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (self._QUERY.sub(r"\1", record.args[0]), *record.args[1:])
        elif isinstance(record.msg, str) and "?" in record.msg:
            record.msg = re.sub(r"(\"\S+ [^?\s]*)\?\S*", r"\1", record.msg)
        return True


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, PathOnlyAccessLog) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(PathOnlyAccessLog())
    app.logger.setLevel(level)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine)
        end_reads_with_commit(app, db.engine)
        track_writes(app, db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    # Before CSRF: the token check reads the form, and an upload route's body may be larger.
    app.before_request(apply_upload_limit)
    csrf.init_app(app)
    mediastore.init_app(app)
    mail.init_app(app)
    push.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Built when the app is, so lazy: flashed in the language of the visitor it turns away.
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.localize_callback = str
    login_manager.login_message_category = "info"
    # A session cookie copied elsewhere keeps working only with the same token;
    # "strong" protection would also end sessions on legitimate IP changes (phones).
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(secret: str):
        # The cookie holds a session's random secret; the row decides (limits, sign-out on other servers).
        resumed = sessions.resume(secret)
        if sessions.needs_commit(resumed.session):
            db.session.commit()
        if resumed.ended == "idle":
            g.session_idle_ended = True
        return resumed.session.user if resumed.session is not None else None


# The largest id any table can hold (a PostgreSQL INTEGER); SQLite overflows above 2**63.
MAX_URL_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: a number no id column can hold is a 404, never a database error."""

    regex = r"\d{1,10}"

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits, min, MAX_URL_ID if max is None else max, signed)


def register_url_converters(app: Flask) -> None:
    # Before the features' blueprints: rules pick their converters when they are added.
    app.url_map.converters["int"] = BoundedIntConverter


def register_session_rules(app: Flask) -> None:
    app.permanent_session_lifetime = timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"])

    @app.before_request
    def resume_session():
        """Load the session first: the idle and absolute limits apply to every request, from the first."""
        if request.endpoint == "static" or request.path.startswith(API_PREFIX):
            return None  # the API signs in with bearer tokens only: the cookie's session is not even loaded
        if current_user.is_authenticated:
            return None
        if "_user_id" in session:
            # The cookie names a session that has ended (sign-out, limit, ended elsewhere): forget it.
            session.clear()
            if g.pop("session_idle_ended", False):
                flash(_("You were signed out after a period of inactivity."), "info")
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
        return None


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject_navigation():
        # The user itself, not the proxy: the navigation reads its role and id several times.
        user = current_user._get_current_object()
        items = nav_for(user)
        return {"nav_items": items, "nav_badges": badges_for(user) if items else {}}

    @app.context_processor
    def inject_clinics():
        return {"footer_clinics": clinics.footer_clinics()}

    app.jinja_env.globals["url_for"] = template_url_for
    app.jinja_env.globals["field_block"] = field_block  # imported by templates as ``field`` from _macros.html
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

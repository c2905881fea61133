"""The application factory: create_app() reads as the list of steps that build the portal."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

# View modules are imported for their side effect: each registers its routes on its feature's blueprint.
import portal.admin.views  # noqa: F401
import portal.auth.twofactor_views  # noqa: F401
import portal.auth.views  # noqa: F401
import portal.coaching.alert_views  # noqa: F401
import portal.coaching.views  # noqa: F401
import portal.exercises.views  # noqa: F401
import portal.messaging.views  # noqa: F401
import portal.models  # noqa: F401 - every table registered before first use
import portal.patients.calendar_views  # noqa: F401
import portal.patients.checkin_views  # noqa: F401
import portal.patients.progress_views  # noqa: F401
import portal.patients.views  # noqa: F401
from config import BASE_DIR, Config, config_for
from portal.admin.blueprint import bp as admin_bp
from portal.auth.blueprint import bp as auth_bp
from portal.auth.models import User
from portal.cli import register_commands
from portal.clinics import footer_clinics
from portal.coaching.blueprint import bp as coaching_bp
from portal.errors import register_error_handlers
from portal.exercises.blueprint import bp as exercises_bp
from portal.extensions import csrf, db, limiter, login_manager, migrate
from portal.formatting import register_template_filters
from portal.i18n import register_i18n
from portal.messaging.blueprint import bp as messaging_bp
from portal.navigation import badges_for, nav_for
from portal.patients.blueprint import bp as patients_bp
from portal.security import register_security
from portal.timeutil import utcnow


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    """Build the app: config, extensions, blueprints, errors, headers, CLI."""
    config_class = config if isinstance(config, type) else config_for(config)
    if hasattr(config_class, "validate"):
        config_class.validate()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    _ensure_instance_dir(app)

    configure_logging(app)
    register_extensions(app)
    register_i18n(app)
    register_blueprints(app)
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


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.logger.setLevel(level)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _("Please log in to continue.")
    login_manager.login_message_category = "info"
    # A session cookie copied elsewhere keeps working only with the same token;
    # "strong" protection would also end sessions on legitimate IP changes (phones).
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token: str):
        # Sessions store the user's session_token; rotating it ends them everywhere.
        if not token or len(token) > 64:
            return None
        user = db.session.scalar(db.select(User).where(User.session_token == token))
        if user is None or not user.is_active:
            return None
        return user


BLUEPRINTS = (
    (auth_bp, None),
    (admin_bp, "/admin"),
    (exercises_bp, "/library"),
    (coaching_bp, "/coach"),
    (patients_bp, "/me"),
    (messaging_bp, "/messages"),
)


def register_blueprints(app: Flask) -> None:
    for blueprint, prefix in BLUEPRINTS:
        app.register_blueprint(blueprint, url_prefix=prefix)


def register_session_rules(app: Flask) -> None:
    app.permanent_session_lifetime = timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"])
    idle_limit = timedelta(minutes=app.config["STAFF_IDLE_MINUTES"])

    @app.before_request
    def end_idle_staff_sessions():
        """Staff sessions end after an idle period (they open many patients' records)."""
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = utcnow()
        if current_user.is_staff:
            last_seen = session.get("last_seen")
            if last_seen is not None and now.timestamp() - float(last_seen) > idle_limit.total_seconds():
                logout_user()
                session.clear()
                flash(_("You were signed out after a period of inactivity."), "info")
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
            # Writing the cookie on every request is cheap; skip it within the same minute.
            if last_seen is None or now.timestamp() - float(last_seen) > 60:
                session["last_seen"] = now.timestamp()
        return None


def register_template_helpers(app: Flask) -> None:
    @app.context_processor
    def inject_navigation():
        items = nav_for(current_user)
        return {"nav_items": items, "nav_badges": badges_for(current_user, items) if items else {}}

    @app.context_processor
    def inject_clinics():
        return {"footer_clinics": footer_clinics()}

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

"""Holistiq Coach: the application factory."""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta

from flask import Flask, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from config import BASE_DIR, Config, config_for
from portal.extensions import csrf, db, limiter, login_manager, migrate
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
    register_blueprints(app)
    register_session_rules(app)
    register_template_helpers(app)
    from portal.errors import register_error_handlers
    from portal.security import register_security

    register_error_handlers(app)
    register_security(app)
    from portal.cli import register_commands

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
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    # A session cookie copied elsewhere keeps working only with the same token;
    # "strong" protection would also end sessions on legitimate IP changes (phones).
    login_manager.session_protection = "basic"

    import portal.models  # noqa: F401 - every table registered before first use
    from portal.auth.models import User

    @login_manager.user_loader
    def load_user(token: str):
        # Sessions store the user's session_token; rotating it ends them everywhere.
        if not token or len(token) > 64:
            return None
        user = db.session.scalar(db.select(User).where(User.session_token == token))
        if user is None or not user.is_active:
            return None
        return user


# Importing a view module registers its routes on its feature's blueprint.
VIEW_MODULES = (
    "portal.auth.views",
    "portal.auth.twofactor_views",
    "portal.admin.views",
    "portal.exercises.views",
    "portal.coaching.views",
    "portal.coaching.alert_views",
    "portal.patients.views",
    "portal.patients.checkin_views",
    "portal.patients.progress_views",
    "portal.patients.calendar_views",
    "portal.messaging.views",
)

BLUEPRINTS = (
    ("portal.auth.blueprint", None),
    ("portal.admin.blueprint", "/admin"),
    ("portal.exercises.blueprint", "/library"),
    ("portal.coaching.blueprint", "/coach"),
    ("portal.patients.blueprint", "/me"),
    ("portal.messaging.blueprint", "/messages"),
)


def register_blueprints(app: Flask) -> None:
    for module in VIEW_MODULES:
        importlib.import_module(module)
    for module, prefix in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module).bp, url_prefix=prefix)


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
                flash("You were signed out after a period of inactivity.", "info")
                return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
            # Writing the cookie on every request is cheap; skip it within the same minute.
            if last_seen is None or now.timestamp() - float(last_seen) > 60:
                session["last_seen"] = now.timestamp()
        return None


def register_template_helpers(app: Flask) -> None:
    from portal.navigation import badges_for, nav_for

    @app.context_processor
    def inject_navigation():
        items = nav_for(current_user)
        return {"nav_items": items, "nav_badges": badges_for(current_user, items) if items else {}}

    @app.context_processor
    def inject_clinics():
        from portal.clinics import footer_clinics

        return {"footer_clinics": footer_clinics()}

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

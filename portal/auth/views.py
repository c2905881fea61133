"""Sign-in, sign-out, own password and preferences."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from portal import audit
from portal.auth import sessions, tokens, twofactor
from portal.auth.blueprint import bp
from portal.auth.forms import (
    ChangePasswordForm,
    EndSessionForm,
    ForgotPasswordForm,
    LanguageForm,
    LoginForm,
    PlanTimesForm,
    PreferencesForm,
    SetPasswordForm,
)
from portal.auth.models import User, email_lookup, format_plan_times
from portal.auth.passwords import verify_password
from portal.auth.services import authenticate, record_successful_login, send_password_link, set_password
from portal.errors import NotFound
from portal.extensions import db, limiter
from portal.health import database_ok
from portal.i18n import LANGUAGES, SESSION_KEY, force_locale, supported_language
from portal.navigation import home_endpoint_for
from portal.outbox import deliver_after_response

FAILED_LOGIN_MESSAGE = _l("Invalid email or password.")


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: '/x' yes; '//evil', 'https://evil', '/\\evil' no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint_for(current_user)))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint_for(current_user)))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = authenticate(form.email.data, form.password.data)
        if result.user is not None:
            return finish_login(result.user, request.args.get("next"))
        flash(FAILED_LOGIN_MESSAGE, "danger")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def start_browser_session(user: User) -> None:
    """A new server-side session for this browser (the caller commits): a fresh cookie, no fixation."""
    session.clear()
    _row, secret = sessions.start(user, user_agent=request.user_agent.string, ip=request.remote_addr)
    user._session_secret = secret
    login_user(user)
    session.permanent = True


def finish_login(user, next_url: str | None):
    """Start the session (or hand over to the second-factor step) and redirect."""
    if twofactor.needs_second_factor(user):
        session.clear()
        _row, secret = sessions.start(
            user,
            kind=sessions.SessionKind.TWO_FACTOR_PENDING,
            user_agent=request.user_agent.string,
            ip=request.remote_addr,
        )
        db.session.commit()
        twofactor.remember_challenge(session, secret, next_url)
        return redirect(url_for("auth.two_factor"))
    start_browser_session(user)
    record_successful_login(user)  # commits the session row with the audit event
    return redirect(safe_next(next_url) or url_for(home_endpoint_for(user)))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        if user.current_session is not None:
            sessions.end(user.current_session)
        audit.record("logout", user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    password_form = ChangePasswordForm(prefix="pw")
    password_form.email_for_policy = user.email
    prefs_form = PreferencesForm(prefix="prefs", obj=user)
    language_form = LanguageForm(prefix="lang", obj=user)
    # Only a patient's page shows (and takes) their plan times.
    times_form = PlanTimesForm(prefix="times") if user.is_patient else None
    if times_form is not None and not times_form.submit.data:
        times_form.load(user)
    status = 200
    if password_form.submit.data and password_form.validate_on_submit():
        if not verify_password(user.password_hash, password_form.current_password.data):
            password_form.current_password.errors.append(_("This is not your current password."))
            status = 400
        else:
            # Ends every session, this one included; this browser's phone notifications stay on.
            set_password(user, password_form.password.data, staying=user.current_session)
            start_browser_session(user)  # this browser stays signed in, on a new session
            db.session.commit()
            flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("auth.account"))
    elif prefs_form.submit.data and prefs_form.validate_on_submit():
        user.email_notifications = prefs_form.email_notifications.data
        user.reminder_time = prefs_form.reminder_time.data
        audit.record("account.preferences", user)
        db.session.commit()
        flash(_("Your preferences have been saved."), "success")
        return redirect(url_for("auth.account"))
    elif times_form is not None and times_form.submit.data:
        if times_form.validate_on_submit():
            user.plan_times_stored = format_plan_times(times_form.chosen_times())
            user.plan_reminders = times_form.plan_reminders.data
            audit.record("account.plan_times", user, times=user.plan_times_stored, reminders=user.plan_reminders)
            db.session.commit()
            flash(_("Your times are saved. Download your calendar again to update it."), "success")
            return redirect(url_for("auth.account", _anchor="plan-times"))
        status = 400
    elif language_form.submit.data and language_form.validate_on_submit():
        user.language = supported_language(language_form.language.data)
        audit.record("account.language", user, language=user.language)
        db.session.commit()
        # Flashed after the change, so the confirmation reads in the new language.
        with force_locale(user.language):
            flash(_("Your language has been saved."), "success")
        return redirect(url_for("auth.account"))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "auth/account.html",
            password_form=password_form,
            prefs_form=prefs_form,
            language_form=language_form,
            times_form=times_form,
            user=user,
            this_session_id=user.current_session.id if user.current_session is not None else None,
            user_sessions=sessions.active_for(user),
        ),
        status,
    )


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    """End one of your own sessions (a lost phone, a shared computer); someone else's is 404."""
    if not EndSessionForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    try:
        row = sessions.end_own(user, session_id)
    except NotFound:
        abort(404)
    audit.record("session.end", user, device=row.device)
    db.session.commit()
    if user.current_session is not None and row.id == user.current_session.id:
        logout_user()
        session.clear()
        flash(_("You have logged out."), "info")
        return redirect(url_for("auth.login"))
    flash(_("That session has ended. The device is signed out."), "success")
    return redirect(url_for("auth.account") + "#sessions-heading")


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """Sign out every other device, keeping this one."""
    if not EndSessionForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    ended = sessions.end_all(user, keep=user.current_session)
    audit.record("session.end_others", user, count=ended)
    db.session.commit()
    flash(
        ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.", ended)
        if ended
        else _("There were no other sessions to end."),
        "success",
    )
    return redirect(url_for("auth.account") + "#sessions-heading")


@bp.route("/language/<code>")
def choose_language(code: str):
    """The language link on the sign-in page: kept in the session until sign-in, where the account's own applies.

    An unknown code means English. Only a same-site ``next`` is followed.
    """
    session[SESSION_KEY] = supported_language(code)
    return redirect(safe_next(request.args.get("next")) or url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.scalar(email_lookup(form.email.data))
        email = send_password_link(user, tokens.RESET) if user is not None and user.is_active else None
        audit.record("password.reset_requested", user, actor=user)
        db.session.commit()
        # Known and unknown emails leave the same way: the SMTP conversation happens after
        # the response, so the response time does not tell whether the account exists.
        deliver_after_response(email)
        # The same answer whether or not the account exists.
        flash(_("If an account uses that email, a reset link is on its way. It works once and expires soon."), "info")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


def _link_token(purpose: str):
    """The link's token, kept in the session after the first visit: (token, redirect or None).

    The first GET moves the token from the query string into the session and redirects
    to the same page without it, so the token is in no later URL, Referer or access log.
    """
    key = f"link-token:{purpose}"
    token = request.args.get("token")
    if token is not None and request.method == "GET":
        session[key] = token[:500]
        return None, redirect(url_for(request.endpoint))
    return (token or session.get(key, "")), None


def _set_password_from_token(purpose: str, template: str):
    token, moved = _link_token(purpose)
    if moved is not None:
        return moved
    user = tokens.user_from_token(token, purpose)
    if user is None:
        flash(_("This link is invalid, has already been used, or has expired. Ask for a new one."), "warning")
        return render_template("auth/link_invalid.html"), 400
    # The page speaks its user's language (an invited patient may read no English), unless this
    # browser chose one on the sign-in page.
    with force_locale(_link_language(user)):
        return _set_password_page(user, purpose, template)


def _link_language(user: User) -> str:
    chosen = session.get(SESSION_KEY)
    return chosen if chosen in LANGUAGES else supported_language(user.language)


def _set_password_page(user: User, purpose: str, template: str):
    """The set-password form of a reset or invitation link whose user is known; its answer."""
    form = SetPasswordForm()
    form.email_for_policy = user.email
    if form.validate_on_submit():
        set_password(
            user, form.password.data, action="password.reset" if purpose == tokens.RESET else "invitation.accepted"
        )
        db.session.commit()
        session.pop(f"link-token:{purpose}", None)
        if purpose == tokens.INVITE:
            # Accepting an invitation proved the email address: the new user is signed in at
            # once, a patient on Today and staff straight on the two-step enrolment they need.
            # The message follows the sign-in, which starts a fresh session.
            if twofactor.must_enrol(user):
                response = finish_login(user, url_for("auth.two_factor_setup"))
                flash(_("Your password is set. Next, set up two-step sign-in."), "success")
            else:
                response = finish_login(user, None)
                flash(_("Welcome! Your password is set and you are signed in."), "success")
            return response
        flash(_("Your password is set. You can log in now."), "success")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, user=user), status


# The token arrives in the query string (emails link to it) and moves into the session at
# once; the development and production access logs record paths only.
@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    return _set_password_from_token(tokens.RESET, "auth/reset.html")


@bp.route("/invitation", methods=["GET", "POST"])
def accept_invitation():
    return _set_password_from_token(tokens.INVITE, "auth/reset.html")


@bp.route("/healthz")
def healthz():
    if database_ok():
        return {"status": "ok"}, 200
    return {"status": "unavailable", "database": "down"}, 503

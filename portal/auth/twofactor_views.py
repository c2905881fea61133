"""Two-factor routes: the code step of sign-in, enrolment, recovery codes, and the staff rule.

Staff (coaches and admins) must enrol before they can use any other page;
patients may opt in from their account page.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from portal import audit
from portal.auth import twofactor
from portal.auth.blueprint import bp
from portal.auth.models import User
from portal.auth.services import count_second_factor_failure, record_successful_login
from portal.auth.views import safe_next, start_browser_session
from portal.extensions import db, limiter
from portal.forms import PortalForm, single_line, strip_filter
from portal.navigation import home_endpoint_for

WRONG_CODE = _l("That code is not right, or it was already used. Try the newest code from your app.")

# Pages a signed-in staff member may open before enrolling.
ENROLMENT_ALLOWED_ENDPOINTS = frozenset(
    {"static", "auth.two_factor_setup", "auth.logout", "auth.healthz", "auth.two_factor"}
)


class CodeForm(PortalForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(_l("Enter the code.")),
            Length(max=64, message=_l("That is too long for a code.")),
            single_line,
        ],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Continue"))


class SetupForm(CodeForm):
    submit = SubmitField(_l("Turn on two-step sign-in"))


class RecoveryCodesForm(CodeForm):
    submit = SubmitField(_l("Make new recovery codes"))


class DisableForm(CodeForm):
    submit = SubmitField(_l("Turn off"))


# --- rate limiting ------------------------------------------------------------


def _code_rate_limit() -> str:
    return current_app.config.get("TWO_FACTOR_RATE_LIMIT", "5 per minute")


def _code_attempt_key() -> str:
    """Count code attempts per account (from any address), falling back to the address."""
    if current_user.is_authenticated:
        return f"2fa-user-{current_user.id}"
    # Per account, so starting the password step again does not buy new attempts.
    user = twofactor.pending_user(session)
    if user is not None:
        return f"2fa-user-{user.id}"
    return "2fa-ip-" + (get_remote_address() or "")


def _failed(response) -> bool:
    # Only wrong codes use up the allowance: a person who signs in often is not throttled.
    return response.status_code not in (200, 302, 303) or getattr(response, "code_rejected", False)


def _limited(view):
    return limiter.limit(_code_rate_limit, key_func=_code_attempt_key, methods=["POST"], deduct_when=_failed)(view)


def _reject(template: str, status: int = 400, **context):
    response = current_app.make_response((render_template(template, **context), status))
    response.code_rejected = True
    return response


# --- staff must enrol ---------------------------------------------------------


@bp.before_app_request
def require_staff_enrolment():
    """Coaches and admins use the portal only after enrolling an authenticator."""
    if not current_user.is_authenticated or request.endpoint in ENROLMENT_ALLOWED_ENDPOINTS:
        return None
    if twofactor.must_enrol(current_user):
        flash(_("Set up two-step sign-in to continue. Staff accounts need it to open patient records."), "warning")
        return redirect(url_for("auth.two_factor_setup"))
    return None


# --- the code step of sign-in ---------------------------------------------------


def _restart_login(message: str):
    session.pop(twofactor.PENDING_KEY, None)
    flash(message, "warning")
    return redirect(url_for("auth.login"))


@bp.route("/login/two-factor", methods=["GET", "POST"])
@_limited
def two_factor():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint_for(current_user)))
    user = twofactor.pending_user(session)
    if user is None:
        return _restart_login(_("Please log in again."))
    form = CodeForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/two_factor.html", form=form), status
    method = twofactor.verify_second_factor(user, form.code.data)
    if method is None:
        _count_failure(user)
        db.session.commit()
        if user.is_locked:
            return _restart_login(_("Too many wrong codes. The account is locked for a while; try again later."))
        form.code.errors.append(WRONG_CODE)
        return _reject("auth/two_factor.html", 401, form=form)
    next_url = twofactor.pending_next(session)
    if not twofactor.complete_challenge(session):
        # Another request (or server) used this challenge first.
        db.session.rollback()
        return _restart_login(_("Please log in again."))
    if method == "recovery":
        left = twofactor.recovery_codes_left(user)
        audit.record("2fa.recovery_code_used", user, actor=user, codes_left=left)
        flash(
            ngettext(
                "You signed in with a recovery code; %(num)d left. Make new codes on your account page if you are running low.",
                "You signed in with a recovery code; %(num)d left. Make new codes on your account page if you are running low.",
                left,
            ),
            "warning",
        )
    start_browser_session(user)  # a fresh session once both factors are proven
    record_successful_login(user)  # commits the session row, with the audit event
    return redirect(safe_next(next_url) or url_for(home_endpoint_for(user)))


def _count_failure(user: User) -> None:
    count_second_factor_failure(user)


# --- enrolment and management ------------------------------------------------


def _restart_session(user: User) -> None:
    """Keep this browser signed in, on a new session, after all of the user's sessions ended."""
    start_browser_session(user)
    db.session.commit()


def _setup_context(user: User, **forms) -> dict:
    context = {"user": user, **forms}
    if not user.totp_enabled:
        context["secret"] = twofactor.format_secret(user.totp_secret)
        context["qr_code"] = twofactor.qr_code_data_uri(twofactor.provisioning_uri(user))
    else:
        context["codes_left"] = twofactor.recovery_codes_left(user)
    return context


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
@_limited
def two_factor_setup():
    user: User = current_user._get_current_object()
    if user.totp_enabled:
        context = _setup_context(
            user, codes_form=RecoveryCodesForm(prefix="codes"), disable_form=DisableForm(prefix="off")
        )
        return render_template("auth/two_factor_setup.html", **context)
    if not user.totp_secret:
        twofactor.start_enrolment(user)
        db.session.commit()
    form = SetupForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("auth/two_factor_setup.html", **_setup_context(user, form=form)), status
    codes = twofactor.confirm_enrolment(user, form.code.data)
    if codes is None:
        db.session.rollback()
        form.code.errors.append(WRONG_CODE)
        return _reject("auth/two_factor_setup.html", 400, **_setup_context(user, form=form))
    db.session.commit()
    _restart_session(user)
    flash(_("Two-step sign-in is on. You will enter a code from your app each time you log in."), "success")
    return render_template("auth/two_factor_codes.html", codes=codes, fresh=True)


def _current_code_given(user: User, form) -> bool:
    """True when the form is valid and carries a current code; otherwise nothing is kept and the field says why."""
    if form.validate_on_submit() and twofactor.accept_totp(user, form.code.data):
        return True
    db.session.rollback()
    if form.code.data and not form.code.errors:
        form.code.errors.append(WRONG_CODE)
    return False


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@login_required
@_limited
def two_factor_recovery_codes():
    user: User = current_user._get_current_object()
    if not user.totp_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    form = RecoveryCodesForm(prefix="codes")
    if not _current_code_given(user, form):
        context = _setup_context(user, codes_form=form, disable_form=DisableForm(prefix="off", formdata=None))
        return _reject("auth/two_factor_setup.html", 400, **context)
    codes = twofactor.issue_recovery_codes(user)
    audit.record("2fa.recovery_codes_reissued", user, actor=user)
    db.session.commit()
    return render_template("auth/two_factor_codes.html", codes=codes, fresh=False)


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
@_limited
def two_factor_disable():
    user: User = current_user._get_current_object()
    if not user.totp_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    form = DisableForm(prefix="off")
    if not _current_code_given(user, form):
        context = _setup_context(user, codes_form=RecoveryCodesForm(prefix="codes", formdata=None), disable_form=form)
        return _reject("auth/two_factor_setup.html", 400, **context)
    twofactor.disable(user, actor=user)
    db.session.commit()
    _restart_session(user)
    if user.is_staff:
        flash(_("Your old authenticator is removed. Set up the new one now."), "info")
    else:
        flash(_("Two-step sign-in is off. Other devices have been signed out."), "info")
    return redirect(url_for("auth.two_factor_setup" if user.is_staff else "auth.account"))

""" "Before we start": the patient agrees to their clinic's coaching agreement and privacy notice.

Until a patient has agreed to both documents of their clinic's newest version, every
page of the portal sends them here (the API answers 403 ``consent_required`` instead,
see portal.api.blueprint). The texts stay readable later from the account page.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.access import patient_required
from portal.auth.models import Role
from portal.care.consent import (
    KIND_TITLES,
    ConsentVersionChanged,
    NoConsentTexts,
    consent_state,
    give_consent,
    latest_consents,
    texts_for,
)
from portal.care.intake import intake_for
from portal.extensions import db
from portal.i18n import current_language
from portal.patients.blueprint import bp
from portal.patients.forms import ConsentForm

# What a patient who has not agreed yet may still open: the consent pages, signing out,
# choosing the language the texts are read in, and the portal's static files.
CONSENT_ALLOWED_ENDPOINTS = frozenset(
    {"static", "patients.consent", "auth.logout", "auth.healthz", "auth.choose_language", "auth.index"}
)


# The browser session remembers that this patient has agreed, so the check costs a statement
# once per sign-in, not on every page. Signing in starts a new session (portal.auth.views), so
# a version published meanwhile is asked at the patient's next sign-in, as the admin is told.
CONSENT_SESSION_KEY = "consent_ok"


def remember_consent_at_sign_in(sender, user, **extra) -> None:  # noqa: ARG001 - Flask-Login's signal
    """Check consent once, at sign-in (connected to Flask-Login's ``user_logged_in`` by the package's
    init_app): the pages after it then cost no statement for it."""
    if user.role == Role.PATIENT and consent_state(user).given:
        session[CONSENT_SESSION_KEY] = user.id


@bp.before_app_request
def require_consent():
    """Patients reach the portal only after agreeing to their clinic's newest texts (pages only; the API checks its own)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in CONSENT_ALLOWED_ENDPOINTS or endpoint.startswith("api."):
        return None
    user = current_user._get_current_object()  # every page asks: the user once, not through the proxy each time
    if not user.is_authenticated or user.role != Role.PATIENT:
        return None
    if session.get(CONSENT_SESSION_KEY) == user.id:
        return None
    if consent_state(user).given:
        session[CONSENT_SESSION_KEY] = user.id
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("patients.consent"))
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"error": _("Please agree to continue"), "code": "consent_required"}), 403
    return redirect(url_for("patients.consent"), 303)


def _render(form: ConsentForm, status: int = 200, changed: bool = False):
    try:
        version, texts = texts_for(current_user.clinic_id, current_language())
    except NoConsentTexts:
        return render_template("patients/consent.html", form=form, texts=[], version=None, changed=False), 503
    form.version.data = str(version)
    return render_template("patients/consent.html", form=form, texts=texts, version=version, changed=changed), status


@bp.route("/consent", methods=["GET", "POST"])
@patient_required
def consent():
    if request.method == "GET":
        if consent_state(current_user).given:
            return redirect(url_for("patients.agreements"))
        return _render(ConsentForm(formdata=None))
    form = ConsentForm()
    valid = form.validate()
    if form.csrf_token.errors:
        return _render(form, 400)
    if not valid:
        return _render(form, 422)
    try:
        give_consent(current_user, form.shown_version() or 0, current_language(), request.remote_addr or "")
    except ConsentVersionChanged:
        db.session.rollback()
        # Show the newer texts with the boxes unticked: agreeing to what was not shown counts for nothing.
        return _render(ConsentForm(formdata=None), 409, changed=True)
    except NoConsentTexts:
        db.session.rollback()
        return _render(form, 503)
    db.session.commit()
    session[CONSENT_SESSION_KEY] = current_user.id
    flash(_("Thank you. You can read these texts again at any time from your account page."), "success")
    # Next comes "About your back", unless it is done (a new version agreed to later).
    intake = intake_for(current_user.id)
    return redirect(url_for("patients.today" if intake is not None and intake.finished_at else "patients.intake"))


@bp.route("/agreements")
@patient_required
def agreements():
    """The texts the patient agreed to, readable in full at any time (linked from the account page)."""
    try:
        version, texts = texts_for(current_user.clinic_id, current_language())
    except NoConsentTexts:
        version, texts = None, []
    return render_template(
        "patients/agreements.html",
        texts=texts,
        version=version,
        given=latest_consents(current_user),
        kind_titles={kind: str(title) for kind, title in KIND_TITLES.items()},
    )

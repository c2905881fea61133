"""Phone notifications (web push): the VAPID public key, the browser's subscription (JSON, from push.js), the
device list's plain forms on the account page, and the service worker served from the site root."""

from __future__ import annotations

from functools import cached_property

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import audit, outbox, push
from portal.auth.models import Role, User
from portal.auth.sessions import describe_device
from portal.extensions import db
from portal.i18n import force_locale, supported_language
from portal.mail import public_url
from portal.messaging.push_forms import PushOffForm, PushPreferencesForm, PushTestForm

push_bp = Blueprint("push", __name__)

# Who may have phone notifications: patients (reminders, messages) and coaches (messages, their patients' alerts).
SUBSCRIBERS = (Role.PATIENT, Role.COACH)


@push_bp.app_context_processor
def push_helpers():
    """Lets the account page include templates/messaging/_push.html."""
    return {"phone_notifications": phone_notifications_section}


class _Section:
    """What templates/messaging/_push.html shows, each part read or built when the template first
    asks for it. A device's test and off forms are a CSRF token and a button: no form object."""

    def __init__(self, devices: list | None = None) -> None:
        if devices is not None:  # read by the caller with other rows (the patient's Reminders)
            self.devices = devices

    @cached_property
    def devices(self) -> list:
        return push.subscriptions_of(current_user.id)

    @cached_property
    def prefs_form(self) -> PushPreferencesForm:
        user = current_user
        return PushPreferencesForm(
            prefix="pushprefs",
            formdata=None,
            data={"push_messages": user.push_messages, "push_alerts": user.push_alerts},
        )

    @cached_property
    def session_id(self) -> int | None:
        """This browser's sign-in: the device turned on in it is this browser even without JavaScript."""
        signed_in = current_user.current_session
        return signed_in.id if signed_in is not None else None

    @cached_property
    def is_coach(self) -> bool:
        return current_user.role == Role.COACH


def phone_notifications_section(devices: list | None = None) -> _Section:
    """The section's data; ``devices`` when the caller has read them already."""
    return _Section(devices)


def _subscriber() -> User:
    if current_user.role not in SUBSCRIBERS:
        abort(403)
    return current_user._get_current_object()


def _problem(message: str, status: int):
    return jsonify({"error": message}), status


def _posted_to_own_device(sub_id: int, form_class: type) -> tuple[User, push.PushSubscription]:
    """The signed-in subscriber and their device ``sub_id`` (someone else's: 404), for a device's plain form."""
    user = _subscriber()
    sub = db.session.get(push.PushSubscription, sub_id)
    if sub is None or sub.user_id != user.id:
        abort(404)
    if not form_class(prefix="pushdevice").validate_on_submit():  # only the CSRF token can be wrong, and
        abort(400)  # CSRFProtect answers that first
    return user, sub


def _back_to_account():
    return redirect(url_for("auth.account", _anchor="reminders"))


@push_bp.route("/push/public-key", methods=["GET"])
def public_key():
    """The key browsers subscribe with (public by nature: it only lets the browser check who signs)."""
    return jsonify({"public_key": push.application_server_key()})


@push_bp.route("/sw.js", methods=["GET"])
def service_worker():
    """The service worker, from the site root so its scope is the whole portal (a script file: the CSP allows it)."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@push_bp.route("/me/push-subscriptions", methods=["POST"])
@login_required
def subscribe():
    """Store this browser's subscription (the JSON of PushSubscription.toJSON(); CSRF token in X-CSRFToken)."""
    user = _subscriber()
    data = request.get_json(silent=True)
    if data is None:
        return _problem(_("Send the subscription as JSON."), 400)
    allow_local = bool(current_app.config.get("PUSH_ALLOW_LOCAL_ENDPOINTS"))
    try:
        info = push.parse_subscription(data, allow_local=allow_local)
    except push.PushError as error:
        return _problem(_push_message(error), error.status)
    signed_in = user.current_session
    row, created = push.subscribe(
        user.id,
        info,
        describe_device(request.headers.get("User-Agent")),
        session_id=signed_in.id if signed_in is not None else None,
    )
    db.session.flush()
    if created:
        audit.record("push.on", user, device=row.device)
    db.session.commit()
    return jsonify({"id": row.id, "device": row.device}), 201 if created else 200


@push_bp.route("/me/push-subscriptions", methods=["DELETE"])
@login_required
def unsubscribe():
    """Forget this browser's subscription: ``{"endpoint": …}`` of one of the user's own."""
    user = _subscriber()
    data = request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _problem(_("Send the subscription's endpoint as JSON."), 400)
    if not push.unsubscribe(user.id, endpoint):
        return _problem(_("No such subscription."), 404)
    audit.record("push.off", user)
    db.session.commit()
    return "", 204


@push_bp.route("/me/push-subscriptions/<int:sub_id>/test", methods=["POST"])
@login_required
def send_test(sub_id: int):
    """One notification to that device, through the outbox like every other (sent right after this response)."""
    user, sub = _posted_to_own_device(sub_id, PushTestForm)
    with force_locale(supported_language(user.language)):
        message = push.queue(
            sub,
            "Holistiq Coach",
            _("This is a test notification. Notifications from the portal will come to this device."),
            public_url("auth.account"),
        )
    db.session.commit()
    outbox.deliver_after_response(message)
    flash(_("We sent a test notification to that device. It should arrive within a minute."), "success")
    return _back_to_account()


@push_bp.route("/me/push-subscriptions/<int:sub_id>/off", methods=["POST"])
@login_required
def turn_off(sub_id: int):
    user, sub = _posted_to_own_device(sub_id, PushOffForm)
    db.session.delete(sub)
    audit.record("push.off", user, device=sub.device)
    db.session.commit()
    flash(_("Notifications are off on that device."), "success")
    return _back_to_account()


@push_bp.route("/me/push/preferences", methods=["POST"])
@login_required
def preferences():
    user = _subscriber()
    form = PushPreferencesForm(prefix="pushprefs")
    if not form.validate_on_submit():  # check boxes cannot be wrong; only the CSRF token can
        abort(400)
    user.push_messages = bool(form.push_messages.data)
    if user.role == Role.COACH:
        user.push_alerts = bool(form.push_alerts.data)
    db.session.commit()
    flash(_("Your notification choices are saved."), "success")
    return _back_to_account()


def _push_message(error: push.PushError) -> str:
    """The person's words for a refused subscription (the service's messages are English for the log)."""
    if isinstance(error, push.EndpointRefused):
        return _("This browser's push service cannot be used. Try another browser.")
    return _("This browser sent a subscription the portal cannot use. Reload the page and try again.")

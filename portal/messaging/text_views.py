"""Text reminders: the patient's opt-in with a code (account page, section "Reminders") and the provider's
signed inbound replies (STOP, START, HELP) at /sms/inbound."""

from __future__ import annotations

from functools import cached_property

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import escape

from portal import audit
from portal.auth.models import User
from portal.extensions import db
from portal.messaging import texts
from portal.messaging.push_views import phone_notifications_section
from portal.messaging.text_forms import (
    OFF_LABEL,
    START_LABEL,
    TEST_LABEL,
    ReminderSettingsForm,
    TextOffForm,
    TextStartForm,
    TextTestForm,
    TextVerifyForm,
)
from portal.outbox import deliver_after_response

texts_bp = Blueprint("texts", __name__)


@texts_bp.app_context_processor
def text_reminder_helpers():
    """Lets the account page include templates/messaging/_texts.html."""
    return {"text_reminders": _section_data}


class _Section:
    """What templates/messaging/_texts.html shows: whether texts are on, the forms and the buttons, each read
    or built when the template first asks for it. The account page shows two of the forms at a time,
    the phone's check is needed only while texts are off, and the forms that are only a button (start,
    test, off) are written by the template: their labels are here, the errors of a posted one too."""

    start_label = START_LABEL
    test_label = TEST_LABEL
    off_label = OFF_LABEL

    def __init__(self, forms: dict) -> None:
        self._forms = forms

    @cached_property
    def _channels(self) -> tuple:
        return texts.reminder_channels(current_user)

    @property
    def texts_on(self) -> bool:
        return self._channels[0]

    @cached_property
    def phone_notifications(self):
        """The section's phone notifications, their devices read in the text subscription's statement."""
        return phone_notifications_section(self._channels[1])

    @cached_property
    def has_phone(self) -> bool:
        return texts.e164(current_user.phone) is not None

    def _button_errors(self, name: str) -> list:
        posted = self._forms.get(name)
        return posted.submit.errors if posted is not None else []

    @property
    def start_errors(self) -> list:
        """Why a posted "Text me reminders" failed (shown whether texts are on or off)."""
        return self._button_errors("start")

    @property
    def test_errors(self) -> list:
        """Why a posted "Send a test text" failed."""
        return self._button_errors("test")

    @cached_property
    def verify_form(self) -> TextVerifyForm:
        return self._forms.get("verify") or TextVerifyForm(prefix="txverify", formdata=None)

    @cached_property
    def settings_form(self) -> ReminderSettingsForm:
        return self._forms.get("settings") or _loaded_settings()


def _section_data(forms: dict | None = None) -> _Section:
    return _Section(forms or {})


def _loaded_settings() -> ReminderSettingsForm:
    form = ReminderSettingsForm(prefix="rem", formdata=None)
    form.load(current_user)
    return form


def _patient() -> User:
    if not current_user.is_patient:
        abort(403)
    return current_user._get_current_object()


def _again(forms: dict, status: int):
    """The reminders page with the errors beside their fields."""
    return render_template("messaging/texts.html", texts=_section_data(forms)), status


@texts_bp.route("/me/texts", methods=["GET"])
@login_required
def reminders():
    _patient()
    return render_template("messaging/texts.html", texts=_section_data())


@texts_bp.route("/me/reminders", methods=["POST"])
@login_required
def save_settings():
    user = _patient()
    form = ReminderSettingsForm(prefix="rem")
    if not form.validate_on_submit():
        return _again({"settings": form}, 400)
    user.email_reminders = form.email_reminders.data
    user.quiet_start, user.quiet_end = form.quiet_start.data, form.quiet_end.data
    audit.record(
        "account.reminders",
        user,
        email=user.email_reminders,
        quiet=f"{user.quiet_start:%H:%M}-{user.quiet_end:%H:%M}",
    )
    db.session.commit()
    flash(_("Your reminder settings are saved."), "success")
    return redirect(url_for("auth.account", _anchor="reminders"))


@texts_bp.route("/me/texts/code", methods=["POST"])
@login_required
def send_code():
    user = _patient()
    form = TextStartForm(prefix="txstart")
    if not form.validate_on_submit():
        return _again({"start": form}, 400)
    try:
        queued = texts.start_verification(user)
    except texts.TextError as exc:
        form.submit.errors = [str(exc)]
        return _again({"start": form}, exc.status)
    audit.record("texts.code_sent", user)
    db.session.commit()
    deliver_after_response(queued)
    flash(_("We sent a code to your phone. Enter it below to turn on text reminders."), "success")
    return redirect(url_for("texts.reminders"))


@texts_bp.route("/me/texts/verify", methods=["POST"])
@login_required
def verify():
    user = _patient()
    form = TextVerifyForm(prefix="txverify")
    if not form.validate_on_submit():
        return _again({"verify": form}, 400)
    try:
        texts.verify_code(user, form.code.data)
    except texts.TextError as exc:
        db.session.commit()  # a wrong try counts
        form.code.errors = [str(exc)]
        return _again({"verify": form}, exc.status)
    audit.record("texts.on", user)
    db.session.commit()
    flash(_("Text reminders are on."), "success")
    return redirect(url_for("texts.reminders"))


@texts_bp.route("/me/texts/test", methods=["POST"])
@login_required
def send_test():
    user = _patient()
    form = TextTestForm(prefix="txtest")
    if not form.validate_on_submit():
        return _again({"test": form}, 400)
    try:
        queued = texts.test_text(user)
    except texts.TextError as exc:
        form.submit.errors = [str(exc)]
        return _again({"test": form}, exc.status)
    db.session.commit()
    deliver_after_response(queued)
    flash(_("We sent a test text to your phone."), "success")
    return redirect(url_for("texts.reminders"))


@texts_bp.route("/me/texts/off", methods=["POST"])
@login_required
def turn_off():
    user = _patient()
    form = TextOffForm(prefix="txoff")
    if not form.validate_on_submit():
        return _again({"off": form}, 400)
    sub = texts.subscription_for(user)
    if sub is not None and sub.enabled:
        texts.set_enabled(sub, False)
        audit.record("texts.off", user)
        db.session.commit()
    flash(_("Text reminders are off."), "success")
    return redirect(url_for("texts.reminders"))


@texts_bp.route("/sms/inbound", methods=["POST"])
def inbound():
    """A reply from the provider, signed with our auth token; anything unsigned or forged is 403."""
    params = {key: request.form.get(key, "") for key in request.form}
    url = current_app.config.get("SMS_INBOUND_URL") or request.url
    if not texts.signature_valid(url, params, request.headers.get("X-Twilio-Signature")):
        abort(403)
    number = texts.e164(params.get("From", ""))
    if number is None:
        return Response(_twiml(None), mimetype="text/xml")
    answer = texts.handle_reply(number, params.get("Body", ""), lambda user_id: db.session.get(User, user_id))
    db.session.commit()
    return Response(_twiml(answer), mimetype="text/xml")


def _twiml(answer: str | None) -> str:
    """The provider's reply format: one <Message> with the answer, or none."""
    if not answer:
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(answer)}</Message></Response>'

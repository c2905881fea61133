"""Library forms: the browse filter and the coach's item editor."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from portal.exercises.dosage import LIMITS, lazy_limit_message
from portal.exercises.models import BODY_AREAS, KIND_LABELS
from portal.forms import PortalForm, no_control_chars, single_line, strip_filter

KIND_CHOICES = [(kind.value, label) for kind, label in KIND_LABELS.items()]
BODY_AREA_CHOICES = list(BODY_AREAS.items())


def dose_field(label: str, name: str, *, required: bool = False, description: str = "") -> IntegerField:
    """An integer dosage field bounded by the shared limits, with the message beside it."""
    low, high = LIMITS[name]
    first = InputRequired(message=lazy_limit_message(name)) if required else Optional()
    return IntegerField(
        label,
        validators=[first, NumberRange(min=low, max=high, message=lazy_limit_message(name))],
        description=description,
    )


class LibraryFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100), single_line], filters=[strip_filter])
    kind = SelectField(_l("Type"), choices=[("", _l("All types")), *KIND_CHOICES], validators=[Optional()])
    area = SelectField(
        _l("Body area"), choices=[("", _l("Any body area")), *BODY_AREA_CHOICES], validators=[Optional()]
    )
    retired = SelectField(
        _l("Show"), choices=[("", _l("Items in use")), ("yes", _l("Include retired items"))], validators=[Optional()]
    )


class LibraryItemForm(PortalForm):
    kind = SelectField(_l("Type"), choices=KIND_CHOICES, validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    summary = StringField(
        _l("One-line summary"), validators=[DataRequired(), Length(max=200), single_line], filters=[strip_filter]
    )
    instructions = TextAreaField(
        _l("Step-by-step instructions"),
        validators=[DataRequired(), Length(max=5000), no_control_chars],
        filters=[strip_filter],
    )
    cautions = TextAreaField(
        _l("Cautions"), validators=[Optional(), Length(max=2000), no_control_chars], filters=[strip_filter]
    )
    body_area = SelectField(_l("Body area"), choices=BODY_AREA_CHOICES, validators=[DataRequired()])
    default_sets = dose_field(_l("Sets"), "sets")
    default_reps = dose_field(_l("Repetitions"), "reps")
    default_hold_seconds = dose_field(_l("Hold (seconds)"), "hold_seconds")
    default_times_per_day = dose_field(_l("Times a day"), "times_per_day", required=True)
    default_days_per_week = dose_field(_l("Days a week"), "days_per_week", required=True)
    media_url = URLField(
        _l("Image or video link"),
        validators=[
            Optional(),
            Length(max=500),
            # Only web links: a javascript: or data: link must never become a clickable href.
            Regexp(r"^https?://[^\s<>\"']+$", message=_l("Enter a full link starting with https://.")),
            single_line,
        ],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Save item"))

    def values(self) -> dict:
        """The cleaned values, with instructions normalized to one step per line."""
        data = {name: getattr(self, name).data for name in self._fields if name not in ("csrf_token", "submit")}
        data["instructions"] = "\n".join(line.strip() for line in data["instructions"].splitlines() if line.strip())
        data["media_url"] = data["media_url"] or None
        return data


class NewLibraryItemForm(LibraryItemForm):
    """The new-item page: the item, and optionally its picture or video in the same step."""

    media = FileField(_l("Picture or video"))
    upload = SubmitField(_l("Upload"))

    def values(self) -> dict:
        data = super().values()
        data.pop("media", None)
        data.pop("upload", None)
        return data


class MediaForm(PortalForm):
    """An item's own picture or video (its type is checked from the file's content, not here)."""

    media = FileField(_l("Picture or video"), validators=[FileRequired(_l("Choose a picture or a video to upload."))])
    upload = SubmitField(_l("Upload"))


class TranslationForm(PortalForm):
    """An item's text in another language. All empty removes that version; otherwise title, summary and
    steps go together, and cautions are required whenever the English has them."""

    title = StringField(
        _l("Title in Spanish"), validators=[Optional(), Length(max=120), single_line], filters=[strip_filter]
    )
    summary = StringField(
        _l("One-line summary in Spanish"),
        validators=[Optional(), Length(max=200), single_line],
        filters=[strip_filter],
    )
    instructions = TextAreaField(
        _l("Step-by-step instructions in Spanish"),
        validators=[Optional(), Length(max=5000), no_control_chars],
        filters=[strip_filter],
    )
    cautions = TextAreaField(
        _l("Cautions in Spanish"), validators=[Optional(), Length(max=2000), no_control_chars], filters=[strip_filter]
    )
    submit = SubmitField(_l("Save Spanish version"))

    def __init__(self, *args, english_cautions: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.english_cautions = english_cautions

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        texts = [self.title.data, self.summary.data, self.instructions.data, self.cautions.data]
        if not any(texts):
            return valid  # removing the translation
        for name in ("title", "summary", "instructions"):
            field = getattr(self, name)
            if not field.data:
                field.errors = [*field.errors, _l("Required when the item has a Spanish version.")]
                valid = False
        if self.english_cautions.strip() and not self.cautions.data:
            self.cautions.errors = [*self.cautions.errors, _l("The English has cautions: translate them too.")]
            valid = False
        return valid

    def values(self) -> dict:
        data = {name: getattr(self, name).data or "" for name in ("title", "summary", "instructions", "cautions")}
        data["instructions"] = "\n".join(line.strip() for line in data["instructions"].splitlines() if line.strip())
        return data


class ActionForm(PortalForm):
    """An empty form: a POST button with CSRF protection."""

    submit = SubmitField(_l("Confirm"))

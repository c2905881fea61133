"""Forms for programs and plans. Dosage fields share the library's bounds."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.care.dosing import Dose
from portal.care.pauses import MAX_REASON
from portal.exercises.dosage import WEEKDAY_NAMES
from portal.exercises.forms import LibraryFilterForm, dose_field
from portal.forms import PortalForm, no_control_chars, sane_date, single_line, strip_filter
from portal.timeutil import local_today

# How far a plan's start date may be from today: catches typos such as 2062 for 2026.
START_DATE_WINDOW = timedelta(days=366)
# Library items added in one go: more than the starter library, few enough for one IN (...) list.
MAX_ITEMS_AT_ONCE = 200
MAX_ID = 2**31 - 1  # the largest id a database integer column holds
NOT_IN_LIBRARY = _l("One of the chosen items is not in the library any more. Nothing was added: choose again.")


def _int_or_none(value):
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: the choice check reports it


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionMixin:
    """The plan version the coach opened; a save carrying an older one is refused (409)."""

    version = HiddenField(validators=[InputRequired()])

    def expected_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class DoseForm(PortalForm):
    sets = dose_field(_l("Sets"), "sets")
    reps = dose_field(_l("Repetitions"), "reps")
    hold_seconds = dose_field(_l("Hold (seconds)"), "hold_seconds")
    times_per_day = dose_field(_l("Times a day"), "times_per_day", required=True)
    weekdays = MultiCheckboxField(
        _l("Days of the week"),
        choices=[(str(n), name) for n, name in enumerate(WEEKDAY_NAMES)],
        validators=[DataRequired(message=_l("Choose at least one day of the week."))],
    )
    note = TextAreaField(
        _l("Note for the patient"), validators=[Optional(), Length(max=1000), no_control_chars], filters=[strip_filter]
    )
    submit = SubmitField(_l("Save item"))

    def load(self, row, note_attr: str = "note") -> None:
        self.sets.data, self.reps.data, self.hold_seconds.data = row.sets, row.reps, row.hold_seconds
        self.times_per_day.data = row.times_per_day
        self.weekdays.data = list(row.weekdays)
        self.note.data = getattr(row, note_attr)

    def dose(self) -> Dose:
        return Dose(
            sets=self.sets.data,
            reps=self.reps.data,
            hold_seconds=self.hold_seconds.data,
            times_per_day=self.times_per_day.data,
            weekdays="".join(sorted(set(self.weekdays.data or []))),
            note=self.note.data or "",
        )


class PlanItemForm(VersionMixin, DoseForm):
    pass


class LibraryItemIdsField(Field):
    """The library items ticked in the picker: ids in the order sent, each once.

    A value that is not an item id (a forged form) marks the field ``malformed``; the form then
    says so in words instead of WTForms' "Not a valid choice"."""

    malformed = False

    def process_formdata(self, valuelist) -> None:
        ids: list[int] = []
        self.malformed = False
        for raw in valuelist:
            try:
                value = int(raw)
            except (TypeError, ValueError):
                self.malformed = True
                continue
            if not 0 < value <= MAX_ID:
                self.malformed = True
            elif value not in ids:
                ids.append(value)
        self.data = ids

    def _value(self) -> str:  # rendered by hand as one checkbox per item
        return ""


class AddItemsForm(PortalForm):
    """Add several library items at once to a program or a plan (the one form both use)."""

    items = LibraryItemIdsField(_l("Library items"), default=list)
    submit = SubmitField(_l("Add selected"))

    def validate_items(self, field) -> None:
        if field.malformed:
            raise ValidationError(NOT_IN_LIBRARY)
        if not field.data:
            raise ValidationError(_("Choose at least one item to add."))
        if len(field.data) > MAX_ITEMS_AT_ONCE:
            raise ValidationError(_("Choose at most %(num)d items at a time.", num=MAX_ITEMS_AT_ONCE))


class AddPlanItemsForm(VersionMixin, AddItemsForm):
    pass


class ItemPickerFilterForm(LibraryFilterForm):
    """The picker's search: words, kind and body area, as the library's own search (no retired items)."""

    retired = None


class PlanFieldsMixin:
    title = StringField(_l("Plan title"), validators=[Optional(), Length(max=120), single_line], filters=[strip_filter])
    goals = TextAreaField(
        _l("Goals"), validators=[Optional(), Length(max=2000), no_control_chars], filters=[strip_filter]
    )
    start_date = DateField(_l("Start date"), validators=[InputRequired(message=_l("Enter a start date.")), sane_date])

    def check_start_date(self, tz: str) -> bool:
        """Refuse dates far from today (typos); the message sits beside the field."""
        if self.start_date.data is None:
            return False
        today = local_today(tz)
        if abs(self.start_date.data - today) > START_DATE_WINDOW:
            self.start_date.errors = [*self.start_date.errors, _("Choose a start date within a year of today.")]
            return False
        return True


class AssignPlanForm(PlanFieldsMixin, PortalForm):
    program_id = SelectField(
        _l("Program"), coerce=_int_or_none, validators=[InputRequired(message=_l("Choose a program."))]
    )
    # The active plan the coach saw ("" when none): a plan assigned meanwhile makes this stale.
    current_plan = HiddenField()
    # "yes" once the coach has confirmed replacing the active plan; the first submit only asks.
    confirm_replace = HiddenField()
    submit = SubmitField(_l("Assign plan"))

    def validate_program_id(self, field) -> None:
        if field.data is None:
            raise ValidationError(_("Choose a program."))


class PlanDetailsForm(VersionMixin, PlanFieldsMixin, PortalForm):
    submit = SubmitField(_l("Save plan details"))


DIRECTIONS = ("up", "down")  # the values a move form's direction may take


class PlanActionForm(VersionMixin, PortalForm):
    """Remove, move or end: a POST with CSRF and the version the coach opened."""

    direction = HiddenField()
    submit = SubmitField(_l("Confirm"))


class ProgramForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), single_line], filters=[strip_filter])
    description = TextAreaField(
        _l("Purpose"), validators=[Optional(), Length(max=2000), no_control_chars], filters=[strip_filter]
    )
    submit = SubmitField(_l("Save program"))


class ProgramActionForm(PortalForm):
    direction = HiddenField()
    submit = SubmitField(_l("Confirm"))


class RosterSearchForm(PortalForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField(
        _l("Search name or email"), validators=[Optional(), Length(max=100), single_line], filters=[strip_filter]
    )


class PauseItemForm(PlanActionForm):
    """Pause one plan item: a plan action (CSRF and the plan version the coach opened) with the
    reason shown to the patient, so it is short and on one line."""

    reason = StringField(
        _l("Reason (shown to the patient)"),
        validators=[
            DataRequired(message=_l("Write the reason the patient will see.")),
            Length(max=MAX_REASON, message=_l("Keep the reason under %(count)s characters.", count=MAX_REASON)),
            single_line,
        ],
        filters=[strip_filter],
    )
    submit = SubmitField(_l("Pause item"))

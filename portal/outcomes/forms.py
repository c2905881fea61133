"""The Outcomes filters: a GET form, so every view has an address that can be shared."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, ValidationError
from wtforms.validators import Optional

from portal.forms import PortalForm, sane_date
from portal.outcomes.services import CUSTOM_PROGRAM, MAX_RANGE_DAYS, WEEK_CHOICES, Filters

CUSTOM = "custom"  # the program choice for plans made without a program
COMPARE_CHOICES = (("program", _l("Program")), ("clinic", _l("Clinic")), ("coach", _l("Coach")))


class OutcomeFilterForm(PortalForm):
    """Clinic, coach, program, "Started between", weeks in the programme and what to compare by.

    The view gives the choices (``set_choices``); a value outside them is refused beside its
    field with a 400, never ignored. A coach's only coach choices are "all" and themselves.
    """

    class Meta:
        csrf = False  # a GET filter form

    clinic = SelectField(_l("Clinic"), default="", validate_choice=False)
    coach = SelectField(_l("Coach"), default="", validate_choice=False)
    program = SelectField(_l("Program"), default="", validate_choice=False)
    started_from = DateField(_l("From"), validators=[Optional(), sane_date])
    started_to = DateField(_l("To"), validators=[Optional(), sane_date])
    weeks = SelectField(_l("Weeks in the programme"), default="", validate_choice=False)
    compare = SelectField(_l("Compare by"), default="program", validate_choice=False)

    def set_choices(self, names: dict[str, dict], coach_id: int | None) -> None:
        """The choices from the practice's clinics, coaches and programs; ``coach_id`` for a coach viewer."""
        self.clinic.choices = [("", _("All clinics"))] + [(str(k), v) for k, v in names["clinic"].items()]
        if coach_id is None:
            coaches = [(str(k), v) for k, v in names["coach"].items()]
            self.coach.choices = [("", _("All coaches")), *coaches]
        else:
            self.coach.choices = [("", _("My patients")), (str(coach_id), names["coach"].get(coach_id, ""))]
        self.program.choices = [
            ("", _("All programs")),
            *((str(k), v) for k, v in names["program"].items()),
            (CUSTOM, _("Plans made without a program")),
        ]
        self.weeks.choices = [("", _("Any"))] + [(str(n), _("At least %(n)s weeks", n=n)) for n in WEEK_CHOICES]
        self.compare.choices = [(value, str(label)) for value, label in COMPARE_CHOICES]
        self._coach_viewer = coach_id

    @staticmethod
    def _in_choices(field, message: str) -> None:
        if (field.data or "") not in {value for value, _label in field.choices}:
            raise ValidationError(message)

    def validate_clinic(self, field) -> None:
        self._in_choices(field, _("There is no such clinic. Choose one from the list."))

    def validate_coach(self, field) -> None:
        if self._coach_viewer is not None and (field.data or "") not in ("", str(self._coach_viewer)):
            raise ValidationError(_("You can see the figures of your own patients only."))
        self._in_choices(field, _("There is no such coach. Choose one from the list."))

    def validate_program(self, field) -> None:
        self._in_choices(field, _("There is no such program. Choose one from the list."))

    def validate_weeks(self, field) -> None:
        self._in_choices(field, _("Choose a number of weeks from the list."))

    def validate_compare(self, field) -> None:
        self._in_choices(field, _("Choose program, clinic or coach."))

    def validate_started_to(self, field) -> None:
        first, last = self.started_from.data, field.data
        if first is None or last is None:
            return
        if last < first:
            raise ValidationError(_("The second date must be on or after the first."))
        if (last - first).days > MAX_RANGE_DAYS:
            raise ValidationError(_("Choose a range of at most 5 years."))

    def filters(self) -> Filters:
        """The validated choices as service filters (a coach viewer's own id is added by the view)."""

        def number(value: str | None) -> int | None:
            return int(value) if value else None

        program = self.program.data or ""
        return Filters(
            clinic_id=number(self.clinic.data),
            coach_id=number(self.coach.data),
            program_id=CUSTOM_PROGRAM if program == CUSTOM else number(program),
            started_from=self.started_from.data,
            started_to=self.started_to.data,
            weeks=number(self.weeks.data),
        )

    def query_args(self) -> dict[str, str]:
        """The filters as they appear in the address (empty ones left out)."""
        args = {}
        for name in ("clinic", "coach", "program", "weeks"):
            if self[name].data:
                args[name] = self[name].data
        for name in ("started_from", "started_to"):
            if self[name].data:
                args[name] = self[name].data.isoformat()
        if self.compare.data and self.compare.data != "program":
            args["compare"] = self.compare.data
        return args

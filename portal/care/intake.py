""" "About your back": the intake questionnaire, its steps, and checking and saving each step's answers.

One definition serves the patient's pages, the API, the coach's summary, the suggestion
rules and FHIR: each question has a stable name, its answer codes and their words. A
step is saved as a whole (every answer of the step checked first, nothing written when
one is wrong); the answers are kept between visits, and the last step (the patient's
activities, PSFS) finishes the intake. The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam

from portal import audit
from portal.auth.models import User
from portal.care.alerts import coach_language, report_red_flag
from portal.care.checkins import patient_today, save_weekly_outcome
from portal.care.onboarding_models import Intake
from portal.care.red_flags import RED_FLAGS, Tier, highest_of
from portal.extensions import db
from portal.forms import is_one_line
from portal.i18n import force_locale
from portal.sqlutil import PATIENT_IDS, KeptStatement
from portal.timeutil import utcnow

SINGLE = "single"  # one choice (radio buttons)
MULTI = "multi"  # any number of choices (checkboxes), with an optional "Other" text
SCALE = "scale"  # a whole number 0-10 (the tap scale)
YES_NO = "yes_no"  # a safety question

MAX_OTHER = 200


@dataclass(frozen=True)
class Question:
    name: str
    label: object  # a lazy text
    kind: str
    choices: tuple[tuple[str, object], ...] = ()
    other: bool = False  # MULTI: an "Other" text box named ``<name>_other``
    low: object = ""  # SCALE: the words at 0 and 10
    high: object = ""
    tier: str = ""  # YES_NO: the safety tier of the question

    def choice_label(self, code: str) -> str:
        return str(dict(self.choices).get(code, code))


@dataclass(frozen=True)
class Step:
    number: int
    title: object
    questions: tuple[Question, ...] = field(default_factory=tuple)


WHERE = Question(
    "where",
    _l("Where does it hurt?"),
    SINGLE,
    (
        ("low_back", _l("Low back")),
        ("middle_back", _l("Middle back")),
        ("neck", _l("Neck")),
        ("buttock_leg", _l("Buttock or leg")),
        ("more_than_one", _l("More than one of these")),
    ),
)
SINCE = Question(
    "since",
    _l("How long have you had this pain?"),
    SINGLE,
    (
        ("under_6_weeks", _l("Less than 6 weeks")),
        ("6_to_12_weeks", _l("6–12 weeks")),
        ("over_12_weeks", _l("More than 12 weeks")),
    ),
)
EPISODES = Question(
    "episodes",
    _l("Have you had back pain like this before?"),
    SINGLE,
    (
        ("first", _l("No, this is the first time")),
        ("once", _l("Once before")),
        ("several", _l("Several times")),
    ),
)
WORSE = Question(
    "worse",
    _l("What makes it worse?"),
    MULTI,
    (
        ("sitting", _l("Sitting")),
        ("standing", _l("Standing")),
        ("bending", _l("Bending forward")),
        ("lifting", _l("Lifting")),
        ("walking", _l("Walking")),
        ("lying", _l("Lying down")),
        ("coughing", _l("Coughing or sneezing")),
        ("mornings", _l("Getting up in the morning")),
    ),
    other=True,
)
BETTER = Question(
    "better",
    _l("What makes it better?"),
    MULTI,
    (
        ("moving", _l("Moving around")),
        ("resting", _l("Resting or lying down")),
        ("heat", _l("Heat")),
        ("cold", _l("Ice or cold packs")),
        ("stretching", _l("Stretching")),
        ("walking", _l("Walking")),
        ("medication", _l("Pain medication")),
    ),
    other=True,
)
POSTURE = Question(
    "posture",
    _l("What does a usual day of work or home mostly involve?"),
    SINGLE,
    (
        ("sitting", _l("Mostly sitting")),
        ("standing", _l("Mostly standing")),
        ("lifting", _l("Lifting or carrying")),
        ("driving", _l("Driving")),
    ),
)
ACTIVITY = Question(
    "activity",
    _l("How active are you in a usual week?"),
    SINGLE,
    (
        ("inactive", _l("Mostly inactive")),
        ("light", _l("Light activity, such as short walks")),
        ("moderate", _l("Active on most days")),
        ("very", _l("Very active: sport or hard physical work")),
    ),
)
SLEEP = Question(
    "sleep",
    _l("Does your back pain affect your sleep?"),
    SINGLE,
    (
        ("not", _l("No")),
        ("some_nights", _l("It wakes me some nights")),
        ("most_nights", _l("It wakes me most nights")),
    ),
)
PEG_PAIN = Question(
    "peg_pain",
    _l("Your pain on average over the past 7 days (0–10)"),
    SCALE,
    low=_l("0 = no pain"),
    high=_l("10 = worst pain imaginable"),
)
PEG_ENJOYMENT = Question(
    "peg_enjoyment",
    _l("How much pain got in the way of enjoying life this week (0–10)"),
    SCALE,
    low=_l("0 = not at all"),
    high=_l("10 = completely"),
)
PEG_ACTIVITY = Question(
    "peg_activity",
    _l("How much pain got in the way of your usual activities this week (0–10)"),
    SCALE,
    low=_l("0 = not at all"),
    high=_l("10 = completely"),
)

# The check-in's safety questions, each in its tier (portal.care.red_flags): a "yes" here is reported like one
# in a check-in (the same advice, the same alert).
SAFETY = tuple(Question(flag.field, flag.question, YES_NO, tier=str(flag.tier)) for flag in RED_FLAGS)

STEPS: tuple[Step, ...] = (
    Step(1, _l("Your back pain"), (WHERE, SINCE, EPISODES)),
    Step(2, _l("What changes it"), (WORSE, BETTER)),
    Step(3, _l("Your days"), (POSTURE, ACTIVITY, SLEEP)),
    Step(4, _l("How your back is now"), (*SAFETY, PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY)),
    Step(5, _l("Activities that are hard because of your back")),
)
LAST_STEP = len(STEPS)
GOALS_STEP = LAST_STEP  # the PSFS: portal.care.goals checks and saves it
QUESTIONS = {question.name: question for step in STEPS for question in step.questions}


class IntakeError(Exception):
    """Answers of a step that cannot be saved: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StepNotOpen(Exception):
    """A step past the first unanswered one (a forged or skipped step)."""


def step(number: int) -> Step | None:
    return STEPS[number - 1] if 1 <= number <= LAST_STEP else None


def intake_for(patient_id: int) -> Intake | None:
    return db.session.scalar(_intake_of_patient(), {"patient_id": patient_id})


# The coach's patient page and the roster read intakes on every visit: kept, the patient(s) bound.
def _build_intake_of_patient():
    return db.select(Intake).where(Intake.patient_id == bindparam("patient_id"))


_intake_of_patient = KeptStatement(_build_intake_of_patient)


def next_step(intake: Intake | None) -> int:
    """The first step not yet saved (the last step again once finished)."""
    return min((intake.steps_done if intake else 0) + 1, LAST_STEP)


def is_open(intake: Intake | None, number: int) -> bool:
    """A step can be answered once every earlier one is saved (going back is always allowed)."""
    return 1 <= number <= (intake.steps_done if intake else 0) + 1 and number <= LAST_STEP


def _one(raw: object) -> str | None:
    if isinstance(raw, list | tuple):
        raw = raw[0] if len(raw) == 1 else None
    if raw is None:
        return None
    return str(raw).strip()


def clean_answers(number: int, raw: Mapping[str, object]) -> dict[str, object]:
    """The step's answers checked and normalised; IntakeError names every refused field.

    ``raw`` maps a question's name to what was sent: a text, a number, or a list of codes
    for a multiple choice. Fields the step does not ask are ignored here (the API refuses them).
    """
    current = step(number)
    if current is None:
        raise StepNotOpen()
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for question in current.questions:
        sent = raw.get(question.name)
        codes = {code for code, _label in question.choices}
        if question.kind == SINGLE:
            value = _one(sent)
            if not value:
                errors[question.name] = _("Choose one answer.")
            elif value not in codes:
                errors[question.name] = _("Choose one of the answers shown.")
            else:
                values[question.name] = value
        elif question.kind == MULTI:
            chosen = sent if isinstance(sent, list | tuple) else ([] if sent in (None, "") else [sent])
            chosen = [str(code) for code in chosen]
            if any(code not in codes for code in chosen):
                errors[question.name] = _("Choose among the answers shown.")
            else:
                values[question.name] = sorted(set(chosen), key=[code for code, _label in question.choices].index)
            if question.other:
                other = raw.get(f"{question.name}_other")
                text = _one(other) or ""
                if other is not None and not isinstance(other, str | list | tuple):
                    errors[f"{question.name}_other"] = _("Write the answer as text.")
                elif len(text) > MAX_OTHER:
                    errors[f"{question.name}_other"] = _("Keep this to %(n)s characters or fewer.", n=MAX_OTHER)
                elif not is_one_line(text):
                    errors[f"{question.name}_other"] = _(
                        "Use one line of text, without line breaks, tabs or invisible characters."
                    )
                else:
                    values[f"{question.name}_other"] = text
        elif question.kind == SCALE:
            value = sent
            if isinstance(value, str):
                value = value.strip()
                value = int(value) if value.isdigit() and len(value) <= 2 else value
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                errors[question.name] = _("Choose a number from 0 to 10.")
            else:
                values[question.name] = value
        elif question.kind == YES_NO:
            value = _one(sent)
            if value not in ("yes", "no"):
                errors[question.name] = _("Answer each safety question")
            else:
                values[question.name] = value == "yes"
    if errors:
        raise IntakeError(errors)
    return values


def save_step(patient: User, number: int, raw: Mapping[str, object]) -> Intake:
    """Check and save one step's answers (not the last: see portal.care.goals.finish_intake)."""
    intake = intake_for(patient.id)
    if not is_open(intake, number) or number == GOALS_STEP:
        raise StepNotOpen()
    values = clean_answers(number, raw)
    if intake is None:
        intake = Intake(patient_id=patient.id, answers={}, steps_done=0)
        db.session.add(intake)
    intake.answers = {**(intake.answers or {}), **values}  # a new dict: the JSON column sees the change
    intake.steps_done = max(intake.steps_done or 0, number)
    intake.updated_at = utcnow()
    tier = safety_tier(values)
    if tier is not None:
        reported = "; ".join(str(flag.label) for flag in RED_FLAGS if values.get(flag.field))
        with force_locale(coach_language(patient)):
            summary = _("Reported in the intake: %(answers)s.", answers=reported)
        report_red_flag(patient, tier, summary)
    if any(q.name == PEG_PAIN.name for q in STEPS[number - 1].questions):
        # The baseline PEG is also this week's weekly check, so the progress page starts from it.
        save_weekly_outcome(
            patient,
            {
                "pain_average": values[PEG_PAIN.name],
                "enjoyment_interference": values[PEG_ENJOYMENT.name],
                "activity_interference": values[PEG_ACTIVITY.name],
            },
        )
    db.session.flush()
    return intake


def safety_tier(answers: Mapping[str, object]) -> Tier | None:
    """The highest tier among the safety questions answered "yes" (None without one): its advice shows."""
    return highest_of(Tier(q.tier) for q in SAFETY if answers.get(q.name) is True)


def mark_finished(patient: User, intake: Intake) -> None:
    """The last step is saved: the intake is done (the first time only; answers can still be changed)."""
    intake.steps_done = LAST_STEP
    intake.updated_at = utcnow()
    if intake.finished_at is None:
        intake.finished_at = utcnow()
        intake.finished_on = patient_today(patient)
        audit.record("intake.finish", patient, patient=patient)


@dataclass(frozen=True)
class AnswerInWords:
    question: str
    answer: str


def answers_in_words(intake: Intake | None) -> list[AnswerInWords]:
    """Every saved answer as the coach reads it, in the questionnaire's order (PEG and safety apart)."""
    if intake is None:
        return []
    answers = intake.answers or {}
    shown = []
    for current in STEPS:
        for question in current.questions:
            if question.kind in (SCALE, YES_NO) or question.name not in answers:
                continue
            value = answers[question.name]
            if question.kind == MULTI:
                words = [question.choice_label(code) for code in value or []]
                other = answers.get(f"{question.name}_other")
                if other:
                    words.append(_("other: %(text)s", text=other))
                text = ", ".join(words) if words else _("nothing named")
            else:
                text = question.choice_label(value)
            shown.append(AnswerInWords(str(question.label), text))
    return shown


def baseline_peg(intake: Intake | None) -> tuple[int, int, int] | None:
    answers = (intake.answers or {}) if intake else {}
    names = (PEG_PAIN.name, PEG_ENJOYMENT.name, PEG_ACTIVITY.name)
    if not all(isinstance(answers.get(name), int) for name in names):
        return None
    return tuple(answers[name] for name in names)  # type: ignore[return-value]


def finished_days(patient_ids: list[int]) -> dict[int, date | None]:
    """patient id -> the local day their intake was finished (None: started, not finished); absent: not started."""
    if not patient_ids:
        return {}
    return dict(db.session.execute(_finished_days(), {"patient_ids": patient_ids}).all())


def _build_finished_days():
    return db.select(Intake.patient_id, Intake.finished_on).where(Intake.patient_id.in_(PATIENT_IDS))


_finished_days = KeptStatement(_build_finished_days)

""" "About your back" in steps, the patient's goals (PSFS) on Today, and "Rate your activities" every two weeks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care import goals as goal_service
from portal.care import intake as intake_service
from portal.care.checkins import patient_today
from portal.care.models import Alert, AlertKind, WeeklyOutcome
from portal.care.onboarding_models import Goal, GoalRating, Intake
from portal.care.red_flags import RED_FLAG_FIELDS, Tier
from tests.clock import care_clock  # noqa: F401 - fixture
from tests.conftest import csrf_token

STEP1 = {"where": "low_back", "since": "under_6_weeks", "episodes": "first"}
STEP2 = {"worse": ["sitting", "bending"], "worse_other": "Long drives", "better": ["walking"], "better_other": ""}
STEP3 = {"posture": "sitting", "activity": "light", "sleep": "some_nights"}
STEP4 = {"peg_pain": "6", "peg_enjoyment": "5", "peg_activity": "7", **dict.fromkeys(RED_FLAG_FIELDS, "no")}
STEPS = (STEP1, STEP2, STEP3, STEP4)


def _post(client, number: int, data: dict, token: str | None = None):
    token = token or csrf_token(client, "/me/about-your-back/1")
    return client.post(f"/me/about-your-back/{number}", data={"csrf_token": token, **data})


def _through(client, last: int) -> str:
    token = csrf_token(client, "/me/about-your-back/1")
    for number, data in enumerate(STEPS[:last], start=1):
        response = _post(client, number, data, token)
        assert response.status_code == 302, (number, response.get_data(as_text=True)[:2000])
        assert response.headers["Location"].endswith(f"/me/about-your-back/{number + 1}")
    return token


def _goals_form(*rows) -> dict:
    data = {}
    for n, (activity, score) in enumerate(rows):
        data[f"new-{n}-activity"] = activity
        data[f"new-{n}-score"] = score
    return data


def _intake(patient) -> Intake | None:
    return intake_service.intake_for(patient.id)


def test_steps_show_progress_and_buttons(patient_client):
    response = patient_client.get("/me/about-your-back")
    assert response.headers["Location"].endswith("/me/about-your-back/1")
    html = patient_client.get("/me/about-your-back/1").get_data(as_text=True)
    assert "<h1>About your back</h1>" in html and "Step 1 of 5" in html
    assert "Save and continue" in html and ">Back<" not in html
    for words in ("Low back", "Middle back", "Neck", "Buttock or leg", "More than one of these"):
        assert words in html
    for words in ("Less than 6 weeks", "6–12 weeks", "More than 12 weeks"):
        assert words in html
    _through(patient_client, 1)
    html = patient_client.get("/me/about-your-back/2").get_data(as_text=True)
    assert "Step 2 of 5" in html and ">Back<" in html and "Other" in html


def test_answers_are_kept_when_the_patient_leaves_and_comes_back(patient, patient_client):
    _through(patient_client, 2)
    # Away to Today, then back: the intake opens where they left off, with the answers kept.
    assert patient_client.get("/me/").status_code == 200
    assert patient_client.get("/me/about-your-back").headers["Location"].endswith("/me/about-your-back/3")
    html = patient_client.get("/me/about-your-back/1").get_data(as_text=True)
    assert re.search(r'value="low_back" checked', html)
    html = patient_client.get("/me/about-your-back/2").get_data(as_text=True)
    assert re.search(r'value="sitting" checked', html) and re.search(r'value="bending" checked', html)
    assert 'value="Long drives"' in html
    assert _intake(patient).answers["worse"] == ["sitting", "bending"]


def test_a_skipped_or_forged_step_is_refused_and_writes_nothing(patient, patient_client, db):
    assert patient_client.get("/me/about-your-back/3").headers["Location"].endswith("/me/about-your-back/1")
    response = _post(patient_client, 3, STEP3)
    assert response.status_code == 409 and _intake(patient) is None
    assert patient_client.get("/me/about-your-back/6").status_code == 404
    assert patient_client.get("/me/about-your-back/0").status_code == 404
    assert _post(patient_client, 5, _goals_form(("Lifting", "3"))).status_code == 409
    assert db.session.scalar(db.select(db.func.count(Goal.id))) == 0


@pytest.mark.parametrize(
    ("number", "bad", "field"),
    [
        (1, dict(STEP1, where="shoulder"), "where"),
        (1, {k: v for k, v in STEP1.items() if k != "since"}, "since"),
        (2, dict(STEP2, worse=["sitting", "jumping"]), "worse"),
        (2, dict(STEP2, worse_other="x" * 201), "worse_other"),
        (2, dict(STEP2, better_other="heat\nand ice"), "better_other"),
        (4, dict(STEP4, peg_pain="11"), "peg_pain"),
        (4, dict(STEP4, peg_activity="-1"), "peg_activity"),
        (4, dict(STEP4, peg_enjoyment="five"), "peg_enjoyment"),
        (4, {k: v for k, v in STEP4.items() if k != "rf_fever"}, "rf_fever"),
        (4, dict(STEP4, rf_walking="maybe"), "rf_walking"),
    ],
)
def test_bad_answers_are_refused_beside_the_field_and_nothing_is_written(
    patient, patient_client, db, number, bad, field
):
    token = _through(patient_client, number - 1)
    before = dict(_intake(patient).answers) if number > 1 else None
    response = _post(patient_client, number, bad, token)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="q-{field.replace("_other", "")}(-other)?-error"', html), html[:3000]
    db.session.expire_all()
    intake = _intake(patient)
    assert (intake.answers if intake else None) == before
    assert db.session.scalar(db.select(db.func.count(WeeklyOutcome.id))) == 0


def test_baseline_peg_is_kept_and_counts_as_this_weeks_check(patient, patient_client, db):
    _through(patient_client, 4)
    assert intake_service.baseline_peg(_intake(patient)) == (6, 5, 7)
    outcome = db.session.scalar(db.select(WeeklyOutcome).where(WeeklyOutcome.patient_id == patient.id))
    assert (outcome.pain_average, outcome.enjoyment_interference, outcome.activity_interference) == (6, 5, 7)


@pytest.mark.parametrize(
    ("field", "tier", "heading"),
    [
        ("rf_bladder_bowel", Tier.EMERGENCY, "Call 911 or go to the nearest emergency room now"),
        ("rf_fever", Tier.TODAY, "Call your clinic today"),
        ("rf_activity_stopping", Tier.SOON, "Your coach will contact you within one working day"),
    ],
)
def test_a_safety_yes_shows_the_check_ins_advice_and_raises_the_same_alert(
    patient, patient_client, db, field, tier, heading
):
    token = _through(patient_client, 3)
    response = _post(patient_client, 4, dict(STEP4, **{field: "yes"}), token)
    assert response.status_code == 302
    alert = db.session.scalar(db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == AlertKind.RED_FLAG))
    assert alert is not None and alert.tier == tier and alert.is_open
    assert "Reported in the intake" in alert.summary
    html = patient_client.get("/me/about-your-back/5").get_data(as_text=True)
    assert heading in html and f'data-tier="{tier}"' in html
    if tier == Tier.EMERGENCY:
        assert 'href="tel:911"' in html
    # Today keeps the same advice while the alert is open, as after a check-in.
    assert heading in patient_client.get("/me/").get_data(as_text=True)


def test_finishing_names_the_goals_and_lands_on_today(patient, patient_client, db):
    token = _through(patient_client, 4)
    html = patient_client.get("/me/about-your-back/5").get_data(as_text=True)
    assert "Step 5 of 5" in html and ">Finish<" in html and "Activities that are hard because of your back" in html
    assert 'maxlength="80"' in html
    today_html = patient_client.get("/me/").get_data(as_text=True)
    assert 'id="intake-card"' in today_html and "Your goals" not in today_html
    response = _post(
        patient_client, 5, _goals_form(("Lifting my grandson", "3"), ("Sitting through church", "5"), ("", "")), token
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/")
    intake = _intake(patient)
    assert intake.finished_at is not None and intake.finished_on == patient_today(patient)
    goals = goal_service.active_goals(patient.id)
    assert [g.activity for g in goals] == ["Lifting my grandson", "Sitting through church"]
    html = patient_client.get("/me/").get_data(as_text=True)
    assert "Your goals" in html and "Lifting my grandson" in html and "3 of 10" in html
    assert 'id="intake-card"' not in html and 'id="rate-card"' not in html
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "intake.finish")) is not None


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ((("x" * 81, "3"),), "new-0-activity"),
        ((("Lifting\nboxes", "3"),), "new-0-activity"),
        ((("Lifting", "11"),), "new-0-score"),
        ((("Lifting", ""),), "new-0-score"),
        ((("", ""),), "new-0-activity"),
        ((("Lifting", "3"), ("Sitting", "4"), ("Walking", "5"), ("Driving", "6")), "new-3-activity"),
    ],
)
def test_bad_goals_are_refused_beside_the_field_and_nothing_is_written(patient, patient_client, db, rows, field):
    token = _through(patient_client, 4)
    response = _post(patient_client, 5, _goals_form(*rows), token)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"', response.get_data(as_text=True))
    assert db.session.scalar(db.select(db.func.count(Goal.id))) == 0
    assert db.session.scalar(db.select(db.func.count(GoalRating.id))) == 0
    assert _intake(patient).finished_at is None


def test_consent_leads_to_the_intake(make_user, coach, app, db):
    from tests.conftest import login

    newcomer = make_user(Role.PATIENT, coach=coach, consented=False)
    from tests.conftest import publish_test_consent_texts

    publish_test_consent_texts(newcomer.clinic_id)
    db.session.commit()
    client = app.test_client()
    assert login(client, newcomer).status_code == 302
    html = client.get("/me/consent").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(
        "/me/consent", data={"csrf_token": token, "version": version, "agreement": "y", "privacy": "y"}
    )
    assert response.headers["Location"].endswith("/me/about-your-back")


# --- every 14 days ---------------------------------------------------------------


@pytest.fixture
def finished(care_clock, patient, login_as):  # noqa: F811 - the fixture
    """The patient's intake finished with two activities, on a frozen clock: (clock, signed-in client)."""
    client = login_as(patient)
    token = _through(client, 4)
    response = _post(client, 5, _goals_form(("Lifting my grandson", "3"), ("Sitting through church", "5")), token)
    assert response.status_code == 302
    return care_clock, client


def _rate_form(client, ratings: dict, retire=(), new=()) -> dict:
    data = {"csrf_token": csrf_token(client, "/me/goals/rate")}
    data.update({f"goal-{goal_id}": score for goal_id, score in ratings.items()})
    if retire:
        data["retire"] = [str(goal_id) for goal_id in retire]
    data.update(_goals_form(*new))
    return data


def test_rate_your_activities_is_offered_after_14_days(patient, finished, login_as, db):
    clock, patient_client = finished
    assert 'id="rate-card"' not in patient_client.get("/me/").get_data(as_text=True)
    clock.shift(timedelta(days=13))  # sessions end after 12 hours: sign in again each time
    assert 'id="rate-card"' not in login_as(patient).get("/me/").get_data(as_text=True)
    clock.shift(timedelta(days=1))
    patient_client = login_as(patient)
    html = patient_client.get("/me/").get_data(as_text=True)
    assert 'id="rate-card"' in html and "Rate your activities" in html
    lifting, sitting = goal_service.active_goals(patient.id)
    response = patient_client.post(
        "/me/goals/rate", data=_rate_form(patient_client, {lifting.id: "6", sitting.id: "5"})
    )
    assert response.status_code == 302
    html = patient_client.get("/me/").get_data(as_text=True)
    assert 'id="rate-card"' not in html and "6 of 10" in html
    # The progress page charts both ratings, with a table beside the chart.
    page = patient_client.get("/me/progress").get_data(as_text=True)
    assert 'data-series="goals"' in page and "Show the activity ratings as a table" in page
    data = patient_client.get("/me/goals/data.json").json
    assert len(data["goals"]["labels"]) == 2
    assert data["goals"]["series"][0] == {"label": "Lifting my grandson", "data": [3, 6]}


def test_retire_one_and_name_another_but_never_a_fourth(patient, finished, db):
    _clock, patient_client = finished
    lifting, sitting = goal_service.active_goals(patient.id)
    fourth = _rate_form(
        patient_client, {lifting.id: "4", sitting.id: "5"}, new=(("Walking the dog", "2"), ("Driving", "7"))
    )
    assert patient_client.post("/me/goals/rate", data=fourth).status_code == 422
    assert db.session.scalar(db.select(db.func.count(Goal.id))) == 2
    unrated = _rate_form(patient_client, {lifting.id: "", sitting.id: "5"})
    response = patient_client.post("/me/goals/rate", data=unrated)
    assert response.status_code == 422 and f'id="goal-{lifting.id}-error"' in response.get_data(as_text=True)
    swap = _rate_form(patient_client, {lifting.id: "4"}, retire=[sitting.id], new=(("Walking the dog", "2"),))
    assert patient_client.post("/me/goals/rate", data=swap).status_code == 302
    assert [g.activity for g in goal_service.active_goals(patient.id)] == ["Lifting my grandson", "Walking the dog"]


def test_another_patients_goal_cannot_be_rated_or_retired(patient, finished, make_user, coach, db):
    _clock, patient_client = finished
    other = make_user(Role.PATIENT, coach=coach)
    theirs = Goal(patient_id=other.id, activity="Their activity")
    db.session.add(theirs)
    db.session.commit()
    lifting, sitting = goal_service.active_goals(patient.id)
    forged = _rate_form(patient_client, {lifting.id: "4", sitting.id: "4", theirs.id: "9"}, retire=[theirs.id])
    assert patient_client.post("/me/goals/rate", data=forged).status_code == 422
    db.session.refresh(theirs)
    assert theirs.retired_at is None and not theirs.ratings


def test_change_against_the_first_rating_is_marked_at_two_points():
    state = goal_service.GoalState(1, "Lifting", latest=5, latest_day=None, first=3, first_day=None)
    assert state.change == 2 and state.important
    assert not goal_service.GoalState(1, "Lifting", 4, None, 3, None).important
    assert goal_service.GoalState(1, "Lifting", 1, None, 3, None).important
    assert goal_service.GoalState(1, "Lifting", None, None, None, None).change is None


def test_today_stays_flat_as_goals_are_rated(patient, patient_client, queries, db):
    """The intake's state, the goals and their latest ratings come in one statement however many there are."""
    goal = Goal(patient_id=patient.id, activity="Lifting")
    db.session.add(goal)
    db.session.flush()
    today = patient_today(patient)
    db.session.add(GoalRating(goal_id=goal.id, patient_id=patient.id, day=today, score=3))
    db.session.commit()
    patient_client.get("/me/")
    with queries() as few:
        patient_client.get("/me/")
    for weeks in range(1, 20):
        db.session.add(
            GoalRating(goal_id=goal.id, patient_id=patient.id, day=today - timedelta(days=14 * weeks), score=2)
        )
    for activity in ("Sitting", "Walking"):
        extra = Goal(patient_id=patient.id, activity=activity)
        db.session.add(extra)
        db.session.flush()
        db.session.add(GoalRating(goal_id=extra.id, patient_id=patient.id, day=today, score=5))
    db.session.commit()
    with queries() as many:
        html = patient_client.get("/me/").get_data(as_text=True)
    assert "Walking" in html and "3 of 10" in html
    assert len(many) == len(few)


def test_intake_and_goals_are_in_the_patients_own_exports(patient, patient_client, db):
    import io
    import json
    import zipfile

    token = _through(patient_client, 4)
    _post(patient_client, 5, _goals_form(("Lifting my grandson", "3"), ("Sitting through church", "5")), token)
    data = json.loads(patient_client.get("/me/export.json").get_data(as_text=True))
    assert data["intake"]["answers"]["where"] == "low_back" and data["intake"]["finished_at"]
    assert [g["activity"] for g in data["goals"]] == ["Lifting my grandson", "Sitting through church"]
    assert [(r["activity"], r["rating"]) for r in data["goal_ratings"]] == [
        ("Lifting my grandson", 3),
        ("Sitting through church", 5),
    ]
    archive = zipfile.ZipFile(io.BytesIO(patient_client.get("/me/export-csv.zip").data))
    assert "worse,sitting; bending" in archive.read("intake.csv").decode("utf-8-sig")
    assert archive.read("goal_ratings.csv").decode("utf-8-sig").startswith("goal_id,activity,day,rating")


# --- the questionnaire's checks and words, as the services keep them ------------------------------


def _refused(number: int, raw: dict) -> dict[str, str]:
    with pytest.raises(intake_service.IntakeError) as refused:
        intake_service.clean_answers(number, raw)
    return refused.value.errors


def test_one_choice_is_one_code_of_the_question(app):
    # A form sends a list; the API a text. A list of one is that answer; more than one is no answer.
    assert intake_service.clean_answers(
        1, {"where": ["low_back"], "since": " under_6_weeks ", "episodes": ("first",)}
    ) == {
        "where": "low_back",
        "since": "under_6_weeks",
        "episodes": "first",
    }
    assert _refused(1, {"where": ["low_back", "neck"], "since": [], "episodes": "twice"}) == {
        "where": "Choose one answer.",
        "since": "Choose one answer.",
        "episodes": "Choose one of the answers shown.",
    }


def test_many_choices_keep_the_questions_order_and_a_one_line_other(app):
    values = intake_service.clean_answers(
        2, {"worse": ["lifting", "sitting", "lifting"], "better": "heat", "better_other": "A warm bath"}
    )
    assert values == {
        "worse": ["sitting", "lifting"],
        "worse_other": "",
        "better": ["heat"],
        "better_other": "A warm bath",
    }
    assert intake_service.clean_answers(2, {"worse": "", "better": None, "better_other": "x" * 200}) == {
        "worse": [],
        "worse_other": "",
        "better": [],
        "better_other": "x" * 200,
    }
    assert _refused(
        2, {"worse": ["sitting", "dancing"], "worse_other": 5, "better": [], "better_other": "x" * 201}
    ) == {
        "worse": "Choose among the answers shown.",
        "worse_other": "Write the answer as text.",
        "better_other": "Keep this to 200 characters or fewer.",
    }
    one_line = "Use one line of text, without line breaks, tabs or invisible characters."
    assert _refused(2, {"worse": [], "worse_other": "Long\rdrives", "better": [], "better_other": "Long\ndrives"}) == {
        "worse_other": one_line,
        "better_other": one_line,
    }
    # The same one-line rule as every one-line field of the portal: tabs, C1 controls and Unicode line breaks too.
    assert _refused(
        2, {"worse": [], "worse_other": "Long\tdrives", "better": [], "better_other": "Long\u2028drives"}
    ) == {
        "worse_other": one_line,
        "better_other": one_line,
    }
    assert _refused(2, {"worse": [], "worse_other": "Long\x85drives", "better": []}) == {"worse_other": one_line}


def test_the_scales_take_0_to_10_and_the_safety_questions_yes_or_no(app):
    answers = {**STEP4, "peg_pain": "0", "peg_enjoyment": " 10 ", "peg_activity": 7, "rf_fever": ["yes"]}
    values = intake_service.clean_answers(4, answers)
    assert (values["peg_pain"], values["peg_enjoyment"], values["peg_activity"]) == (0, 10, 7)
    assert values["rf_fever"] is True and values["rf_numbness"] is False
    bad = {**STEP4, "peg_pain": "ab", "peg_enjoyment": "007", "peg_activity": "11", "rf_fever": "maybe"}
    del bad["rf_walking"]
    assert _refused(4, bad) == {
        "peg_pain": "Choose a number from 0 to 10.",
        "peg_enjoyment": "Choose a number from 0 to 10.",
        "peg_activity": "Choose a number from 0 to 10.",
        "rf_fever": "Answer each safety question",
        "rf_walking": "Answer each safety question",
    }


def test_an_intake_error_reads_as_each_field_and_its_message(app):
    error = intake_service.IntakeError({"where": "Choose one answer.", "since": "Choose one answer."})
    assert str(error) == "where: Choose one answer.; since: Choose one answer."


def test_a_step_opens_only_after_the_ones_before_it(patient, db):
    assert intake_service.is_open(None, 1) and not intake_service.is_open(None, 2)
    with pytest.raises(intake_service.StepNotOpen):
        intake_service.save_step(patient, 2, STEP2)
    intake_service.save_step(patient, 1, STEP1)
    intake_service.save_step(patient, 2, STEP2)
    intake_service.save_step(patient, 3, STEP3)
    intake = _intake(patient)
    assert intake.steps_done == 3 and not intake_service.is_open(intake, 5)
    # Going back to the first step changes its answers and keeps the steps saved since.
    intake_service.save_step(patient, 1, {**STEP1, "where": "neck"})
    intake = _intake(patient)
    assert intake.steps_done == 3 and intake.answers["where"] == "neck" and intake.answers["posture"] == "sitting"
    intake_service.save_step(patient, 4, STEP4)
    with pytest.raises(intake_service.StepNotOpen):  # the activities are goals.finish_intake's
        intake_service.save_step(patient, 5, {})


def test_the_intakes_red_flags_are_reported_to_the_coach_in_their_words(patient, db):
    for number, answers in enumerate(STEPS[:3], start=1):
        intake_service.save_step(patient, number, answers)
    intake_service.save_step(patient, 4, {**STEP4, "rf_fall_injury": "yes", "rf_leg_weakness": "yes"})
    alert = db.session.scalar(db.select(Alert).where(Alert.patient_id == patient.id, Alert.kind == AlertKind.RED_FLAG))
    assert alert.tier == Tier.EMERGENCY
    assert alert.summary == "Reported in the intake: sudden leg or foot weakness; a recent fall or injury."


def test_finishing_is_audited_once_with_the_patient_as_target(patient, db):
    intake = Intake(patient_id=patient.id, answers={}, steps_done=4)
    db.session.add(intake)
    intake_service.mark_finished(patient, intake)
    intake_service.mark_finished(patient, intake)
    db.session.flush()
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "intake.finish")).all()
    assert [(e.target_type, e.target_id, e.patient_id) for e in events] == [("User", patient.id, patient.id)]


def test_the_coach_reads_the_answers_in_words_in_the_questionnaires_order(app):
    intake = Intake(
        answers={
            "since": "over_12_weeks",
            "where": "hip",  # a code no longer offered reads as itself
            "worse": ["sitting", "bending"],
            "worse_other": "Long drives",
            "better": [],
            "better_other": "",
            "sleep": "not",
            "peg_pain": 6,
            "rf_fever": False,
        }
    )
    shown = [(a.question, a.answer) for a in intake_service.answers_in_words(intake)]
    assert shown == [
        ("Where does it hurt?", "hip"),
        ("How long have you had this pain?", "More than 12 weeks"),
        ("What makes it worse?", "Sitting, Bending forward, other: Long drives"),
        ("What makes it better?", "nothing named"),
        ("Does your back pain affect your sleep?", "No"),
    ]
    assert intake_service.answers_in_words(None) == []

"""The red-flag tiers: each question's tier, "the highest tier wins", the advice each tier shows, the alert's
severity and pause, and a tier that only rises while the alert is open."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role
from portal.care.alerts import red_flag_status
from portal.care.checkins import patient_today, save_checkin
from portal.care.models import Alert, AlertKind
from portal.care.red_flags import RED_FLAG_FIELDS, RED_FLAGS, TIER_RULES, Tier, highest_of, highest_tier
from portal.extensions import db as _db
from portal.mail import OutboundEmail
from tests.clock import care_clock  # noqa: F401  (the fixture)
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.test_checkins import form_data, make_plan

pytestmark = pytest.mark.usefixtures("care_clock")

# The reference, written out by hand from the clinical table (not derived from the code under test).
EXPECTED_TIERS = {
    "rf_bladder_bowel": "emergency",
    "rf_leg_weakness": "emergency",
    "rf_numbness": "today",
    "rf_walking": "today",
    "rf_fall_injury": "today",
    "rf_fever": "today",
    "rf_activity_stopping": "soon",
}
HEADINGS = {
    "emergency": "Call 911 or go to the nearest emergency room now",
    "today": "Call your clinic today",
    "soon": "Your coach will contact you within one working day",
}
CALM = {"pain": 3, "stiffness": 3}


def reference_tier(yes: set[str]) -> str | None:
    """The plain rule: Emergency if any Emergency question is "yes", else Today if any Today one, else Soon."""
    for tier in ("emergency", "today", "soon"):
        if any(EXPECTED_TIERS[name] == tier for name in yes):
            return tier
    return None


class Answers:
    def __init__(self, yes: set[str]):
        for name in RED_FLAG_FIELDS:
            setattr(self, name, name in yes)


answer_sets = st.sets(st.sampled_from(sorted(EXPECTED_TIERS)))


# --- the definition ----------------------------------------------------------------------


def test_every_question_has_its_tier():
    assert {flag.field: str(flag.tier) for flag in RED_FLAGS} == EXPECTED_TIERS


def test_the_two_new_questions_are_asked():
    questions = {flag.field: str(flag.question) for flag in RED_FLAGS}
    assert questions["rf_leg_weakness"] == "Sudden weakness in a leg or foot, or a leg giving way?"
    assert questions["rf_fever"] == "Fever, chills or feeling unwell along with your back pain?"


def test_each_tier_has_its_severity_pause_escalation_and_heading():
    summary = {
        str(tier): (rule.severity, rule.pauses_exercises, rule.escalation_setting, str(rule.heading))
        for tier, rule in TIER_RULES.items()
    }
    assert summary == {
        "emergency": ("Emergency", True, "SAFETY_ESCALATION_MINUTES", HEADINGS["emergency"]),
        "today": ("Urgent", True, "URGENT_ESCALATION_MINUTES", HEADINGS["today"]),
        "soon": ("Attention", False, None, HEADINGS["soon"]),
    }


@pytest.mark.parametrize(
    ("yes", "expected"),
    [
        (set(), None),
        ({"rf_activity_stopping"}, "soon"),
        ({"rf_activity_stopping", "rf_fever"}, "today"),
        ({"rf_activity_stopping", "rf_numbness", "rf_leg_weakness"}, "emergency"),
        ({"rf_bladder_bowel", "rf_walking"}, "emergency"),
        ({"rf_fall_injury"}, "today"),
    ],
)
def test_the_highest_tier_wins(yes, expected):
    assert highest_tier(Answers(yes)) == expected


@given(answer_sets)
def test_any_answer_set_yields_its_highest_tier(yes):
    assert highest_tier(Answers(yes)) == reference_tier(yes)


@given(st.lists(st.sampled_from([*Tier, None])))
def test_highest_of_is_order_free(tiers):
    expected = reference_tier({name for name, tier in EXPECTED_TIERS.items() if tier in tiers})
    assert highest_of(tiers) == expected
    assert highest_of(reversed(tiers)) == expected


# --- the advice the patient sees ---------------------------------------------------------


def _safety_boxes(html: str) -> list[str]:
    """The visible safety boxes of a page (the form's live hints are rendered hidden)."""
    boxes = re.findall(r'<section class="alert [^"]*safety-message[^"]*"[^>]*>.*?</section>', html, re.S)
    return [box for box in boxes if " hidden>" not in box.split("\n", 1)[0]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(yes=answer_sets)
def test_after_saving_the_check_in_page_shows_exactly_the_advice_of_its_highest_tier(patient_client, yes):
    data = form_data(patient_client, **dict.fromkeys(yes, "yes"))
    assert patient_client.post("/me/checkin", data=data).status_code == 302
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    boxes = _safety_boxes(html)
    expected = reference_tier(yes)
    if expected is None:
        assert boxes == []
        return
    (box,) = boxes
    assert 'role="alert"' in box and f'data-tier="{expected}"' in box
    shown = {tier for tier, heading in HEADINGS.items() if heading in box}
    assert shown == {expected}
    assert "Please save your check-in" not in html


def test_emergency_box_comes_first_with_911_first_then_the_clinic(patient_client, patient):
    data = form_data(patient_client, rf_leg_weakness="yes", rf_numbness="yes", rf_activity_stopping="yes")
    patient_client.post("/me/checkin", data=data)
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    (box,) = _safety_boxes(html)
    # Right under the heading, before anything else of the page (the form, the weekly check's reminder).
    assert html.index("</h1>") < html.index(box) < html.index('<form method="post" action="/me/checkin"')
    links = re.findall(r'href="(tel:[^"]+)"', box)
    assert links[:2] == ["tel:911", "tel:8175550142"]
    assert re.search(r'<a class="btn btn-danger btn-lg w-100[^"]*" href="tel:911">Call 911</a>', box)
    assert "Your stretches and exercises are paused" in box


def test_today_tier_box_leads_with_the_clinics_number(patient_client):
    patient_client.post("/me/checkin", data=form_data(patient_client, rf_fever="yes"))
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    (box,) = _safety_boxes(html)
    assert re.findall(r'href="(tel:[^"]+)"', box) == ["tel:8175550142", "tel:911"]
    assert "If you cannot reach the clinic, go to urgent care or call" in box


def test_soon_tier_says_the_coach_will_call_and_keeps_the_exercises(db, patient_client, patient, coach):
    make_plan(db, patient, coach)
    patient_client.post("/me/checkin", data=form_data(patient_client, rf_activity_stopping="yes"))
    html = patient_client.get("/me/").get_data(as_text=True)
    (box,) = _safety_boxes(html)
    assert HEADINGS["soon"] in box and "tel:911" not in box
    assert "Paused until your coach checks in with you" not in html
    assert red_flag_status(patient.id).exercises_paused is False


def test_the_form_carries_each_questions_tier_and_a_hidden_hint_per_tier(patient_client):
    html = patient_client.get("/me/checkin").get_data(as_text=True)
    for name, tier in EXPECTED_TIERS.items():
        assert re.search(rf'data-tier="{tier}"[^>]*>\s*<legend[^>]*>[^<]*', html)
        assert f'name="{name}"' in html
    for tier in HEADINGS:
        assert re.search(rf'id="red-flag-hint-{tier}" data-tier="{tier}" hidden>', html)


# --- the alert ---------------------------------------------------------------------------


def _red_flag_alert(db):
    return db.session.scalar(db.select(Alert).where(Alert.kind == AlertKind.RED_FLAG))


@pytest.mark.parametrize(
    ("answer", "tier", "severity", "paused"),
    [
        ("rf_bladder_bowel", "emergency", "Emergency", True),
        ("rf_leg_weakness", "emergency", "Emergency", True),
        ("rf_walking", "today", "Urgent", True),
        ("rf_fever", "today", "Urgent", True),
        ("rf_activity_stopping", "soon", "Attention", False),
    ],
)
def test_the_alert_stores_the_tier_and_its_severity(db, patient, answer, tier, severity, paused):
    save_checkin(patient, patient_today(patient), CALM | {answer: True})
    db.session.commit()
    alert = _red_flag_alert(db)
    assert (alert.tier, alert.severity_name, alert.exercises_paused) == (tier, severity, paused)


def test_the_tier_only_rises_while_the_alert_is_open(db, patient, coach):
    today = patient_today(patient)
    save_checkin(patient, today, CALM | {"rf_activity_stopping": True})
    db.session.commit()
    assert red_flag_status(patient.id).exercises_paused is False
    save_checkin(patient, today, CALM | {"rf_bladder_bowel": True})
    db.session.commit()
    alert = _red_flag_alert(db)
    assert (alert.tier, alert.exercises_paused) == ("emergency", True)
    save_checkin(patient, today, CALM | {"rf_fever": True})  # a lower tier later: the alert stays Emergency
    db.session.commit()
    db.session.refresh(alert)
    assert alert.tier == "emergency"
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 1
    subjects = db.session.scalars(db.select(OutboundEmail.subject).where(OutboundEmail.to_address == coach.email))
    # Told when the alert opened and again when it became an emergency; not when a lower tier came in.
    assert list(subjects) == ["Attention alert waiting in Holistiq Coach", "Emergency alert waiting in Holistiq Coach"]


def test_inbox_orders_emergency_before_urgent_before_attention(db, make_user, coach, coach_client):
    for answer, name in (
        ("rf_activity_stopping", "Soon Sam"),
        ("rf_fever", "Today Tia"),
        ("rf_bladder_bowel", "Em Eli"),
    ):
        someone = make_user(coach=coach, name=name)
        save_checkin(someone, patient_today(someone), CALM | {answer: True})
    db.session.commit()
    html = coach_client.get("/coach/alerts").get_data(as_text=True)
    assert html.index("Em Eli") < html.index("Today Tia") < html.index("Soon Sam")
    assert 'data-severity="Emergency">Emergency · Red flag' in html
    assert 'data-severity="Attention">Attention · Red flag' in html


# --- the migration -----------------------------------------------------------------------


def test_migration_gives_existing_alerts_their_tier_and_sort_number(tmp_path):
    """Red flags opened before tiers take the tier of their check-in; every kind keeps its place in the order."""
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    url = (
        create_postgres_database(base, prefix="holistiq_tier")
        if is_postgres(base)
        else f"sqlite:///{tmp_path / 't.sqlite3'}"
    )
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade()
            clinic = Clinic(name="Plano", city="Plano", phone="(972) 555-0100", timezone="America/Chicago")
            _db.session.add(clinic)
            _db.session.flush()
            coach = create_account(email="c@example.org", name="C", role=Role.COACH, clinic_id=clinic.id, password=None)
            _db.session.flush()
            patient_ids = []
            for n in range(5):
                patient = create_account(
                    email=f"p{n}@example.org",
                    name="P",
                    role=Role.PATIENT,
                    clinic_id=clinic.id,
                    coach_id=coach.id,
                    password=None,
                )
                _db.session.flush()
                patient_ids.append(patient.id)
            _db.session.commit()
            _db.session.remove()
            downgrade(revision="a8c3e5f7b9d1")
            answers = ["rf_bladder_bowel", "rf_walking", "rf_activity_stopping", None, None]
            kinds = ["red_flag", "red_flag", "red_flag", "pain_worsening", "missed_checkins"]
            for n, (patient_id, answer, kind) in enumerate(zip(patient_ids, answers, kinds, strict=True)):
                flags = {name: name == answer for name in EXPECTED_TIERS if name not in ("rf_leg_weakness", "rf_fever")}
                _db.session.execute(
                    sa.text(
                        "INSERT INTO checkin (id, patient_id, day, pain, stiffness, spasm_episodes, notes, rf_numbness,"
                        " rf_walking, rf_bladder_bowel, rf_fall_injury, rf_activity_stopping, created_at, updated_at)"
                        " VALUES (:id, :patient, :day, 5, 5, 0, '', :rf_numbness, :rf_walking, :rf_bladder_bowel,"
                        " :rf_fall_injury, :rf_activity_stopping, :now, :now)"
                    ),
                    {"id": n + 1, "patient": patient_id, "day": date(2026, 12, 1), "now": datetime(2026, 12, 1)}
                    | flags,
                )
                _db.session.execute(
                    sa.text(
                        "INSERT INTO alert (patient_id, kind, severity, summary, checkin_id, opened_at, open_key,"
                        " note, exercises_paused) VALUES (:patient, :kind, :severity, '', :checkin, :now, 1, '', false)"
                    ),
                    {
                        "patient": patient_id,
                        "kind": kind,
                        "severity": {"red_flag": 0, "pain_worsening": 1, "missed_checkins": 2}[kind],
                        "checkin": n + 1,
                        "now": datetime(2026, 12, 1),
                    },
                )
            _db.session.commit()
            _db.session.remove()
            upgrade()
            rows = _db.session.execute(sa.text("SELECT kind, tier, severity FROM alert ORDER BY checkin_id")).all()
            assert [tuple(row) for row in rows] == [
                ("red_flag", "emergency", 0),
                ("red_flag", "today", 1),
                ("red_flag", "soon", 2),
                ("pain_worsening", None, 3),
                ("missed_checkins", None, 4),
            ]
            _db.session.remove()
            _db.engine.dispose()
    finally:
        if is_postgres(base):
            drop_postgres_database(url)

"""A patient downloads their own data as JSON and as CSV (ZIP), audited, never anyone else's."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.care.checkins import patient_today
from portal.care.models import CheckIn, ItemLog, WeeklyOutcome
from portal.csvutil import FORMULA_PREFIXES
from tests.test_checkins import make_plan


def seed(db, patient, coach, notes="Gentle walk helped", days=3):
    plan = make_plan(db, patient, coach, n_items=2)
    today = patient_today(patient)
    for offset in range(days):
        day = today - timedelta(days=offset)
        db.session.add(CheckIn(patient_id=patient.id, day=day, pain=4, stiffness=3, notes=notes))
        db.session.add(ItemLog(plan_item_id=plan.items[0].id, patient_id=patient.id, day=day, done=True))
    db.session.add(
        WeeklyOutcome(
            patient_id=patient.id,
            week_start=today - timedelta(days=today.weekday()),
            pain_average=4,
            enjoyment_interference=3,
            activity_interference=5,
        )
    )
    db.session.commit()
    return plan


def test_json_export_has_everything_and_is_audited(db, patient, coach, patient_client):
    plan = seed(db, patient, coach)
    response = patient_client.get("/me/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["profile"]["email"] == patient.email and data["profile"]["coach"] == coach.name
    assert data["profile"]["email_reminders"] is True and data["profile"]["quiet_hours"] == "21:00-08:00"
    assert [p["title"] for p in data["plans"]] == [plan.title]
    assert len(data["plan_items"]) == 2
    assert len(data["checkins"]) == 3 and data["checkins"][0]["notes"] == "Gentle walk helped"
    assert data["checkins"][0]["rf_walking"] is False
    assert len(data["item_logs"]) == 3 and data["item_logs"][0]["done"] is True
    assert data["weekly_checks"][0]["peg_score"] == 4.0
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "data.export"))
    assert event.actor_id == patient.id and event.patient_id == patient.id and "json" in event.detail


def test_csv_export_is_a_zip_of_tables(db, patient, coach, patient_client):
    seed(db, patient, coach, notes='=HYPERLINK("http://evil")')
    response = patient_client.get("/me/export-csv.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert set(archive.namelist()) == {
        "profile.csv",
        "consents.csv",
        "intake.csv",
        "goals.csv",
        "goal_ratings.csv",
        "plans.csv",
        "plan_items.csv",
        "plan_item_pauses.csv",
        "checkins.csv",
        "item_logs.csv",
        "weekly_checks.csv",
    }
    rows = list(csv.DictReader(io.StringIO(archive.read("checkins.csv").decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[0]["pain"] == "4"
    assert rows[0]["notes"].startswith("'=")  # spreadsheet formula neutralised
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "data.export")) == 1


def test_export_never_includes_other_patients(db, patient, coach, patient_client, make_user):
    other = make_user(Role.PATIENT, coach=coach)
    seed(db, other, coach, notes="someone else's secret")
    data = patient_client.get("/me/export.json").get_json(force=True)
    assert data["checkins"] == [] and data["plans"] == []
    assert "secret" not in json.dumps(data)


def test_export_is_for_patients_only(coach_client, client):
    assert coach_client.get("/me/export.json").status_code == 403
    assert client.get("/me/export-csv.zip").status_code in (302, 401)


def test_export_query_count_does_not_grow(db, patient, coach, patient_client, queries):
    seed(db, patient, coach, days=2)
    with queries() as small:
        patient_client.get("/me/export.json")
    today = patient_today(patient)
    for offset in range(2, 40):
        db.session.add(CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=1, stiffness=1))
    db.session.commit()
    with queries() as large:
        patient_client.get("/me/export.json")
    assert len(large) == len(small)


def test_csv_export_neutralises_every_formula_prefix(db, patient, coach, patient_client):
    """Each of = + - @ tab CR at the start of a patient's text gets an apostrophe; numbers stay numbers."""
    seed(db, patient, coach, days=0)
    today = patient_today(patient)
    notes = [prefix + "cmd|' /C calc'!A0" for prefix in FORMULA_PREFIXES]
    assert len(notes) == 6
    for offset, note in enumerate(notes):
        db.session.add(
            CheckIn(patient_id=patient.id, day=today - timedelta(days=offset), pain=4, stiffness=0, notes=note)
        )
    db.session.commit()
    archive = zipfile.ZipFile(io.BytesIO(patient_client.get("/me/export-csv.zip").data))
    rows = list(csv.DictReader(io.StringIO(archive.read("checkins.csv").decode("utf-8-sig"), newline="")))
    assert sorted(row["notes"] for row in rows) == sorted("'" + note for note in notes)
    assert {row["pain"] for row in rows} == {"4"} and {row["stiffness"] for row in rows} == {"0"}

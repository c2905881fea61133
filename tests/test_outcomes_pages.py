"""The Outcomes page and its downloads: who sees what, bad filters, small groups, CSV and audit."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest
import time_machine

from portal.audit import AuditEvent
from portal.auth.models import Role
from portal.auth.passwords import hash_password
from portal.outcomes import services
from tests.conftest import TOTP_SECRET, login
from tests.outcome_cohorts import PatientSpec, build


@pytest.fixture(autouse=True)
def at_today():
    """The practice's day is TODAY (noon in Chicago), so the cohorts' days mean what they say."""
    with time_machine.travel("2026-03-20T18:00:00Z", tick=True):
        yield


def _spec(**kwargs) -> PatientSpec:
    values = {"clinic": 0, "coach": 0, "program": 0, "start_ago": 40, "pains": {0: 6, 14: 3, 39: 3}}
    values.update(kwargs)
    return PatientSpec(**values)


@pytest.fixture
def practice(db):
    """Clinic 0 / coach 0 / program 0: six patients; clinic 1 / coach 1 / program 1: three."""
    cohort = build([_spec() for _ in range(6)] + [_spec(clinic=1, coach=1, program=1) for _ in range(3)])
    for coach in cohort.coaches:  # staff sign in with the test authenticator secret
        coach.totp_secret, coach.totp_enabled = TOTP_SECRET, True
    db.session.commit()
    return cohort


@pytest.fixture
def staff_login(login_as, make_user, db):
    def sign_in(user=None):
        if user is None:
            return login_as(make_user(Role.ADMIN))
        user.password_hash = hash_password("correct-horse-battery-42")
        db.session.commit()
        return login_as(user)

    return sign_in


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_admin_sees_the_practice(practice, staff_login):
    client = staff_login()
    response = client.get("/outcomes/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Outcomes</h1>" in html
    assert 'data-stat="started">9<' in html
    assert "Open alerts per clinic" in html and "Active patients per coach" in html
    assert ">Outcomes</a>" in html  # in the navigation
    # Program 1 has three patients: its row shows n, not shares.
    assert "too few to compare" in html
    assert practice.programs[0].name in html and practice.programs[1].name in html


def test_admin_lands_on_outcomes(app, make_user, client):
    response = login(client, make_user(Role.ADMIN))
    assert response.headers["Location"].endswith("/outcomes/")


def test_breakdown_rows_link_to_their_filtered_view(practice, staff_login):
    client = staff_login()
    clinic = practice.clinics[0].id
    html = client.get("/outcomes/?weeks=4&compare=clinic").get_data(as_text=True)
    assert f'href="/outcomes/?weeks=4&amp;compare=clinic&amp;clinic={clinic}"' in html
    filtered = client.get(f"/outcomes/?weeks=4&compare=clinic&clinic={clinic}").get_data(as_text=True)
    assert 'data-stat="started">6<' in filtered


def test_coach_sees_only_their_own_patients(practice, staff_login):
    client = staff_login(practice.coaches[1])
    html = client.get("/outcomes/").get_data(as_text=True)
    assert 'data-stat="started">3<' in html
    assert "Open alerts per clinic" not in html
    assert practice.programs[0].name not in html.split('id="outcome-results"')[1]
    rows = _csv(client.get("/outcomes/report.csv"))
    overall = next(row for row in rows if row and row[0] == "all")
    assert overall[2] == "3"
    # Another coach's figures: refused beside the field, never shown.
    other = practice.coaches[0].id
    response = client.get(f"/outcomes/?coach={other}")
    assert response.status_code == 400
    assert "You can see the figures of your own patients only." in response.get_data(as_text=True)
    assert client.get(f"/outcomes/report.csv?coach={other}").status_code == 400
    # Their own id is fine.
    assert client.get(f"/outcomes/?coach={practice.coaches[1].id}").status_code == 200
    # The per-patient file is the admin's only.
    assert client.get("/outcomes/patients.csv").status_code == 403


def test_patients_may_not_see_outcomes(patient_client):
    assert patient_client.get("/outcomes/").status_code == 403
    assert patient_client.get("/outcomes/report.csv").status_code == 403


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("clinic=999999", "There is no such clinic. Choose one from the list."),
        ("clinic=abc", "There is no such clinic. Choose one from the list."),
        ("coach=999999", "There is no such coach. Choose one from the list."),
        ("program=999999", "There is no such program. Choose one from the list."),
        ("weeks=3", "Choose a number of weeks from the list."),
        ("compare=patient", "Choose program, clinic or coach."),
        ("started_from=2026-03-01&started_to=2026-02-01", "The second date must be on or after the first."),
        ("started_from=2020-01-01&started_to=2026-01-02", "Choose a range of at most 5 years."),
        ("started_from=not-a-date", "Not a valid date value."),
    ],
)
def test_bad_filters_are_a_400_with_the_reason(practice, staff_login, query, message):
    client = staff_login()
    response = client.get(f"/outcomes/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="outcome-results"' in html and "data-stat" not in html  # no figures
    assert client.get(f"/outcomes/report.csv?{query}").status_code == 400


def test_five_years_exactly_is_accepted(practice, staff_login):
    client = staff_login()
    assert client.get("/outcomes/?started_from=2021-03-20&started_to=2026-03-20").status_code == 200


def test_an_empty_selection_says_so(practice, staff_login):
    client = staff_login()
    html = client.get("/outcomes/?started_from=2020-01-01&started_to=2020-02-01").get_data(as_text=True)
    assert "No patients match these filters" in html
    assert "<canvas" not in html


def test_group_csv_has_the_filters_and_a_row_per_group(practice, staff_login, db):
    client = staff_login()
    program = practice.programs[0]
    response = client.get(f"/outcomes/report.csv?program={program.id}&weeks=2")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == ["# Holistiq Coach outcome report"]
    assert ["# Program", program.name] in rows and ["# Weeks in the programme", "At least 2 weeks"] in rows
    header = rows.index(next(row for row in rows if row and row[0] == "group_type"))
    body = rows[header + 1 :]
    assert body[0][:3] == ["all", "All patients", "6"]
    assert {row[0] for row in body} == {"all", "clinic", "coach", "program"}
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "outcomes.export")).one()
    assert "weeks" in event.detail


def test_small_groups_in_the_csv_show_their_n_only(practice, staff_login):
    rows = _csv(staff_login().get("/outcomes/report.csv"))
    small = next(row for row in rows if row and row[0] == "program" and row[1] == practice.programs[1].name)
    assert small[2] == "3" and small[-1] == "too few to compare"
    assert set(small[3:-1]) == {""}


def test_csv_cells_that_look_like_formulas_are_neutralised(practice, staff_login, db):
    practice.clinics[0].name = '=HYPERLINK("http://evil.example")'
    db.session.commit()
    client = staff_login()
    rows = _csv(client.get(f"/outcomes/report.csv?clinic={practice.clinics[0].id}"))
    assert ["# Clinic", '\'=HYPERLINK("http://evil.example")'] in rows
    assert not any(cell.startswith("=") for row in rows for cell in row)
    patients = _csv(client.get("/outcomes/patients.csv"))
    assert not any(cell.startswith("=") for row in patients for cell in row)


def test_per_patient_csv_is_pseudonymous_stable_and_audited(practice, staff_login, db):
    client = staff_login()
    first = _csv(client.get("/outcomes/patients.csv"))
    second = _csv(client.get("/outcomes/patients.csv"))
    assert first == second  # the same ids every time
    assert first[0][0] == "report_id" and len(first) == 10
    text = "\n".join(",".join(row) for row in first)
    for patient in practice.patients:
        assert patient.name not in text and patient.email not in text
    assert {row[0] for row in first[1:]} == {services.report_id(_secret(client), p.id) for p in practice.patients}
    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "outcomes.patient_export")).all()
    assert len(events) == 2


def _secret(client) -> str:
    return client.application.config["SECRET_KEY"]


def test_page_statements_do_not_grow_with_patients(practice, staff_login, queries):
    client = staff_login()
    client.get("/outcomes/")  # warm: built statements, translations
    with queries() as few:
        assert client.get("/outcomes/?compare=clinic").status_code == 200
    build([_spec() for _ in range(25)])  # new clinics too: the footer reads them once again
    client.get("/outcomes/?compare=clinic")
    with queries() as many:
        response = client.get("/outcomes/?compare=clinic")
    assert response.status_code == 200 and 'data-stat="started">34<' in response.get_data(as_text=True)
    assert len(many) == len(few)


def test_dropout_boundary_on_the_page(staff_login):
    # Five patients last seen 13 days ago (active), five 14 days ago (dropped out).
    build([_spec(pains={0: 5, 27: 5}) for _ in range(5)] + [_spec(pains={0: 5, 26: 5}) for _ in range(5)])
    html = staff_login().get("/outcomes/").get_data(as_text=True)
    assert "still active (5 of 10)" in html and "dropped out (5 of 10)" in html


def test_the_page_speaks_spanish(practice, make_user, login_as, db):
    admin = make_user(Role.ADMIN, language="es")
    html = login_as(admin).get("/outcomes/?compare=clinic").get_data(as_text=True)
    assert "<h1>Resultados</h1>" in html and "Descargar CSV" in html and "muy pocos para comparar" in html
    english = ["Median pain", "too few to compare", "Download", "Started between", "Compare by", "At a glance"]
    assert [word for word in english if word in html] == []


def test_psfs_and_red_flag_tiers_on_the_page_and_in_the_csv(staff_login):
    specs = [
        _spec(activities=[[(0, 3), (14, 6)]], alerts=[2.0], alert_tiers=["emergency"]),
        *(_spec(activities=[[(0, 4), (14, 5)]], alerts=[1.0], alert_tiers=["soon"]) for _ in range(4)),
    ]
    build(specs)
    client = staff_login()
    html = client.get("/outcomes/").get_data(as_text=True)
    assert "Activities patients chose (PSFS, 0–10, higher is better)" in html
    assert ">Emergency</th>" in html and ">Urgent</th>" in html and ">Attention</th>" in html
    rows = _csv(client.get("/outcomes/report.csv"))
    header = next(row for row in rows if row and row[0] == "group_type")
    overall = dict(zip(header, next(row for row in rows if row and row[0] == "all"), strict=True))
    assert overall["psfs_n"] == "5" and overall["psfs_improved_pct"] == "20.0"  # one of five up by 2 or more
    assert (overall["red_flag_alerts_emergency"], overall["red_flag_alerts_today"]) == ("1", "0")
    assert overall["red_flag_alerts_soon"] == "4"


def test_adherence_bands_of_under_five_patients_hide_their_count(db, staff_login):
    """Six patients did nothing of their plan this week, two did all of it: the 0-9 % band shows
    6, the 90-100 % band says "fewer than 5" in the table and draws no bar."""
    build([_spec() for _ in range(6)] + [_spec(done_days=list(range(7))) for _ in range(2)])
    html = staff_login().get("/outcomes/").get_data(as_text=True)
    chart = next(
        json.loads(unescape(raw))
        for raw in re.findall(r"data-chart='([^']*)'", html)
        if json.loads(unescape(raw)).get("kind") == "adherence"
    )
    assert chart["counts"] == [6, 0, 0, 0, 0, 0, 0, 0, 0, None]
    assert "<td>fewer than 5</td>" in html and "<td>2</td>" not in html

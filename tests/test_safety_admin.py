"""The admins' side of safety: each clinic's on-call contacts, a clinic phone that can be called, the "Safety" page
(escalated alerts to acknowledge, figures per clinic over 30 and 90 days, their CSV) and the figures' arithmetic
against a plain reference (hypothesis, on both databases)."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.audit import AuditEvent
from portal.auth.models import Clinic, OnCallContact, Role
from portal.care.models import Alert
from portal.care.safety_figures import median, percentile_90, safety_figures
from portal.timeutil import utcnow
from tests.conftest import csrf_token

NOW = datetime(2026, 12, 6, 12, 0)


def _post(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


# --- on-call contacts --------------------------------------------------------------------


def test_admin_adds_and_removes_on_call_contacts(db, admin_client, clinic):
    page = f"/admin/clinics/{clinic.id}/edit"
    html = admin_client.get(page).get_data(as_text=True)
    assert "On-call contacts" in html and "No on-call contacts yet" in html
    response = _post(
        admin_client,
        f"/admin/clinics/{clinic.id}/on-call",
        page,
        **{"oncall-name": "Dr. Night", "oncall-email": "Night@Clinic.example", "oncall-phone": "817 555 0199"},
    )
    assert response.status_code == 302
    contact = db.session.scalar(db.select(OnCallContact))
    assert (contact.clinic_id, contact.name, contact.email, contact.phone) == (
        clinic.id,
        "Dr. Night",
        "night@clinic.example",
        "(817) 555-0199",
    )
    html = admin_client.get(page).get_data(as_text=True)
    assert "Dr. Night" in html and 'href="tel:8175550199"' in html
    response = _post(admin_client, f"/admin/clinics/{clinic.id}/on-call/{contact.id}/remove", page)
    assert response.status_code == 302
    assert db.session.scalar(db.select(db.func.count(OnCallContact.id))) == 0
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"clinic.on_call_add", "clinic.on_call_remove"} <= actions


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("oncall-phone", "0000-00-00", "Enter a phone number with its area code"),
        ("oncall-email", "not an email", "Invalid email address"),
        ("oncall-name", "", "This field is required"),
    ],
)
def test_a_bad_on_call_contact_is_refused_beside_its_field(db, admin_client, clinic, field, value, message):
    page = f"/admin/clinics/{clinic.id}/edit"
    data = {"oncall-name": "Dr. Night", "oncall-email": "night@clinic.example", "oncall-phone": "(817) 555-0199"}
    data[field] = value
    response = _post(admin_client, f"/admin/clinics/{clinic.id}/on-call", page, **data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert db.session.scalar(db.select(db.func.count(OnCallContact.id))) == 0


def test_a_contact_of_another_clinic_cannot_be_removed_through_this_one(db, admin_client, clinic, make_clinic):
    other = make_clinic()
    contact = OnCallContact(clinic_id=other.id, name="X", email="x@example.org", phone="(817) 555-0100")
    db.session.add(contact)
    db.session.commit()
    page = f"/admin/clinics/{clinic.id}/edit"
    assert _post(admin_client, f"/admin/clinics/{clinic.id}/on-call/{contact.id}/remove", page).status_code == 404
    assert db.session.get(OnCallContact, contact.id) is not None


# --- the clinic's phone ------------------------------------------------------------------


def _clinic_form(clinic, **changes):
    data = {"name": clinic.name, "city": clinic.city, "address": "", "phone": clinic.phone, "timezone": clinic.timezone}
    return data | changes


@pytest.mark.parametrize("bad", ["0000-00-00", "555", "(000) 000-0000", "call us"])
def test_an_invalid_clinic_phone_is_refused_and_nothing_saved(db, admin_client, clinic, bad):
    page = f"/admin/clinics/{clinic.id}/edit"
    response = _post(admin_client, page, page, **_clinic_form(clinic, phone=bad, city="Changed"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="phone-error"' in html and "Enter a phone number with its area code" in html
    db.session.refresh(clinic)
    assert (clinic.phone, clinic.city) == ("(817) 555-0142", "Arlington")


def test_a_clinic_phone_is_stored_in_one_format(db, admin_client, clinic):
    page = f"/admin/clinics/{clinic.id}/edit"
    response = _post(admin_client, page, page, **_clinic_form(clinic, phone="+1 972.555.0117"))
    assert response.status_code == 302
    db.session.refresh(clinic)
    assert clinic.phone == "(972) 555-0117"


# --- the Safety page ---------------------------------------------------------------------


def _alert(db, patient, tier, opened, acknowledged=None, resolved=None, escalated=None) -> Alert:
    severity = {"emergency": 0, "today": 1, "soon": 2}[tier]
    alert = Alert(
        patient_id=patient.id,
        kind="red_flag",
        tier=tier,
        severity=severity,
        summary="r",
        opened_at=opened,
        tier_at=opened,
        acknowledged_at=acknowledged,
        resolved_at=resolved,
        escalated_at=escalated,
        open_key=None if resolved else 1,
    )
    db.session.add(alert)
    db.session.commit()
    return alert


def test_safety_page_lists_escalated_alerts_and_an_admin_acknowledges(db, admin, admin_client, patient, coach):
    now = utcnow()
    alert = _alert(db, patient, "emergency", now - timedelta(minutes=40), escalated=now - timedelta(minutes=10))
    html = admin_client.get("/admin/safety").get_data(as_text=True)
    assert "<h1>Safety</h1>" in html and patient.name in html and "Escalated " in html
    assert 'data-badge="escalated_alerts">1<' in html
    assert ">Acknowledge<" in html
    response = _post(admin_client, f"/admin/safety/alerts/{alert.id}/acknowledge", "/admin/safety")
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_by_id == admin.id
    html = admin_client.get("/admin/safety").get_data(as_text=True)
    assert "Acknowledged by Ada Admin" in html and 'data-badge="escalated_alerts"' not in html


def test_an_admin_cannot_acknowledge_an_alert_that_is_not_escalated(db, admin_client, patient):
    alert = _alert(db, patient, "today", utcnow())
    response = _post(admin_client, f"/admin/safety/alerts/{alert.id}/acknowledge", "/admin/safety")
    assert response.status_code == 404


def test_safety_figures_table_and_csv(db, admin_client, patient, coach, make_user):
    now = utcnow()
    _alert(db, patient, "emergency", now - timedelta(days=2), now - timedelta(days=2) + timedelta(minutes=12))
    _alert(
        db,
        make_user(Role.PATIENT, coach=coach),
        "today",
        now - timedelta(days=40),
        now - timedelta(days=40) + timedelta(minutes=90),
        now - timedelta(days=40) + timedelta(hours=5),
        now - timedelta(days=40) + timedelta(minutes=241),
    )
    _alert(db, make_user(Role.PATIENT, coach=coach), "soon", now - timedelta(days=100))  # outside both windows
    html = admin_client.get("/admin/safety").get_data(as_text=True)
    assert "Download CSV" in html and "Red-flag alerts by clinic" in html
    response = admin_client.get("/admin/safety.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    mine = {row["days"]: row for row in rows if row["clinic"] == patient.clinic.name}
    assert (mine["30"]["alerts_emergency"], mine["30"]["alerts_urgent"], mine["30"]["alerts_total"]) == ("1", "0", "1")
    assert (mine["90"]["alerts_emergency"], mine["90"]["alerts_urgent"], mine["90"]["escalated"]) == ("1", "1", "1")
    assert mine["30"]["acknowledge_median_minutes"] == "12.0" and mine["30"]["still_open"] == "1"
    assert mine["90"]["acknowledge_p90_minutes"] == "90" and mine["90"]["resolve_median_minutes"] == "300.0"
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.action == "safety.export"))


def test_the_csv_neutralises_formula_cells(db, admin_client, make_clinic):
    make_clinic(name='=HYPERLINK("http://evil")')
    body = admin_client.get("/admin/safety.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_the_safety_page_reads_a_fixed_number_of_statements(db, admin_client, make_user, make_clinic, queries):
    def count() -> int:
        with queries() as statements:
            assert admin_client.get("/admin/safety").status_code == 200
        return len(statements)

    base = count()
    for _ in range(3):
        clinic = make_clinic()
        coach = make_user(Role.COACH, clinic_id=clinic.id)
        for n in range(3):
            someone = make_user(Role.PATIENT, coach=coach, clinic_id=clinic.id)
            _alert(db, someone, "emergency", utcnow() - timedelta(days=n), escalated=utcnow())
    admin_client.get("/admin/safety")  # the footer reads the new clinics once
    assert count() == base


# --- the arithmetic, against a plain reference -------------------------------------------


def reference(values: list[int]) -> tuple[float | None, int | None]:
    """Median and nearest-rank 90th percentile, counted out by hand."""
    if not values:
        return None, None
    ordered = sorted(values)
    n = len(ordered)
    mid = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    rank = 1
    while rank < 0.9 * n:  # the smallest rank holding at least 90 % of the values
        rank += 1
    return mid, ordered[rank - 1]


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=40))
def test_median_and_90th_percentile_match_the_reference(values):
    assert (median(values), percentile_90(values)) == reference(values)
    if values:
        assert percentile_90(values) == sorted(values)[math.ceil(0.9 * len(values)) - 1]


alert_specs = st.lists(
    st.tuples(
        st.sampled_from(["emergency", "today", "soon"]),
        st.integers(min_value=0, max_value=100 * 24 * 60),  # opened this many minutes before now
        st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),  # acknowledged after
        st.one_of(st.none(), st.integers(min_value=0, max_value=9000)),  # resolved after
        st.booleans(),  # escalated
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=alert_specs)
def test_figures_match_a_plain_count_of_the_alerts(db, make_user, clinic, specs):
    db.session.execute(db.delete(Alert))
    db.session.commit()
    coach = make_user(Role.COACH)
    for tier, minutes_ago, ack_after, resolve_after, escalated in specs:
        patient = make_user(Role.PATIENT, coach=coach)  # one open alert of a kind per patient
        opened = NOW - timedelta(minutes=minutes_ago)
        resolved = opened + timedelta(minutes=resolve_after) if resolve_after is not None else None
        acknowledged = opened + timedelta(minutes=ack_after) if ack_after is not None else resolved
        _alert(db, patient, tier, opened, acknowledged, resolved, opened if escalated else None)
    figures = {(row.clinic_id, row.days): row for row in safety_figures(NOW)}
    for days in (30, 90):
        inside = [spec for spec in specs if spec[1] <= days * 24 * 60]
        row = figures[(clinic.id, days)]
        assert row.by_tier == {t: sum(1 for spec in inside if spec[0] == t) for t in ("emergency", "today", "soon")}
        assert row.escalated == sum(1 for spec in inside if spec[4])
        acks = [spec[2] if spec[2] is not None else spec[3] for spec in inside]
        resolves = [spec[3] for spec in inside]
        assert (row.acknowledge_median, row.acknowledge_p90) == reference([a for a in acks if a is not None])
        assert (row.resolve_median, row.resolve_p90) == reference([r for r in resolves if r is not None])
        assert row.unacknowledged == sum(1 for a in acks if a is None)
        assert row.open == sum(1 for r in resolves if r is None)
    assert all(row.clinic_id in {c.id for c in db.session.scalars(db.select(Clinic))} for row in figures.values())


def test_figures_at_the_window_edges_by_clinic_name_with_clinicless_patients_last(db, make_user, make_clinic, clinic):
    zulu, alpha = make_clinic(name="Zulu Clinic"), make_clinic(name="Alpha Clinic")
    coach = make_user(Role.COACH, clinic_id=zulu.id)

    def patient_at(clinic_id):
        someone = make_user(Role.PATIENT, coach=coach, clinic_id=zulu.id)
        someone.clinic_id = clinic_id  # None: an account from before clinics (the column allows it)
        db.session.commit()
        return someone

    _alert(db, patient_at(zulu.id), "emergency", NOW - timedelta(days=30), NOW - timedelta(days=30, seconds=-119))
    _alert(db, patient_at(zulu.id), "soon", NOW - timedelta(days=90))  # the 90 days' first instant: counted
    _alert(db, patient_at(zulu.id), "soon", NOW - timedelta(days=90, seconds=1))  # just before: left out
    _alert(db, patient_at(zulu.id), "soon", NOW + timedelta(seconds=1))  # after now: left out
    _alert(db, patient_at(None), "today", NOW - timedelta(days=1)).tier = None  # a red flag from before tiers
    _alert(db, patient_at(zulu.id), "soon", NOW - timedelta(days=1)).kind = "pain_worsening"  # not a red flag
    db.session.commit()
    figures = safety_figures(NOW)
    assert [(row.clinic_id, row.clinic_name, row.days) for row in figures] == [
        (alpha.id, "Alpha Clinic", 30),
        (alpha.id, "Alpha Clinic", 90),
        (clinic.id, "Holistiq Arlington", 30),
        (clinic.id, "Holistiq Arlington", 90),
        (zulu.id, "Zulu Clinic", 30),
        (zulu.id, "Zulu Clinic", 90),
        (None, "", 30),
        (None, "", 90),
    ]
    *_others, zulu30, zulu90, none30, none90 = figures
    assert zulu30.by_tier == {"emergency": 1, "today": 0, "soon": 0}
    assert zulu90.by_tier == {"emergency": 1, "today": 0, "soon": 1}
    assert zulu30.acknowledge_minutes == [1]  # 119 seconds: whole minutes, rounded down
    assert (zulu90.unacknowledged, zulu90.open, zulu90.total) == (1, 2, 2)
    assert none30.by_tier == none90.by_tier == {"emergency": 0, "today": 1, "soon": 0}  # no tier: counted as Today
    assert [row.days for row in safety_figures(NOW, windows=(7,))] == [7, 7, 7, 7]


def test_no_clinicless_row_without_a_clinicless_alert(db, clinic):
    assert [(row.clinic_id, row.total) for row in safety_figures(NOW)] == [(clinic.id, 0), (clinic.id, 0)]

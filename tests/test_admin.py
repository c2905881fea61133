"""Admin area: accounts, clinics and the audit log."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re

import pytest

from portal import audit
from portal.audit import AuditEvent
from portal.auth.models import Clinic, Role, User
from portal.care.models import Alert
from portal.csvutil import FORMULA_PREFIXES
from portal.mail import OutboundEmail
from tests.conftest import csrf_token
from tests.plan_factories import make_item, make_plan


def _count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def _new_account_data(client, **overrides):
    data = {
        "name": "Nora Newpatient",
        "email": "nora@example.org",
        "role": "patient",
        "clinic_id": "",
        "coach_id": "",
        "phone": "(214) 555-0100",
        "csrf_token": csrf_token(client, "/admin/accounts/new"),
    }
    data.update(overrides)
    return data


def test_patient_and_coach_get_403_on_admin(patient_client, coach_client, client):
    for c in (patient_client, coach_client):
        assert c.get("/admin/accounts").status_code == 403
        assert c.get("/admin/audit").status_code == 403
    assert client.get("/admin/accounts").status_code == 302  # anonymous: login page


def test_accounts_list_search_filter_paginate(admin_client, make_user, clinic, make_clinic):
    other = make_clinic(name="Plano", city="Plano")
    for i in range(30):
        make_user(Role.PATIENT, name=f"Zed Bulk {i:02d}", clinic_id=other.id)
    html = admin_client.get("/admin/accounts?q=zed+bulk").get_data(as_text=True)
    assert "Zed Bulk 00" in html and "Page 1 of 2" in html
    assert "Zed Bulk 29" in admin_client.get("/admin/accounts?q=zed+bulk&page=2").get_data(as_text=True)
    html = admin_client.get(f"/admin/accounts?clinic={clinic.id}&role=patient").get_data(as_text=True)
    assert "Zed Bulk" not in html
    assert admin_client.get("/admin/accounts?role=wizard").status_code == 400
    assert admin_client.get("/admin/accounts?page=999").status_code == 200


def test_accounts_list_query_count_is_flat(admin_client, make_user, queries):
    make_user(Role.PATIENT)
    with queries() as small:
        admin_client.get("/admin/accounts")
    for _ in range(15):
        make_user(Role.PATIENT)
    with queries() as large:
        admin_client.get("/admin/accounts")
    assert len(large) == len(small)


def test_create_patient_sends_invitation_and_audits(admin_client, admin, coach, clinic, db):
    data = _new_account_data(admin_client, clinic_id=str(clinic.id), coach_id=str(coach.id), email="Nora@Example.org")
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 302
    nora = db.session.scalar(db.select(User).where(User.email == "nora@example.org"))
    assert nora.coach_id == coach.id and nora.password_hash is None
    mail = db.session.scalars(db.select(OutboundEmail)).one()
    assert mail.to_address == "nora@example.org" and "/invitation?token=" in mail.body
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.actor_id == admin.id))]
    assert "account.create" in actions and "account.invitation_sent" in actions


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"email": "not-an-email"}, "Invalid email"),
        ({"email": "CASEY.COACH@example.org"}, "already exists"),
        ({"clinic_id": ""}, "clinic"),
        ({"coach_id": ""}, "coach"),
        ({"coach_id": "999999"}, "Not a valid choice"),
        ({"name": ""}, "This field is required"),
        ({"role": "superuser"}, "Not a valid choice"),
        ({"name": "x" * 500}, "Field cannot be longer"),
    ],
)
def test_create_account_bad_input(admin_client, coach, clinic, db, overrides, message):
    before = _count(db, User)
    data = _new_account_data(admin_client, clinic_id=str(clinic.id), coach_id=str(coach.id))
    data.update(overrides)
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(db, User) == before


def _field_errors(html: str) -> dict[str, str]:
    """{field id: its message} of every field shown with an error."""
    found = re.findall(r'<div id="([\w-]+)-error" class="invalid-feedback d-block">([^<]*)</div>', html)
    return {name: html_lib.unescape(message) for name, message in found}


def test_a_new_patient_form_names_every_missing_field_at_once(admin_client, clinic, coach, db):
    """Phone, clinic and coach: all three in the first answer, each beside its field, nothing written."""
    before = _count(db, User)
    data = _new_account_data(admin_client, phone="", clinic_id="", coach_id="")
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 400
    errors = _field_errors(response.get_data(as_text=True))
    assert errors == {
        "clinic_id": "Choose the patient's clinic.",
        "coach_id": "Choose an active coach for the patient.",
        "phone": "Enter the patient's phone number: the clinic calls it about safety alerts.",
    }
    # A taken email and a bad date come in the same answer as the rest.
    data.update(email="CASEY.COACH@example.org", date_of_birth="2999-01-01")
    errors = _field_errors(admin_client.post("/admin/accounts/new", data=data).get_data(as_text=True))
    assert set(errors) == {"email", "clinic_id", "coach_id", "phone", "date_of_birth"}
    assert errors["email"] == "An account with this email already exists."
    assert _count(db, User) == before
    # Staff need none of these (a coach chosen for staff is not kept).
    staff = _new_account_data(admin_client, role="coach", phone="", email="sam@example.org", coach_id=str(coach.id))
    assert admin_client.post("/admin/accounts/new", data=staff).status_code == 302
    assert db.session.scalar(db.select(User.coach_id).where(User.email == "sam@example.org")) is None


def test_editing_names_every_problem_at_once(admin_client, admin, coach, patient, db):
    token = csrf_token(admin_client, f"/admin/accounts/{coach.id}/edit")
    data = {
        "csrf_token": token,
        "name": coach.name,
        "email": patient.email,
        "role": "admin",
        "clinic_id": "",
        "phone": "",
    }
    response = admin_client.post(f"/admin/accounts/{coach.id}/edit", data=data)
    assert response.status_code == 400
    assert _field_errors(response.get_data(as_text=True)) == {
        "email": "An account with this email already exists.",
        "role": "Reassign this coach's patients before changing the role.",
    }


def test_create_without_csrf_is_400(admin_client, db, coach, clinic):
    before = _count(db, User)
    data = _new_account_data(admin_client, clinic_id=str(clinic.id), coach_id=str(coach.id))
    del data["csrf_token"]
    assert admin_client.post("/admin/accounts/new", data=data).status_code == 400
    assert _count(db, User) == before


def test_edit_account_and_missing_ids(admin_client, patient, db):
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}/edit")
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/edit",
        data={
            "name": "Pat Renamed",
            "email": patient.email,
            "role": "patient",
            "clinic_id": str(patient.clinic_id),
            "coach_id": str(patient.coach_id),
            "phone": "(817) 555-0100",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.name == "Pat Renamed"
    assert admin_client.get("/admin/accounts/999999").status_code == 404
    assert admin_client.get("/admin/accounts/999999/edit").status_code == 404


def _deactivate(client, user, reason="Moved out of state"):
    token = csrf_token(client, f"/admin/accounts/{user.id}/deactivate")
    return client.post(f"/admin/accounts/{user.id}/deactivate", data={"csrf_token": token, "reason": reason})


def test_deactivate_reactivate_never_deletes(admin_client, login_as, patient, db):
    patient_client = login_as(patient)
    assert _deactivate(admin_client, patient).status_code == 302
    db.session.refresh(patient)
    assert patient.is_active is False
    assert patient_client.get("/account").status_code == 302  # signed out at once
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    assert admin_client.post(f"/admin/accounts/{patient.id}/reactivate", data={"csrf_token": token}).status_code == 302
    db.session.refresh(patient)
    assert patient.is_active is True
    assert db.session.get(User, patient.id) is not None


def test_deactivating_a_patient_asks_why_and_says_what_follows(admin_client, admin, coach, patient, db):
    make_plan(patient, coach, [make_item()], title="Calm the flare")
    db.session.add_all(
        [Alert(patient_id=patient.id, kind=kind, summary="Needs a look") for kind in ("pain_worsening", "red_flag")]
    )
    db.session.commit()
    detail = admin_client.get(f"/admin/accounts/{patient.id}").get_data(as_text=True)
    # A link to a page of its own, not a bare browser confirm().
    link = f'<a class="btn btn-outline-danger" href="/admin/accounts/{patient.id}/deactivate">Deactivate</a>'
    assert link in detail
    page = admin_client.get(f"/admin/accounts/{patient.id}/deactivate")
    html = html_lib.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and f"<h1>Deactivate {patient.name}?</h1>" in html
    assert f"{patient.name} is signed out on every device at once" in html
    assert f"Their plan “Calm the flare” stays as it is, but leaves the roster of {coach.name}" in html
    assert "2 alerts about them are still open." in html
    # No reason: refused beside the field, nothing changed.
    response = _deactivate(admin_client, patient, reason="  ")
    assert response.status_code == 400
    assert _field_errors(response.get_data(as_text=True)) == {
        "reason": "Write why the account is deactivated; it is kept in the audit log."
    }
    db.session.refresh(patient)
    assert patient.is_active
    response = _deactivate(admin_client, patient, reason="Moved out of state")
    assert response.status_code == 302
    db.session.refresh(patient)
    assert not patient.is_active
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.deactivate")).one()
    assert event.actor_id == admin.id and event.detail_dict == {"name": patient.name, "reason": "Moved out of state"}
    assert "Moved out of state" in admin_client.get("/admin/audit").get_data(as_text=True)
    # Once deactivated, the page sends the admin back to the account.
    assert admin_client.get(f"/admin/accounts/{patient.id}/deactivate").status_code == 303


def test_admin_cannot_deactivate_self(admin_client, admin, db):
    page = html_lib.unescape(admin_client.get(f"/admin/accounts/{admin.id}/deactivate").get_data(as_text=True))
    assert "You cannot deactivate your own account." in page and 'name="reason"' not in page
    assert _deactivate(admin_client, admin).status_code == 303
    db.session.refresh(admin)
    assert admin.is_active


def test_coach_with_patients_cannot_be_deactivated(admin_client, coach, patient, make_user, db):
    second = make_user(Role.PATIENT, coach=coach, name="Aaron Second")
    page = html_lib.unescape(admin_client.get(f"/admin/accounts/{coach.id}/deactivate").get_data(as_text=True))
    # Who must be reassigned first, each with the way to do it; no button to go on.
    assert f"2 patients work with {coach.name}. Reassign each to another coach first:" in page
    listed = re.findall(r'<li><a href="/admin/accounts/(\d+)#reassign-heading">', page)
    assert listed == [str(second.id), str(patient.id)]
    assert "This coach still has patients. Reassign them first." in page and 'name="reason"' not in page
    response = _deactivate(admin_client, coach)
    assert response.status_code == 303
    db.session.refresh(coach)
    assert coach.is_active


def test_reassign_patient(admin_client, patient, make_user, db):
    new_coach = make_user(Role.COACH, name="Robin Second")
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    # The first submit asks, and changes nothing yet.
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": str(new_coach.id), "reassign-csrf_token": token},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Move {patient.name} to Robin Second?" in html and 'name="reassign-confirm"' in html
    assert "works at" not in html  # same clinic: no warning
    db.session.refresh(patient)
    assert patient.coach_id != new_coach.id
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": str(new_coach.id), "reassign-csrf_token": token, "reassign-confirm": "yes"},
    )
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.coach_id == new_coach.id
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.reassign_coach")).one()
    assert event.patient_id == patient.id
    # A forged coach id (a patient) is refused.
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": str(patient.id), "reassign-csrf_token": token},
    )
    assert response.status_code == 303
    db.session.refresh(patient)
    assert patient.coach_id == new_coach.id


def test_send_reset_link(admin_client, patient, db):
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    assert admin_client.post(f"/admin/accounts/{patient.id}/send-link", data={"csrf_token": token}).status_code == 302
    mail = db.session.scalars(db.select(OutboundEmail)).one()
    assert "/password/reset?token=" in mail.body


def test_clinic_edit_and_validation(admin_client, clinic, db):
    token = csrf_token(admin_client, f"/admin/clinics/{clinic.id}/edit")
    response = admin_client.post(
        f"/admin/clinics/{clinic.id}/edit",
        data={
            "name": clinic.name,
            "city": "Arlington",
            "phone": "(817) 555-0199",
            "timezone": "America/Chicago",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    db.session.refresh(clinic)
    assert clinic.phone == "(817) 555-0199"
    response = admin_client.post(
        f"/admin/clinics/{clinic.id}/edit",
        data={
            "name": clinic.name,
            "city": "Arlington",
            "phone": "<script>",
            "timezone": "Mars/Base",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert admin_client.get("/admin/clinics/424242/edit").status_code == 404
    assert "clinic.update" in [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert _count(db, Clinic) == 1


def test_audit_log_filters_and_csv(admin_client, admin, patient, db):
    html = admin_client.get(f"/admin/audit?actor={admin.email}&action=login.success").get_data(as_text=True)
    assert "Signed in" in html
    assert admin_client.get("/admin/audit?date_from=not-a-date").status_code == 400
    response = admin_client.get("/admin/audit.csv?action=login.success")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("at_utc,actor,action") and "login.success" in body


def test_audit_events_are_append_only(admin, db):
    event = audit.record("test.event", admin, actor=admin)
    db.session.commit()
    event.action = "tampered"
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()


def test_account_search_treats_percent_and_underscore_as_text(admin_client, make_user):
    make_user(Role.PATIENT, name="Hundred% Hannah")
    make_user(Role.PATIENT, name="Under_score Uma")
    make_user(Role.PATIENT, name="Quinn Mailbox", email="quinn_mail@example.org")
    make_user(Role.PATIENT, name="Plain Percival")
    make_user(Role.PATIENT, name="UnderXscore Ulla")  # what "_" would match as a wildcard
    html = admin_client.get("/admin/accounts?q=%25").get_data(as_text=True)
    assert "Hundred% Hannah" in html
    assert "Under_score Uma" not in html and "Plain Percival" not in html and "Quinn Mailbox" not in html
    html = admin_client.get("/admin/accounts?q=_").get_data(as_text=True)
    assert "Under_score Uma" in html and "Quinn Mailbox" in html  # name or email
    assert "UnderXscore Ulla" not in html and "Hundred% Hannah" not in html and "Plain Percival" not in html
    html = admin_client.get("/admin/accounts?q=r_s").get_data(as_text=True)
    assert "Under_score Uma" in html and "UnderXscore Ulla" not in html


def test_audit_action_filter_is_a_list_of_known_actions(admin_client, db, admin, patient):
    audit.record("account.reassign_coach", patient, actor=admin)
    audit.record("patient.view", patient, actor=admin, patient=patient)
    db.session.commit()
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="action".*?</select>', html, re.S).group(0)
    assert '<option value="account.reassign_coach">Reassigned coach</option>' in select
    assert '<option value="patient.view">Viewed patient record</option>' in select
    assert len(re.findall("<option", select)) == len(audit.ACTION_LABELS) + 1  # plus "All actions"
    html = admin_client.get("/admin/audit?action=account.reassign_coach").get_data(as_text=True)
    table = html[html.index('class="list-unstyled audit-log"') :]
    assert "Reassigned coach" in table and "Viewed patient record" not in table
    # An action that is not on the list, or a wildcard, is refused rather than guessed at.
    assert admin_client.get("/admin/audit?action=account%25").status_code == 400
    assert admin_client.get("/admin/audit.csv?action=demo_").status_code == 400


def test_audit_csv_neutralises_every_formula_prefix(admin_client, db):
    """The audit export follows the same CSV rule as the patient export: = + - @ tab CR."""
    details = [prefix + 'HYPERLINK("http://evil")' for prefix in FORMULA_PREFIXES]
    assert len(details) == 6
    db.session.add_all(AuditEvent(action="clinic.update", target_id=-3, detail=detail) for detail in details)
    db.session.commit()
    response = admin_client.get("/admin/audit.csv?action=clinic.update")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert sorted(row["detail"] for row in rows) == sorted("'" + detail for detail in details)
    assert {row["target_id"] for row in rows} == {"-3"}  # a number stays a number


def _edit(client, user, **overrides):
    data = {
        "name": user.name,
        "email": user.email,
        "role": str(user.role),
        "clinic_id": str(user.clinic_id or ""),
        "coach_id": str(user.coach_id or ""),
        "phone": user.phone or "(214) 555-0100",
        "csrf_token": csrf_token(client, f"/admin/accounts/{user.id}/edit"),
    }
    data.update(overrides)
    return client.post(f"/admin/accounts/{user.id}/edit", data=data)


def test_edit_account_rules_answer_400_next_to_the_field(admin_client, admin, coach, patient, make_user, db):
    response = _edit(admin_client, patient, email=coach.email.upper())
    assert response.status_code == 400 and "An account with this email already exists." in response.get_data(
        as_text=True
    )
    response = _edit(admin_client, admin, role="coach")
    assert response.status_code == 400 and "You cannot change your own role." in response.get_data(as_text=True)
    response = _edit(admin_client, coach, role="admin")
    assert response.status_code == 400
    assert "Reassign this coach&#39;s patients before changing the role." in response.get_data(as_text=True)
    response = _edit(admin_client, patient, phone="")
    assert response.status_code == 400
    assert "Enter the patient's phone number" in response.get_data(as_text=True)
    response = _edit(admin_client, patient, phone="555-0100")  # no area code
    assert response.status_code == 400 and "with its area code" in response.get_data(as_text=True)
    db.session.refresh(patient), db.session.refresh(coach), db.session.refresh(admin)
    assert patient.email == "pat.patient@example.org" and coach.role == Role.COACH and admin.role == Role.ADMIN
    assert "account.update" not in [e.action for e in db.session.scalars(db.select(AuditEvent))]


def test_edit_account_role_change_ends_sessions_and_coach_change_moves_patient(
    admin_client, patient, make_user, db, login_as
):
    staff = make_user(Role.COACH, name="Morgan Move")
    staff_client = login_as(staff)
    response = _edit(admin_client, staff, role="admin")
    assert response.status_code == 302
    db.session.refresh(staff)
    assert staff.role == Role.ADMIN and staff_client.get("/account").status_code == 302
    # The edit form keeps a patient's coach (a forged coach id changes nothing): moving a
    # patient goes through "Reassign", which asks first.
    new_coach = make_user(Role.COACH, name="Robin Second")
    old_coach_id = patient.coach_id
    response = _edit(admin_client, patient, coach_id=str(new_coach.id), name="Pat Renamed")
    assert response.status_code == 302
    db.session.refresh(patient)
    assert patient.coach_id == old_coach_id and patient.name == "Pat Renamed"
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.patient_id == patient.id))]
    assert "account.reassign_coach" not in actions and "account.update" in actions


def test_clinic_duplicate_name_is_400_next_to_the_name(admin_client, clinic, make_clinic, db):
    other = make_clinic(name="Holistiq Plano", city="Plano")
    data = {
        "name": clinic.name.upper(),
        "city": "Plano",
        "phone": "(972) 555-0100",
        "timezone": "America/Chicago",
        "csrf_token": csrf_token(admin_client, f"/admin/clinics/{other.id}/edit"),
    }
    response = admin_client.post(f"/admin/clinics/{other.id}/edit", data=data)
    assert response.status_code == 400 and "Another clinic has this name." in response.get_data(as_text=True)
    response = admin_client.post("/admin/clinics/new", data=data)
    assert response.status_code == 400
    assert _count(db, Clinic) == 2
    db.session.refresh(other)
    assert other.name == "Holistiq Plano"
    response = admin_client.post("/admin/clinics/new", data={**data, "name": "Holistiq Irving", "city": "Irving"})
    assert response.status_code == 302 and _count(db, Clinic) == 3
    assert "clinic.create" in [e.action for e in db.session.scalars(db.select(AuditEvent))]


def test_reassign_to_the_same_coach_does_nothing_and_says_so(admin_client, patient, db):
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    for confirm in ("", "yes"):
        response = admin_client.post(
            f"/admin/accounts/{patient.id}/reassign",
            data={
                "reassign-coach_id": str(patient.coach_id),
                "reassign-csrf_token": token,
                "reassign-confirm": confirm,
            },
            follow_redirects=True,
        )
        assert f"{patient.name} already works with {patient.coach.name}. Nothing changed." in response.get_data(
            as_text=True
        )
    assert not db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.reassign_coach")).all()


def test_reassign_warns_when_the_new_coach_works_at_another_clinic(admin_client, patient, make_user, make_clinic, db):
    plano = make_clinic(name="Holistiq Spine & Ortho Plano", city="Plano")
    far_coach = make_user(Role.COACH, name="Pia Plano", clinic_id=plano.id)
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": str(far_coach.id), "reassign-csrf_token": token},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Pia Plano works at Holistiq Spine &amp; Ortho Plano, not at" in html and 'role="alert"' in html
    db.session.refresh(patient)
    assert patient.coach_id != far_coach.id


def test_reassign_refuses_a_missing_csrf_or_a_forged_coach(admin_client, patient, db):
    before = patient.coach_id
    assert admin_client.post(
        f"/admin/accounts/{patient.id}/reassign", data={"reassign-coach_id": "1", "reassign-confirm": "yes"}
    ).status_code in (303, 400)
    token = csrf_token(admin_client, f"/admin/accounts/{patient.id}")
    response = admin_client.post(
        f"/admin/accounts/{patient.id}/reassign",
        data={"reassign-coach_id": "987654", "reassign-csrf_token": token, "reassign-confirm": "yes"},
    )
    assert response.status_code == 303
    db.session.refresh(patient)
    assert patient.coach_id == before


def test_patient_account_keeps_phone_date_of_birth_and_language(admin_client, coach, clinic, db):
    data = _new_account_data(
        admin_client,
        clinic_id=str(clinic.id),
        coach_id=str(coach.id),
        phone="214 555 0147",
        date_of_birth="1981-03-09",
        language="es",
    )
    assert admin_client.post("/admin/accounts/new", data=data).status_code == 302
    nora = db.session.scalar(db.select(User).where(User.email == "nora@example.org"))
    assert nora.phone == "(214) 555-0147" and str(nora.date_of_birth) == "1981-03-09" and nora.language == "es"
    page = admin_client.get(f"/admin/accounts/{nora.id}").get_data(as_text=True)
    assert 'href="tel:214555-0147"' in page or 'href="tel:' in page
    assert "March 9, 1981" in page


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"phone": ""}, "Enter the patient's phone number"),
        ({"phone": "12345"}, "with its area code"),
        ({"phone": "call me maybe"}, "with its area code"),
        ({"date_of_birth": "2999-01-01"}, "cannot be in the future"),
        ({"date_of_birth": "not-a-date"}, "Not a valid date value"),
    ],
)
def test_new_patient_phone_and_birth_date_are_checked(admin_client, coach, clinic, db, overrides, message):
    data = _new_account_data(admin_client, clinic_id=str(clinic.id), coach_id=str(coach.id), **overrides)
    response = admin_client.post("/admin/accounts/new", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(User).where(User.email == "nora@example.org")) is None


def test_staff_need_no_phone(admin_client, clinic, db):
    data = _new_account_data(admin_client, role="coach", clinic_id=str(clinic.id), phone="", email="c@example.org")
    assert admin_client.post("/admin/accounts/new", data=data).status_code == 302


def test_the_account_form_offers_no_coach_in_the_admins_language(admin, admin_client, db):
    # The blank choice is translated per request, not once when the module was imported.
    admin.language = "es"
    db.session.commit()
    html = admin_client.get("/admin/accounts/new").get_data(as_text=True)
    assert ">Sin coach</option>" in html
    assert "No coach" not in html

"""The account, clinic and coach-assignment services the admin pages call, and the one CSV rule."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from portal.audit import AuditEvent
from portal.auth import sessions
from portal.auth.accounts import AccountError, set_active, update_account
from portal.auth.models import Clinic, Role
from portal.care.assignment import reassign_coach
from portal.care.models import Plan, PlanStatus
from portal.clinics import ClinicError, save_clinic
from portal.csvutil import FORMULA_PREFIXES, csv_line, csv_text, safe_cell

ROOT = Path(__file__).resolve().parents[1]


def _profile(user, **overrides):
    values = {
        "email": user.email,
        "name": user.name,
        "role": str(user.role),
        "clinic_id": user.clinic_id,
        "coach_id": user.coach_id,
        "phone": user.phone,
    }
    values.update(overrides)
    return values


def _actions(db) -> list[str]:
    return [e.action for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]


@pytest.mark.parametrize(
    "who,overrides,field,message",
    [
        ("patient", {"email": " CASEY.COACH@example.org "}, "email", "An account with this email already exists."),
        ("admin", {"role": "coach"}, "role", "You cannot change your own role."),
        ("coach", {"role": "admin"}, "role", "Reassign this coach's patients before changing the role."),
        ("patient", {"clinic_id": None}, "clinic_id", "Choose the patient's clinic."),
        ("patient", {"role": "wizard"}, "role", "Choose a role."),
    ],
)
def test_update_account_refuses_before_changing_anything(db, admin, coach, patient, who, overrides, field, message):
    user = {"admin": admin, "coach": coach, "patient": patient}[who]
    before = _profile(user)
    with pytest.raises(AccountError) as raised:
        update_account(user, **_profile(user, **overrides), actor=admin)
    assert raised.value.field == field and str(raised.value) == message
    assert _profile(user) == before
    assert "account.update" not in _actions(db)


def test_update_account_applies_audits_and_rotates_session_on_role_change(db, admin, make_user):
    staff = make_user(Role.COACH, name="Sam Staff")
    sessions.start(staff)
    changes = update_account(staff, **_profile(staff, email=" Sam.New@Example.org ", name=" Sam New "), actor=admin)
    assert changes == ["email", "name"] and staff.email == "sam.new@example.org" and staff.name == "Sam New"
    assert len(sessions.active_for(staff)) == 1  # same role: sessions stay
    changes = update_account(staff, **_profile(staff, role="admin"), actor=admin)
    assert changes == ["role"] and staff.role == Role.ADMIN and sessions.active_for(staff) == []
    db.session.commit()
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.update")).all()[-1]
    assert event.actor_id == admin.id and event.detail_dict == {"name": "Sam New", "changes": ["role"]}


def test_update_account_clears_the_coach_of_staff(db, admin, patient):
    update_account(patient, **_profile(patient, role="coach", coach_id=None), actor=admin)
    assert patient.role == Role.COACH and patient.coach_id is None


def test_set_active_rules(db, admin, coach, patient):
    with pytest.raises(AccountError, match="your own account"):
        set_active(admin, False, actor=admin)
    with pytest.raises(AccountError, match="still has patients"):
        set_active(coach, False, actor=admin)
    set_active(patient, False, actor=admin)
    set_active(coach, False, actor=admin)  # no active patient left
    with pytest.raises(AccountError, match="active coach before reactivating"):
        set_active(patient, True, actor=admin)
    assert admin.is_active and not coach.is_active and not patient.is_active
    set_active(coach, True, actor=admin)
    set_active(patient, True, actor=admin)
    assert patient.is_active
    assert _actions(db).count("account.deactivate") == 2 and _actions(db).count("account.reactivate") == 2


def test_reassign_coach_moves_the_active_plan_only(db, admin, patient, coach, make_user):
    new_coach = make_user(Role.COACH, name="Robin Second")
    ended = Plan(patient_id=patient.id, coach_id=coach.id, title="Before", start_date=date(2024, 1, 1))
    db.session.add(ended)
    db.session.commit()
    ended.status, ended.active_key = PlanStatus.ENDED, None
    active = Plan(patient_id=patient.id, coach_id=coach.id, title="Now", start_date=date(2024, 3, 1))
    db.session.add(active)
    db.session.commit()
    reassign_coach(patient, new_coach, actor=admin)
    db.session.commit()
    assert patient.coach_id == new_coach.id and active.coach_id == new_coach.id and ended.coach_id == coach.id
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "account.reassign_coach")).one()
    assert event.actor_id == admin.id and event.patient_id == patient.id
    assert event.detail_dict == {
        "from_coach": coach.name,
        "from_coach_id": coach.id,
        "to_coach": "Robin Second",
        "to_coach_id": new_coach.id,
    }
    reassign_coach(patient, new_coach, actor=admin)  # already theirs: nothing to record
    assert _actions(db).count("account.reassign_coach") == 1


def test_reassign_coach_refuses_what_is_not_an_active_coach(db, admin, patient, coach):
    for target in (patient, admin, None):
        with pytest.raises(AccountError, match="Choose an active coach."):
            reassign_coach(patient, target, actor=admin)
    with pytest.raises(AccountError, match="Only patients have a coach."):
        reassign_coach(coach, coach, actor=admin)
    assert patient.coach_id == coach.id


def test_save_clinic_names_are_unique_whatever_the_case(db, admin, clinic):
    fields = {"city": "Plano", "address": None, "phone": "(972) 555-0100", "timezone": "America/Chicago"}
    with pytest.raises(ClinicError) as raised:
        save_clinic(Clinic(), name=f"  {clinic.name.lower()} ", actor=admin, **fields)
    assert raised.value.field == "name" and str(raised.value) == "Another clinic has this name."
    plano = save_clinic(Clinic(), name=" Holistiq Plano ", actor=admin, **fields)
    db.session.commit()
    assert plano.id and plano.name == "Holistiq Plano" and plano.address == ""
    save_clinic(clinic, name=clinic.name, actor=admin, **{**fields, "city": "Arlington"})  # its own name is fine
    db.session.commit()
    assert [a for a in _actions(db) if a.startswith("clinic.")] == ["clinic.create", "clinic.update"]


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_auth_accounts_imports_no_feature_or_care_package():
    """auth is the bottom layer: moving a patient's plan belongs to care.assignment."""
    imported = _imported_modules(ROOT / "portal" / "auth" / "accounts.py")
    upper = ("portal.care", "portal.coaching", "portal.patients", "portal.messaging", "portal.admin")
    assert not [name for name in imported if name.startswith(upper)]


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_safe_cell_neutralises_each_formula_prefix(prefix):
    assert safe_cell(prefix + "1+1") == "'" + prefix + "1+1"


def test_safe_cell_leaves_plain_text_and_numbers_alone():
    assert FORMULA_PREFIXES == ("=", "+", "-", "@", "\t", "\r")
    assert safe_cell("ok") == "ok" and safe_cell("a=b") == "a=b" and safe_cell("") == ""
    # Typed numbers stay numbers (a negative one too); only text that starts like a formula changes.
    assert safe_cell(5) == 5 and safe_cell(-3) == -3 and safe_cell(-2.5) == -2.5
    assert safe_cell(None) is None and safe_cell(True) is True
    assert safe_cell("-3") == "'-3"


def test_csv_helpers_apply_the_rule_to_every_cell():
    assert csv_line(["=a", -3, "b"]) == "'=a,-3,b\r\n"
    assert csv_text(["h"], [["@x"], ["y"]]) == "h\r\n'@x\r\ny\r\n"

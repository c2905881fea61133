"""The audit log reads as sentences: every recorded action has words, people have names, times a zone."""

from __future__ import annotations

import ast
import re
from datetime import datetime
from pathlib import Path

from portal import audit
from portal.audit import ACTION_LABELS, AuditEvent
from portal.auth.models import Role

PORTAL = Path(__file__).resolve().parent.parent / "portal"


def _strings(node: ast.AST) -> set[str]:
    """The string constants an expression can evaluate to (a literal or either side of ``a if c else b``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def recorded_action_codes() -> set[str]:
    """Every action code the portal can record, read from the source.

    The first argument of each ``audit.record(...)`` / ``record(...)`` call, and, where that
    argument is a variable, the defaults of ``action`` parameters and ``action=`` keywords
    that feed it.
    """
    codes: set[str] = set()
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
                if name == "record" and owner == "audit" and node.args:
                    codes |= _strings(node.args[0])
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        codes |= {code for code in _strings(keyword.value) if "." in code}
            elif isinstance(node, ast.FunctionDef):
                arguments = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults)
                defaults += list(node.args.kw_defaults)
                for argument, default in zip(arguments, defaults, strict=True):
                    if argument.arg == "action" and default is not None:
                        codes |= _strings(default)
    return codes


def test_every_recorded_action_has_words():
    codes = recorded_action_codes()
    # The walk really finds the call sites, including the ones passing the code through a variable.
    assert {"account.reassign_coach", "patient.view", "password.change", "2fa.disable", "2fa.reset"} <= codes
    missing = sorted(codes - ACTION_LABELS.keys())
    assert not missing, f"audit actions without words in portal.audit.ACTION_LABELS: {missing}"
    assert audit.action_label("account.reassign_coach") == "Reassigned coach"
    assert audit.action_label("patient.view") == "Viewed patient record"


def test_audit_page_names_people_and_shows_local_time_and_fields(admin_client, admin, db, make_user):
    old_coach = make_user(Role.COACH, name="Olivia Old", email="olivia@example.org")
    new_coach = make_user(Role.COACH, name="Nora New", email="nora@example.org")
    patient = make_user(Role.PATIENT, name="Maria Gonzalez", email="maria@example.org", coach=old_coach)
    event = audit.record("account.reassign_coach", patient, actor=admin, from_coach=old_coach.id, to_coach=new_coach.id)
    event.at = datetime(2026, 7, 4, 15, 30)  # 10:30 AM in Texas (CDT, UTC-5)
    db.session.commit()
    html = admin_client.get("/admin/audit?action=account.reassign_coach").get_data(as_text=True)
    entry = html[html.index('class="list-unstyled audit-log"') :]
    assert "Reassigned coach" in entry
    assert f'{admin.name} <span class="audit-email">({admin.email})</span>' in entry
    assert "Maria Gonzalez" in entry and "maria@example.org" in entry
    assert "Jul 4, 2026, 10:30 AM CDT" in entry.replace("\u202f", " ")
    assert "Previous coach</dt><dd>Olivia Old (olivia@example.org)" in entry
    assert "New coach</dt><dd>Nora New (nora@example.org)" in entry
    assert "User #" not in entry and "{&#34;" not in entry and '{"' not in entry


def test_audit_details_name_things_and_keep_their_ids_out_of_sight(admin_client, admin, db, make_user):
    old_coach = make_user(Role.COACH, name="Olivia Old", email="olivia@example.org")
    new_coach = make_user(Role.COACH, name="Nora New", email="nora@example.org")
    patient = make_user(Role.PATIENT, name="Maria Gonzalez", email="maria@example.org", coach=old_coach)
    audit.record(
        "plan.item_update",
        patient,
        actor=new_coach,
        patient=patient,
        item="Pelvic tilt",
        item_id=41,
        fields=["sets"],
        before={"sets": 2},
    )
    audit.record(
        "account.reassign_coach",
        patient,
        actor=admin,
        from_coach="Olivia Old",
        from_coach_id=old_coach.id,
        to_coach="Nora New",
        to_coach_id=new_coach.id,
    )
    audit.record("plan.assign", patient, actor=new_coach, patient=patient, program="Spasm relief", program_id=7)
    db.session.commit()
    html = admin_client.get("/admin/audit").get_data(as_text=True)
    entry = html[html.index('class="list-unstyled audit-log"') :]
    assert "Plan item</dt><dd>Pelvic tilt</dd>" in entry and "Program</dt><dd>Spasm relief</dd>" in entry
    # People: the name with today's email, found by the id kept beside it.
    assert "Previous coach</dt><dd>Olivia Old (olivia@example.org)" in entry
    assert "New coach</dt><dd>Nora New (nora@example.org)" in entry
    assert "item id" not in entry and "program id" not in entry and "coach id" not in entry
    assert ">41<" not in entry and ">7<" not in entry
    # The CSV keeps both, so an entry can still be tied to its row.
    csv = admin_client.get("/admin/audit.csv").get_data(as_text=True)
    assert '""item"": ""Pelvic tilt""' in csv and '""item_id"": 41' in csv


def test_audit_page_in_spanish_has_spanish_words(login_as, make_user, db):
    admin = make_user(Role.ADMIN, language="es")
    audit.record("patient.view", admin, actor=admin)
    db.session.commit()
    html = login_as(admin).get("/admin/audit").get_data(as_text=True)
    assert re.search(r"<strong class=\"audit-action\">[^<]+</strong>", html)


def test_audit_page_statements_stay_flat(admin_client, admin, db, make_user, queries):
    def page_statements() -> int:
        with queries() as statements:
            assert admin_client.get("/admin/audit").status_code == 200
        return len(statements)

    coaches = [make_user(Role.COACH) for _ in range(2)]
    for number in range(3):
        patient = make_user(Role.PATIENT, coach=coaches[0])
        audit.record("account.reassign_coach", patient, actor=admin, from_coach=coaches[0].id, to_coach=coaches[1].id)
        audit.record("patient.view", patient, actor=coaches[number % 2], patient=patient)
    db.session.commit()
    few = page_statements()
    for _ in range(20):
        patient = make_user(Role.PATIENT, coach=coaches[1])
        audit.record("account.reassign_coach", patient, actor=admin, from_coach=coaches[1].id, to_coach=coaches[0].id)
        audit.record("patient.view", patient, actor=coaches[0], patient=patient)
    db.session.commit()
    assert page_statements() == few
    assert AuditEvent.query.count() >= 46

"""The sudden pain jump rule: at least 3 points above the previous 7 days' average."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.care.alerts import pain_jump
from portal.care.checkins import patient_today, save_checkin
from portal.care.models import Alert, AlertKind, CheckIn
from tests.clock import care_clock  # noqa: F401  (the fixture)

pytestmark = pytest.mark.usefixtures("care_clock")

D = date(2026, 3, 20)


def add_checkins(db, patient, pains_by_offset: dict[int, int], day: date = D) -> None:
    for offset, pain in pains_by_offset.items():
        db.session.add(CheckIn(patient_id=patient.id, day=day - timedelta(days=offset), pain=pain, stiffness=0))
    db.session.commit()


def test_exactly_three_points_opens(db, patient):
    add_checkins(db, patient, {1: 4, 2: 4, 3: 4})
    assert pain_jump(patient.id, D, 7) == 4.0


def test_just_under_three_points_does_not(db, patient):
    # 7 earlier check-ins summing to 27: average 3.857, so pain 6 is 2.14 above and 7 is 3.14 above.
    add_checkins(db, patient, {1: 3, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4, 7: 4})
    assert pain_jump(patient.id, D, 6) is None
    assert pain_jump(patient.id, D, 7) == pytest.approx(27 / 7)


def test_two_point_nine_does_not_open(db, patient):
    # Average 36/7 = 5.143: pain 8 is 2.857 above (shown as 2.9), not enough.
    add_checkins(db, patient, {1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 7: 6})
    assert pain_jump(patient.id, D, 8) is None


def test_fewer_than_three_earlier_checkins_never_opens(db, patient):
    add_checkins(db, patient, {1: 0, 2: 0})
    assert pain_jump(patient.id, D, 10) is None


def test_only_the_previous_seven_days_count(db, patient):
    # D-8 is outside the window and today's own check-in is not part of the baseline.
    add_checkins(db, patient, {0: 9, 1: 2, 2: 2, 8: 2})
    assert pain_jump(patient.id, D, 9) is None
    add_checkins(db, patient, {7: 2})
    assert pain_jump(patient.id, D, 9) == 2.0


def test_a_jump_from_steady_pain_opens_an_alert_at_once_with_its_reason(db, patient):
    today = patient_today(patient)
    add_checkins(db, patient, {1: 3, 2: 4, 3: 3}, day=today)
    result = save_checkin(patient, today, {"pain": 7, "stiffness": 3})
    db.session.commit()
    assert [a.kind for a in result.alerts] == [AlertKind.PAIN_WORSENING]
    assert result.alerts[0].summary == "pain 7, up from an average of 3.3"
    # Saving again (still high) never opens a second alert of the kind.
    again = save_checkin(patient, today, {"pain": 8, "stiffness": 3})
    db.session.commit()
    assert again.alerts == []
    assert db.session.scalar(db.select(db.func.count(Alert.id))) == 1

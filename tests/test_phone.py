"""Phone-first touches: the home-screen manifest and its icons, the unread badge outside the folded menu."""

from __future__ import annotations

import io
import json

from PIL import Image

from portal.extensions import db
from portal.messaging.models import Message


def test_manifest_is_linked_served_as_a_manifest_and_names_real_icons(client, patient_client):
    html = patient_client.get("/me/").get_data(as_text=True)
    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in html
    response = client.get("/static/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "Holistiq Coach" and manifest["theme_color"] == "#0b5563"
    sizes = set()
    for icon in manifest["icons"]:
        served = client.get(f"/static/{icon['src']}")
        assert served.status_code == 200 and served.mimetype == icon["type"]
        if icon["type"] == "image/png":
            width, height = Image.open(io.BytesIO(served.data)).size
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert sizes == {192, 512}


def test_unread_badge_is_outside_the_folded_phone_menu(patient, coach, patient_client):
    assert "nav-badge-phone" not in patient_client.get("/me/").get_data(as_text=True)
    db.session.add(Message(patient_id=patient.id, sender_id=coach.id, recipient_id=patient.id, body="How is it?"))
    db.session.commit()
    html = patient_client.get("/me/").get_data(as_text=True)
    phone_link = html.split('nav-badge-phone"')[1].split("</a>")[0]
    assert ">1<" in phone_link and "new" in phone_link
    assert html.index("nav-badge-phone") < html.index('id="main-nav"')  # not inside the collapsed menu


def test_new_patient_sees_one_explanation_instead_of_empty_charts(patient, patient_client):
    from tests.plan_factories import make_item, make_plan

    make_plan(patient, items=[make_item()])
    html = patient_client.get("/me/progress").get_data(as_text=True)
    assert "Your charts start with your first check-in" in html
    assert "<canvas" not in html and "<figure" not in html


def test_weekly_adherence_starts_at_the_plan_start(patient):
    from datetime import timedelta

    from portal.care.progress import weekly_adherence
    from portal.timeutil import local_today
    from tests.plan_factories import make_item, make_plan

    today = local_today(patient.tz)
    make_plan(patient, items=[make_item()], start_date=today - timedelta(days=today.weekday() + 7))
    weeks = weekly_adherence(patient.id, today)
    assert [week["week_start"] for week in weeks][0] == today - timedelta(days=today.weekday() + 7)
    assert len(weeks) == 2
    last_week, this_week = weeks
    # This week counts only its days before today: a day in progress is not held against the patient
    # (on a Monday, nothing is due yet).
    assert last_week["due"] > 0
    assert this_week["due"] == last_week["due"] // 7 * today.weekday()

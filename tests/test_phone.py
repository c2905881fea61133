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

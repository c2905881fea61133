"""All drawings: every active library item's picture on one page for staff, and the file `make figures` writes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from portal.auth.models import Role
from portal.exercises.library import load_starter_library
from portal.exercises.models import LibraryItem

ROOT = Path(__file__).resolve().parents[1]


def test_staff_see_every_active_item_with_its_picture(db, make_user, login_as):
    load_starter_library()
    db.session.commit()
    retired = db.session.scalars(db.select(LibraryItem).limit(1)).one()
    retired.is_active = False
    db.session.commit()
    active = db.session.scalars(db.select(LibraryItem).where(LibraryItem.is_active.is_(True))).all()
    for role in (Role.COACH, Role.ADMIN):
        html = login_as(make_user(role)).get("/library/drawings").get_data(as_text=True)
        assert "<h1>All drawings</h1>" in html
        entries = re.findall(r'<li class="drawing-sheet-entry">.*?</li>', html, flags=re.S)
        assert len(entries) == len(active)
        for entry in entries:
            # each at thumbnail size and large, the large one with its alt text
            assert len(re.findall(r'src="/library/pictures/[a-z]-[a-z0-9-]+\.[0-9a-f]{16}\.svg"', entry)) == 2
            assert re.search(r'class="drawing-sheet-large"', entry) and not re.search(
                r'alt=""[^>]*drawing-sheet-large', entry
            )
        assert f">{retired.title}<" not in html
    # Movements come first, then posture habits, then nutrition, as Today groups them.
    headings = re.findall(r'<h2 id="sheet-(\w+)"', html)
    assert headings == ["exercise", "posture", "diet"]


def test_patients_do_not_get_the_review_sheet(patient_client):
    assert patient_client.get("/library/drawings").status_code == 403


def test_the_library_links_staff_to_the_sheet(db, coach_client, patient_client):
    assert 'href="/library/drawings"' in coach_client.get("/library/").get_data(as_text=True)
    assert 'href="/library/drawings"' not in patient_client.get("/library/").get_data(as_text=True)


def test_make_figures_writes_the_committed_contact_sheet(tmp_path):
    """The script renders the sheet from the starter library; the committed copy is up to date."""
    out = tmp_path / "figures"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "figure_contact_sheet.py"), str(out)], check=True, cwd=ROOT)
    html = (out / "contact-sheet.html").read_text(encoding="utf-8")
    assert html.count('class="drawing-sheet-entry"') >= 90
    assert "data:image/svg+xml;base64," in html
    png = (out / "contact-sheet.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 100_000
    committed = ROOT / "docs" / "figures" / "contact-sheet.html"
    assert committed.read_text(encoding="utf-8") == html, "docs/figures is stale: run `make figures` and commit it"

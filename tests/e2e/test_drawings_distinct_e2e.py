"""No two movement drawings look the same at thumbnail size: each end still rendered by Chromium at
96 px and compared pixel by pixel with every other."""

from __future__ import annotations

import base64
import io
import itertools

import pytest
from PIL import Image, ImageChops

from portal.exercises.figures import catalog

pytestmark = pytest.mark.e2e

THUMB = (96, 64)
# Pixels that differ clearly (grey levels more than 40 apart) between two drawings, as a share of
# the thumbnail; below this the two would read as the same picture.
MIN_DIFFERENT = 0.01


def test_no_two_movement_drawings_are_alike_at_96_px(app, browser):
    slugs = sorted(catalog.movement_slugs())
    with app.test_request_context():
        svgs = {slug: base64.b64encode(catalog.drawing(f"e-{slug}").svg).decode() for slug in slugs}
    page = browser.new_page(viewport={"width": 200, "height": 800})
    try:
        html = "".join(
            f'<img id="d{n}" width="{THUMB[0]}" height="{THUMB[1]}" src="data:image/svg+xml;base64,{svgs[slug]}">'
            for n, slug in enumerate(slugs)
        )
        page.set_content(f"<body>{html}</body>")
        page.wait_for_load_state("load")
        shots = {
            slug: Image.open(io.BytesIO(page.locator(f"#d{n}").screenshot())).convert("L")
            for n, slug in enumerate(slugs)
        }
    finally:
        page.close()
    alike = []
    for a, b in itertools.combinations(slugs, 2):
        diff = ImageChops.difference(shots[a], shots[b]).point(lambda v: 255 if v > 40 else 0)
        share = diff.histogram()[255] / (THUMB[0] * THUMB[1])
        if share < MIN_DIFFERENT:
            alike.append((a, b, round(share, 4)))
    assert alike == []

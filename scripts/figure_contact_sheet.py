"""`make figures`: the contact sheet of every library item's picture, into docs/figures/.

    .venv/bin/python scripts/figure_contact_sheet.py [OUT_DIR]     # default docs/figures

Writes ``contact-sheet.html`` (a printable page: the drawings are inlined as data: URIs, its
stylesheet ``contact-sheet.css`` sits beside it) and ``contact-sheet.png`` (the same page shot by Chromium). Every moving drawing is shown
at rest: its end pose beside its faint start pose, with its arrow, as printed and as shown to a
reader who asks for reduced motion. The page is rendered
from the template the portal's "All drawings" page uses, over the starter library loaded into a
throwaway in-memory database, so the file and the page never disagree.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import render_template  # noqa: E402

from config import DevelopmentConfig  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.exercises.figures.catalog import Picture, _pictograms, drawing  # noqa: E402
from portal.exercises.figures.scene import render_movement  # noqa: E402
from portal.exercises.library import load_starter_library  # noqa: E402
from portal.exercises.sheet_views import sheet_groups  # noqa: E402
from portal.extensions import db  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
# The file's own look (the portal page uses app.css): written beside it as contact-sheet.css.
SHEET_CSS = """\
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 0 0 .25rem; }
.text-body-secondary { color: #52606d; } .small { font-size: .8rem; } .mb-0 { margin-bottom: 0; }
.fs-6 { font-size: 1rem; font-weight: normal; }
.drawing-sheet { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
.drawing-sheet-entry { border: 1px solid #d9dee3; border-radius: .5rem; padding: .75rem; break-inside: avoid; }
.drawing-sheet-pictures { display: flex; gap: .75rem; align-items: flex-start; }
.drawing-sheet-thumb { width: 96px; height: auto; border: 1px dashed #c5ccd3; }
.drawing-sheet-large { width: calc(100% - 96px - .75rem); height: auto; }
@media print { body { margin: 0; } .drawing-sheet { grid-template-columns: repeat(2, 1fr); } }
"""


def resting_svg(name: str) -> bytes:
    """The picture as the file shows it: a moving drawing at rest on its end pose, beside its faint start pose and
    with its arrow (its end still). Chromium's reduced-motion emulation does not reach into an SVG shown as an
    <img>, so the animated drawing itself would be shot at its first frame: the start pose, hidden under its own
    outline, and the arrow pointing at nothing."""
    kind, _sep, key = name.partition("-")
    if kind == "m":
        name = f"e-{key}"
    elif kind == "p" and key in _pictograms()["figures"]:
        return render_movement(_pictograms()["figures"][key], still="end").encode()
    found = drawing(name)
    if found is None:
        raise LookupError(name)
    return found.svg


def data_uri(picture: Picture) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(resting_svg(picture.name)).decode("ascii")


def render_sheet() -> tuple[str, int]:
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI="sqlite://", SERVER_NAME="localhost")
    with app.app_context():
        db.create_all()
        load_starter_library()
        db.session.commit()
        with app.test_request_context():
            groups = sheet_groups()
            return render_template("exercises/drawings_file.html", groups=groups, src=data_uri), sum(map(len, groups))


def shoot(html_file: Path, png_file: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900}, reduced_motion="reduce")
        page.goto(html_file.resolve().as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(png_file), full_page=True)
        browser.close()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    html, count = render_sheet()
    html_file = out / "contact-sheet.html"
    html_file.write_text(html, encoding="utf-8")
    (out / "contact-sheet.css").write_text(SHEET_CSS, encoding="utf-8")
    shoot(html_file, out / "contact-sheet.png")
    print(f"{count} items -> {html_file} and {out / 'contact-sheet.png'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "figures")

"""Write an HTML contact sheet of every library drawing, to review them at phone size.

    .venv/bin/python scripts/figure_contact_sheet.py /tmp/sheet   # then open /tmp/sheet/index.html

Each drawing is written as its own SVG file beside the page (as the portal serves them, as
images), captioned with its slug and alt text. Headless Chromium can shoot the page with
--force-prefers-reduced-motion to see the still (end) state.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal.app import create_app  # noqa: E402
from portal.exercises.figures import catalog  # noqa: E402
from portal.exercises.figures.pictograms import ICONS  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    cells = []
    names = [f"m-{slug}" for slug in sorted(catalog.movement_slugs())]
    names += sorted({f"p-{name}" for name in catalog.pictogram_slugs().values()} | {f"p-{n}" for n in ICONS})
    app = create_app()
    with app.test_request_context():
        for name in names:
            found = catalog.drawing(name)
            if found is None:
                continue
            (out / f"{name}.svg").write_bytes(found.svg)
            key = name[2:]
            alt = ""
            if name.startswith("m-"):
                spec = catalog._poses()[key]["alt"]
                alt = f"Start: {spec['start']['en']} End: {spec['end']['en']}"
            elif key in catalog._pictograms()["alt"]:
                alt = catalog.pictogram_alt(key)
            cells.append(
                f'<figure><img src="{name}.svg" alt=""><figcaption><b>{escape(key)}</b><br>{escape(alt)}'
                "</figcaption></figure>"
            )
    page = (
        "<!doctype html><meta charset=utf-8><title>Library drawings</title><style>"
        "body{font:12px sans-serif;display:grid;grid-template-columns:repeat(auto-fill,180px);gap:8px;margin:8px}"
        "figure{margin:0;border:1px solid #ccc;padding:4px}img{width:100%}</style>" + "".join(cells)
    )
    (out / "index.html").write_text(page, encoding="utf-8")
    print(f"{len(cells)} drawings -> {out / 'index.html'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "instance/figure-sheet"))

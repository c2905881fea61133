"""Before/after crops of redrawn library pictures, for review: docs/figures/redrawn/.

    .venv/bin/python scripts/figure_redrawn.py BEFORE_REF [OUT_DIR] SLUG...

For each library item slug, renders its picture as the commit BEFORE_REF drew it and as the working
tree draws it now, each as one PNG of the same size (the 96 px thumbnail at rest beside the start
and end stills for a movement; the thumbnail beside the large pictogram for a posture habit or
nutrition tip), shot by Chromium like `make figures`: OUT_DIR/<slug>-before.png and OUT_DIR/<slug>-after.png.
The old drawing is rendered by the old code (BEFORE_REF's portal/ package, unpacked into a
temporary directory and run in a child process), so the crop shows what patients saw.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CROP = {"width": 720, "height": 240}

# Run inside the child: prints {slug: [thumbnail SVG, large SVG...]} for the given slugs.
# A moving picture is shown at rest (its end still: the end pose, the start's outline, the arrow), as
# `make figures` shows it: Chromium's reduced-motion emulation does not reach into an SVG <img>.
RENDER = """
import json, sys
from portal.exercises.figures.catalog import _pictograms, drawing, movement_slugs, pictogram_slugs
from portal.exercises.figures.scene import render_movement
out = {}
for slug in sys.argv[1:]:
    if slug in movement_slugs():
        out[slug] = [drawing(f"{name}-{slug}").svg.decode() for name in ("e", "s", "e")]
        continue
    name = pictogram_slugs()[slug]
    spec = _pictograms()["figures"].get(name)
    svg = render_movement(spec, still="end") if spec else drawing(f"p-{name}").svg.decode()
    out[slug] = [svg, svg]
print(json.dumps(out))
"""


def svgs(tree: Path, slugs: list[str]) -> dict[str, list[str]]:
    # This interpreter, our own program; the slugs are arguments, never run.
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", RENDER, *slugs], cwd=tree, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def old_tree(ref: str, into: Path) -> Path:
    """BEFORE_REF's portal/ package, unpacked (git archive: no checkout, no worktree)."""
    # git from PATH, as the Makefile runs it; the ref is one argument, never a shell word.
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", ref, "portal"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def page(pictures: list[str]) -> str:
    uris = ["data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii") for svg in pictures]
    thumb, *large = uris
    cells = "".join(f'<img src="{uri}" alt="" class="large">' for uri in large)
    return (
        "<!doctype html><html><head><style>"
        "body{margin:0;background:#fff}main{display:flex;gap:12px;align-items:center;padding:8px;"
        f"width:{CROP['width'] - 16}px;height:{CROP['height'] - 16}px}}"
        ".thumb{width:96px;border:1px dashed #c5ccd3}.large{flex:1;min-width:0;max-height:100%;object-fit:contain}"
        f'</style></head><body><main><img src="{thumb}" alt="" class="thumb">{cells}</main></body></html>'
    )


def shoot(pages: dict[Path, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport=CROP, reduced_motion="reduce")
        for path, html in pages.items():
            tab.set_content(html)
            tab.wait_for_load_state("load")
            tab.screenshot(path=str(path))
        browser.close()


def main(ref: str, out: Path, slugs: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        before = svgs(old_tree(ref, Path(tmp)), slugs)
    after = svgs(ROOT, slugs)
    pages = {}
    for slug in slugs:
        pages[out / f"{slug}-before.png"] = page(before[slug])
        pages[out / f"{slug}-after.png"] = page(after[slug])
    shoot(pages)
    print(f"{len(slugs)} items -> {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    reference, rest = args[0], args[1:]
    target = ROOT / "docs" / "figures" / "redrawn"
    if rest and ("/" in rest[0] or rest[0].startswith(".")):
        target, rest = Path(rest[0]), rest[1:]
    main(reference, target, rest)

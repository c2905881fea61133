"""axe-core's accessibility rules run on a page in the browser (WCAG 2.0-2.2 A and AA).

`make test` installs axe-core (the pinned npm package) and sets AXE_JS. The script is
evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
govern, so the portal's own CSP stays as strict as in production during the check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE_JS = os.environ.get(
    "AXE_JS", str(Path(__file__).resolve().parents[2] / "tools/axe/node_modules/axe-core/axe.min.js")
)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

needs_axe = pytest.mark.skipif(not Path(AXE_JS).exists(), reason="axe-core is not installed (make test installs it)")


def axe_violations(page) -> list[str]:
    """The page's violations of the WCAG A/AA rules, one line each (rule, impact, first elements)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(Path(AXE_JS).read_text(encoding="utf-8"))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]

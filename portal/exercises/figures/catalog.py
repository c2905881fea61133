"""Which picture each library item shows, its SVG, its content hash and its alt text.

Pose and pictogram data ship with the starter content as data files
(data/poses.json, data/pictograms.json) keyed by slug, and are read once per process.
Their alt texts are English there; other languages ship beside the starter library's own
translations, in data/<language>/pictures.json, and a reader gets their language's text
where there is one, else the English.
They are not columns: the drawings are code-reviewed content that changes with a
deploy, never per clinic, so keeping them beside the renderer means a page needs no
extra query for them and the starter import stays as it is. A coach's own item
(whose slug is in neither file) shows its kind's pictogram.

The single entry point for "the picture of an item" is picture_for(); uploaded
pictures and videos, when items have them, take precedence there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from portal.exercises.figures.pictograms import AREA_MARKS, ICONS, render_icon, render_kind_and_area
from portal.exercises.figures.scene import render_movement
from portal.exercises.models import BODY_AREAS
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES, current_language

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
POSES_FILE = DATA_DIR / "poses.json"
PICTOGRAMS_FILE = DATA_DIR / "pictograms.json"
ALT_TRANSLATIONS = "pictures.json"  # in DATA_DIR/<language>/
STILLS = {"s": "start", "e": "end"}  # "s-<slug>", "e-<slug>": a movement's start and end positions, still
KIND_ICONS = {"exercise": "kind-exercise", "posture": "kind-posture", "diet": "kind-diet"}


@dataclass(frozen=True)
class Drawing:
    """One rendered SVG: its name in URLs, its bytes and their content hash."""

    name: str
    svg: bytes
    digest: str
    animated: bool


@dataclass(frozen=True)
class Picture:
    name: str
    digest: str
    alt: str
    animated: bool


@cache
def _poses() -> dict[str, Any]:
    with open(POSES_FILE, encoding="utf-8") as handle:
        return json.load(handle)["movements"]


@cache
def _pictograms() -> dict[str, Any]:
    with open(PICTOGRAMS_FILE, encoding="utf-8") as handle:
        return json.load(handle)


@cache
def _alt_translations(language: str) -> dict[str, dict[str, Any]]:
    """The alt texts in one language: {"movements": {slug: {"start", "end"}}, "pictograms": {name: text}}."""
    path = DATA_DIR / language / ALT_TRANSLATIONS
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES or not path.is_file():
        return {"movements": {}, "pictograms": {}}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def movement_alt(slug: str, moment: str) -> str:
    """How a movement's start or end position looks, in the reader's language, else English."""
    translated = _alt_translations(current_language())["movements"].get(slug, {}).get(moment)
    return translated or _poses()[slug]["alt"][moment][DEFAULT_LANGUAGE]


def _digest(svg: bytes) -> str:
    return hashlib.sha256(svg).hexdigest()[:16]


@cache
def drawing(name: str) -> Drawing | None:
    """The SVG for a picture name ("m-<slug>", its stills "s-<slug>" and "e-<slug>", "p-<pictogram>",
    "a-<kind pictogram>--<body area>"), rendered once per process."""
    kind, _sep, key = name.partition("-")
    if kind == "m" and key in _poses():
        svg = render_movement(_poses()[key]).encode()
        return Drawing(name, svg, _digest(svg), True)
    if kind in STILLS and key in _poses():  # one position, still, for paper
        svg = render_movement(_poses()[key], still=STILLS[kind]).encode()
        return Drawing(name, svg, _digest(svg), False)
    if kind == "p":
        specs = _pictograms()["figures"]
        if key in specs:
            svg = render_movement(specs[key]).encode()
        elif key in ICONS:
            svg = render_icon(key).encode()
        else:
            return None
        return Drawing(name, svg, _digest(svg), False)
    if kind == "a":
        icon, _sep, area = key.partition("--")
        if icon not in KIND_ICONS.values() or area not in AREA_MARKS:
            return None
        svg = render_kind_and_area(icon, area).encode()
        return Drawing(name, svg, _digest(svg), False)
    return None


def movement_slugs() -> set[str]:
    return set(_poses())


def pictogram_slugs() -> dict[str, str]:
    """Item slug -> pictogram name, for posture habits and nutrition tips."""
    return dict(_pictograms()["items"])


def pictogram_alt(pictogram: str) -> str:
    translated = _alt_translations(current_language())["pictograms"].get(pictogram)
    return translated or _pictograms()["alt"][pictogram][DEFAULT_LANGUAGE]


def still_pictures(item: Any) -> tuple[Picture, Picture] | None:
    """A movement's start and end positions as two still pictures (for print), or None for other items."""
    slug = item.slug
    if slug not in _poses():
        return None
    stills = []
    for prefix, moment in STILLS.items():
        found = drawing(f"{prefix}-{slug}")
        label = _("Start:") if moment == "start" else _("End:")
        stills.append(Picture(found.name, found.digest, f"{label} {movement_alt(slug, moment)}", False))
    return stills[0], stills[1]


def picture_for(item: Any) -> Picture:
    """The picture an item shows: its movement drawing, its pictogram, or (a coach's own item) its
    kind's pictogram beside the body with the item's area marked."""
    slug, kind = item.slug, item.kind
    area = getattr(item, "body_area", None)
    if slug in _poses():
        alt = _("Start: %(start)s End: %(end)s", start=movement_alt(slug, "start"), end=movement_alt(slug, "end"))
        found = drawing(f"m-{slug}")
    elif slug not in _pictograms()["items"] and area in AREA_MARKS:
        pictogram = KIND_ICONS.get(kind, "kind-exercise")
        alt = _(
            "%(kind)s Beside it, a body with this part marked: %(area)s.",
            kind=pictogram_alt(pictogram),
            area=str(BODY_AREAS[area]).lower(),
        )
        found = drawing(f"a-{pictogram}--{area}")
    else:
        pictogram = _pictograms()["items"].get(slug) or KIND_ICONS.get(kind, "kind-exercise")
        alt = pictogram_alt(pictogram)
        found = drawing(f"p-{pictogram}")
    if found is None:  # a data file names a pictogram that does not exist (the tests catch it)
        raise LookupError(f"No drawing for library item {slug}")
    return Picture(found.name, found.digest, alt, found.animated)

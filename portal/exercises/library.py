"""Library services: search, the coach's edits, and the validated starter-content import."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, or_

from portal import audit
from portal.errors import NotAllowed
from portal.exercises.dosage import check_value
from portal.exercises.models import BODY_AREAS, ItemKind, LibraryItem, LibraryItemTranslation
from portal.extensions import db
from portal.sqlutil import contains_text

DATA_DIR = Path(__file__).resolve().parent / "data"
STARTER_LIBRARY = DATA_DIR / "starter_library.json"

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL_PATTERN = re.compile(r"^https?://[^\s<>\"']+$")
KIND_ORDER = case(
    {ItemKind.EXERCISE.value: 0, ItemKind.POSTURE.value: 1, ItemKind.DIET.value: 2},
    value=LibraryItem.kind,
    else_=3,
)

# The fields an import file may set, with their column limits.
TEXT_LIMITS = {"title": 120, "summary": 200, "level": 16, "category": 32}


# --- browsing ---------------------------------------------------------------


def library_query(
    search: str | None = None,
    kind: str | None = None,
    body_area: str | None = None,
    *,
    include_retired: bool = False,
    locale: str | None = None,
) -> Select:
    """Library items matching the filters, movements first, then habits, then nutrition.

    With a ``locale``, a search also matches the item's title and summary in that language, so a
    Spanish reader finds "estiramiento" as an English reader finds "stretch"."""
    query = db.select(LibraryItem)
    if not include_retired:
        query = query.where(LibraryItem.is_active.is_(True))
    if search:
        matches = [contains_text(LibraryItem.title, search), contains_text(LibraryItem.summary, search)]
        if locale:
            matches.append(
                db.select(LibraryItemTranslation.id)
                .where(
                    LibraryItemTranslation.library_item_id == LibraryItem.id,
                    LibraryItemTranslation.locale == locale,
                    or_(
                        contains_text(LibraryItemTranslation.title, search),
                        contains_text(LibraryItemTranslation.summary, search),
                    ),
                )
                .exists()
            )
        query = query.where(or_(*matches))
    if kind:
        query = query.where(LibraryItem.kind == kind)
    if body_area:
        query = query.where(LibraryItem.body_area == body_area)
    return query.order_by(KIND_ORDER, LibraryItem.position, LibraryItem.title, LibraryItem.id)


class RetiredItemError(ValueError):
    """A retired library item cannot be added to a program or plan."""


def require_active(item: LibraryItem) -> None:
    """Refuse a retired item: it can no longer be added to a program or plan."""
    if not item.is_active:
        raise RetiredItemError(_("This library item is retired. Choose another item."))


def active_items_in_order(ids: list[int]) -> list[LibraryItem] | None:
    """The active library items with these ids, in the order given (one query); None when any id is
    unknown or retired, so a caller adding several items adds all of them or none."""
    if not ids:
        return []
    found = {
        item.id: item
        for item in db.session.scalars(
            db.select(LibraryItem).where(LibraryItem.id.in_(ids), LibraryItem.is_active.is_(True))
        )
    }
    if len(found) != len(set(ids)):
        return None
    return [found[item_id] for item_id in ids]


# --- coach edits --------------------------------------------------------------


def unique_slug(title: str, except_id: int | None = None) -> str:
    """A URL-safe slug from the title, made unique with a number suffix."""
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:70] or "item"
    taken = set(
        db.session.scalars(
            db.select(LibraryItem.slug).where(
                or_(LibraryItem.slug == base, LibraryItem.slug.like(f"{base}-%")),
                LibraryItem.id != (except_id or 0),
            )
        )
    )
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


EDITABLE_FIELDS = (
    "kind",
    "title",
    "summary",
    "instructions",
    "cautions",
    "body_area",
    "default_sets",
    "default_reps",
    "default_hold_seconds",
    "default_times_per_day",
    "default_days_per_week",
    "media_url",
)


# The copy shows the same picture or video: the stored object is shared, keyed by its hash.
MEDIA_FIELDS = ("media_kind", "media_type", "media_digest", "media_thumb_digest")


def can_manage(user, item: LibraryItem) -> bool:
    """Who may edit, retire and restore an item: its author (a coach), and every admin.

    Starter items (no author) and other coaches' items are read-only to a coach,
    who can duplicate one into their own items instead.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    return bool(user.is_coach and item.created_by_id is not None and item.created_by_id == user.id)


def can_duplicate(user, item: LibraryItem) -> bool:
    """A coach copies an item they cannot change (a starter item or a colleague's) into their own."""
    return bool(getattr(user, "is_authenticated", False) and user.is_coach and not can_manage(user, item))


def require_manage(user, item: LibraryItem) -> None:
    """NotAllowed (403) unless ``user`` may change ``item``: the item itself stays readable to them."""
    if not can_manage(user, item):
        raise NotAllowed(_("Only the coach who wrote this item, or an admin, can change it."))


def duplicate_item(item: LibraryItem, actor) -> LibraryItem:
    """The coach's own copy of ``item`` (active, authored by them), for them to adapt (the caller commits)."""
    copy = LibraryItem(
        slug=unique_slug(item.title),
        created_by_id=actor.id,
        position=10_000,
        level=item.level,
        category=item.category,
    )
    for name in (*EDITABLE_FIELDS, *MEDIA_FIELDS):
        setattr(copy, name, getattr(item, name))
    db.session.add(copy)
    db.session.flush()
    audit.record("library.duplicate", copy, actor=actor, title=copy.title, source=item.title, source_id=item.id)
    return copy


def create_item(values: dict[str, Any], actor) -> LibraryItem:
    """Add a coach's own library item (the caller commits)."""
    item = LibraryItem(slug=unique_slug(values["title"]), created_by_id=actor.id, position=10_000)
    for name in EDITABLE_FIELDS:
        setattr(item, name, values.get(name))
    item.cautions = item.cautions or ""
    db.session.add(item)
    db.session.flush()
    audit.record("library.create", item, actor=actor, title=item.title)
    return item


def update_item(item: LibraryItem, values: dict[str, Any], actor) -> list[str]:
    """Apply the edit form; returns the names of the fields that changed (the caller commits)."""
    changed = []
    for name in EDITABLE_FIELDS:
        new = values.get(name)
        if name == "cautions":
            new = new or ""
        if getattr(item, name) != new:
            setattr(item, name, new)
            changed.append(name)
    if changed:
        audit.record("library.update", item, actor=actor, title=item.title, fields=changed)
    return changed


def set_item_active(item: LibraryItem, active: bool, actor) -> None:
    """Retire (hide from new plans and programs) or bring back an item. Items are never deleted:
    plans that use them keep their history."""
    if item.is_active != active:
        item.is_active = active
        audit.record("library.restore" if active else "library.retire", item, actor=actor, title=item.title)


# --- import ----------------------------------------------------------------------


@dataclass
class ImportProblem:
    index: int  # 1-based position in the file
    title: str
    field: str
    message: str

    def __str__(self) -> str:
        if self.index == 0:  # a problem with the file as a whole
            return f"File, field {self.field}: {self.message}"
        who = f"“{self.title}”" if self.title else "(no title)"
        return f"Entry {self.index} {who}, field {self.field}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportFileError(ValueError):
    """The file cannot be read as a library file at all."""


def read_json_file(path: Path | str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as error:
        raise ImportFileError(f"Cannot read {path}: {error.strerror or error}.") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ImportFileError(f"{path} is not valid JSON: {error}.") from error


def validate_library(data: Any) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    """Check every entry; return the clean column values and every problem found."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [], [ImportProblem(0, "", "items", 'The file must be a JSON object with an "items" list.')]
    if data.get("version") != 1:
        return [], [ImportProblem(0, "", "version", "Only version 1 library files are supported.")]
    clean, problems, seen = [], [], {}
    for index, entry in enumerate(data["items"], start=1):
        if not isinstance(entry, dict):
            problems.append(ImportProblem(index, "", "entry", "Each entry must be a JSON object."))
            continue
        title = entry.get("title") if isinstance(entry.get("title"), str) else ""
        found = _entry_problems(entry)
        slug = entry.get("slug")
        if isinstance(slug, str) and slug in seen:
            found.append(("slug", f"The slug “{slug}” is already used by entry {seen[slug]}."))
        elif isinstance(slug, str):
            seen[slug] = index
        problems.extend(ImportProblem(index, title.strip(), name, message) for name, message in found)
        if not found:
            clean.append(_entry_values(entry, position=index))
    return clean, problems


def _entry_problems(entry: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    slug = entry.get("slug")
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug) or len(slug) > 80:
        found.append(("slug", "Use 1 to 80 lower-case letters, digits and single hyphens."))
    if entry.get("kind") not in {k.value for k in ItemKind}:
        found.append(("kind", "Must be one of exercise, posture or diet."))
    for name in ("title", "summary"):
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            found.append((name, "Required text."))
        elif len(value.strip()) > TEXT_LIMITS[name]:
            found.append((name, f"At most {TEXT_LIMITS[name]} characters."))
    for name in ("level", "category"):
        value = entry.get(name, "")
        if not isinstance(value, str) or len(value) > TEXT_LIMITS[name]:
            found.append((name, f"Text of at most {TEXT_LIMITS[name]} characters."))
    steps = entry.get("instructions")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        found.append(("instructions", "A list of one or more non-empty steps."))
    elif any("\n" in s for s in steps):
        found.append(("instructions", "Each step must be a single line."))
    if not isinstance(entry.get("cautions", ""), str):
        found.append(("cautions", "Must be text."))
    if entry.get("body_area") not in BODY_AREAS:
        found.append(("body_area", f"Must be one of {', '.join(BODY_AREAS)}."))
    for name in ("sets", "reps", "hold_seconds"):
        problem = check_value(name, entry.get(f"default_{name}"))
        if problem:
            found.append((f"default_{name}", problem))
    for name in ("times_per_day", "days_per_week"):
        problem = check_value(name, entry.get(f"default_{name}"), required=True)
        if problem:
            found.append((f"default_{name}", problem))
    url = entry.get("media_url")
    if url is not None and (not isinstance(url, str) or len(url) > 500 or not URL_PATTERN.match(url)):
        found.append(("media_url", "Must be empty or an http(s) link of at most 500 characters."))
    # An import entry has what a coach can edit, plus its slug and the starter content's grouping.
    unknown = set(entry) - {*EDITABLE_FIELDS, "slug", "level", "category"}
    for name in sorted(unknown):
        found.append((name, "Unknown field."))
    return found


def _entry_values(entry: dict[str, Any], position: int) -> dict[str, Any]:
    return {
        "slug": entry["slug"],
        "kind": entry["kind"],
        "title": entry["title"].strip(),
        "summary": entry["summary"].strip(),
        "instructions": "\n".join(step.strip() for step in entry["instructions"]),
        "cautions": (entry.get("cautions") or "").strip(),
        "body_area": entry["body_area"],
        "level": entry.get("level") or "",
        "category": entry.get("category") or "",
        "default_sets": entry.get("default_sets"),
        "default_reps": entry.get("default_reps"),
        "default_hold_seconds": entry.get("default_hold_seconds"),
        "default_times_per_day": entry["default_times_per_day"],
        "default_days_per_week": entry["default_days_per_week"],
        "media_url": entry.get("media_url"),
        "position": position,
    }


def import_library(data: Any) -> ImportResult:
    """Validate, then upsert every entry by slug (the caller commits). Nothing is written when any
    entry is bad; importing the same file twice changes nothing."""
    values, problems = validate_library(data)
    result = ImportResult(problems=problems)
    if problems:
        return result
    existing = {item.slug: item for item in db.session.scalars(db.select(LibraryItem))}
    for row in values:
        item = existing.get(row["slug"])
        if item is None:
            db.session.add(LibraryItem(**row))
            result.created += 1
            continue
        changed = False
        for name, value in row.items():
            if getattr(item, name) != value:
                setattr(item, name, value)
                changed = True
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def load_starter_library() -> ImportResult:
    return import_library(read_json_file(STARTER_LIBRARY))

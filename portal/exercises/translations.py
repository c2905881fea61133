"""Library items in the reader's language: reading with English fallback, the coach's edits of a
translation, and the validated import of the starter translations.

The English text lives on the item itself; other languages live in LibraryItemTranslation rows
keyed by (item, locale). Every reader goes through ``item_texts``/``item_text``: a missing
translation gives the English, flagged ``fell_back`` so the page can say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from portal import audit
from portal.exercises.library import DATA_DIR, ImportFileError, ImportProblem, ImportResult, read_json_file
from portal.exercises.models import ItemKind, LibraryItem, LibraryItemTranslation
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.sqlutil import forget_on_write
from portal.state import portal_state
from portal.timeutil import utcnow

# The languages an item can be translated into (English is the item itself).
TRANSLATED_LANGUAGES = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
TEXT_FIELDS = ("title", "summary", "instructions", "cautions")
LIMITS = {"title": 120, "summary": 200, "instructions": 5000, "cautions": 2000}


def translations_dir(locale: str) -> Path:
    """Where the starter content's text in ``locale`` ships: one JSON file per kind."""
    return DATA_DIR / locale


@dataclass(frozen=True)
class ItemText:
    """What a reader sees of an item: in their language, or the English when there is none."""

    title: str
    summary: str
    instructions: str
    cautions: str
    language: str  # the language of this text
    fell_back: bool  # the reader asked for another language and got the English

    @property
    def steps(self) -> list[str]:
        return [line for line in self.instructions.splitlines() if line.strip()]


def english_text(item: LibraryItem, *, fell_back: bool = False) -> ItemText:
    return ItemText(item.title, item.summary, item.instructions, item.cautions or "", DEFAULT_LANGUAGE, fell_back)


def _translated(row: LibraryItemTranslation) -> ItemText:
    return ItemText(row.title, row.summary, row.instructions, row.cautions or "", row.locale, False)


# Library texts change rarely and show on most patient pages. Each translation is kept per
# app with its item's ``updated_at`` as the stamp. The write path keeps it right by itself
# (``init_app``): any committed write to the items or their translations, whatever made it
# (a form, the import, a command, a bulk or raw statement), empties this app's kept texts;
# and every ORM write of a translation stamps its item, which other servers read fresh with
# the page, so they never serve a changed text from their own.
_TEXTS_MAX = 20_000  # items x languages; cleared whole past this (coach-made items keep coming)


def item_texts(items: Iterable[LibraryItem], locale: str) -> dict[int, ItemText]:
    """Each item's text in ``locale`` with English fallback, by item id (one statement at most)."""
    items = {item.id: item for item in items}
    if locale == DEFAULT_LANGUAGE or locale not in LANGUAGES or not items:
        return {item_id: english_text(item) for item_id, item in items.items()}
    kept_texts = portal_state().library_texts
    texts: dict[int, ItemText] = {}
    for item_id, item in items.items():
        kept = kept_texts.get((item_id, locale))
        if kept is not None and kept[0] == item.updated_at:
            texts[item_id] = kept[1]
    missing = [item_id for item_id in items if item_id not in texts]
    if not missing:
        return texts
    rows = {
        row.library_item_id: row
        for row in db.session.scalars(
            db.select(LibraryItemTranslation).where(
                LibraryItemTranslation.locale == locale, LibraryItemTranslation.library_item_id.in_(missing)
            )
        )
    }
    if len(kept_texts) > _TEXTS_MAX:
        kept_texts.clear()
    for item_id in missing:
        item = items[item_id]
        text = _translated(rows[item_id]) if item_id in rows else english_text(item, fell_back=True)
        texts[item_id] = text
        if item.updated_at is not None and item not in db.session.dirty:
            kept_texts[(item_id, locale)] = (item.updated_at, text)
    return texts


def _stamp_item(mapper, connection, row: LibraryItemTranslation) -> None:  # noqa: ARG001 - SQLAlchemy's
    """A translation was written: stamp its item, so every server reads the item's texts again."""
    items = LibraryItem.__table__
    connection.execute(items.update().where(items.c.id == row.library_item_id).values(updated_at=utcnow()))


def init_app(app: Flask) -> None:
    """Keep this app's library texts right whatever writes them (see above)."""
    for table in (LibraryItem.__tablename__, LibraryItemTranslation.__tablename__):
        forget_on_write(app, table, portal_state(app).library_texts.clear)
    for name in ("after_insert", "after_update", "after_delete"):
        if not event.contains(LibraryItemTranslation, name, _stamp_item):
            event.listen(LibraryItemTranslation, name, _stamp_item)


def item_text(item: LibraryItem, locale: str) -> ItemText:
    """One item's text in ``locale``, else the English (``fell_back`` tells which)."""
    return item_texts([item], locale)[item.id]


def translation_for(item: LibraryItem, locale: str) -> LibraryItemTranslation | None:
    return db.session.scalar(
        db.select(LibraryItemTranslation).where(
            LibraryItemTranslation.library_item_id == item.id, LibraryItemTranslation.locale == locale
        )
    )


def translated_languages(item: LibraryItem) -> set[str]:
    """The languages other than English the item has a version in."""
    return set(
        db.session.scalars(
            db.select(LibraryItemTranslation.locale).where(LibraryItemTranslation.library_item_id == item.id)
        )
    )


def save_translation(item: LibraryItem, locale: str, values: dict[str, str], actor) -> str:
    """Create, change or (all fields empty) remove the item's version in ``locale``; audited, the caller
    commits. Returns "created", "updated", "removed" or "unchanged". ``values`` come from a validated form:
    title, summary and instructions (one step per line) filled together, cautions optional."""
    if locale not in TRANSLATED_LANGUAGES:
        raise ValueError(f"Not a translated language: {locale!r}")
    row = translation_for(item, locale)
    wanted = {name: (values.get(name) or "").strip() for name in TEXT_FIELDS}
    if not any(wanted.values()):
        if row is None:
            return "unchanged"
        db.session.delete(row)
        audit.record("library.translation_remove", item, actor=actor, title=item.title, locale=locale)
        return "removed"
    if row is None:
        row = LibraryItemTranslation(library_item_id=item.id, locale=locale, updated_by_id=actor.id, **wanted)
        db.session.add(row)
        db.session.flush()
        audit.record("library.translation_create", item, actor=actor, title=item.title, locale=locale)
        return "created"
    changed = [name for name in TEXT_FIELDS if getattr(row, name) != wanted[name]]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(row, name, wanted[name])
    row.updated_by_id = actor.id
    audit.record("library.translation_update", item, actor=actor, title=item.title, locale=locale, fields=changed)
    return "updated"


# --- the starter translations ------------------------------------------------------------


def read_translation_files(locale: str, directory: Path | None = None) -> dict[str, Any]:
    """The translation files present for ``locale``, by kind ({"exercise": data, ...})."""
    directory = directory or translations_dir(locale)
    found = {}
    for kind in ItemKind:
        path = directory / f"{kind.value}.json"
        if path.exists():
            found[kind.value] = read_json_file(path)
    return found


def validate_translations(
    files: dict[str, Any], items: dict[str, LibraryItem]
) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    """Check each file's entries against the library (slug -> item): the item exists and is of the
    file's kind, every field is there and fits, one translated step per English step, and cautions
    are given whenever the English has them (a caution is never lost in translation)."""
    clean: list[dict[str, Any]] = []
    problems: list[ImportProblem] = []
    for kind, data in files.items():
        if not isinstance(data, dict) or not isinstance(data.get("items"), dict):
            problems.append(ImportProblem(0, "", f"{kind}.items", 'Expected {"items": {"<slug>": {...}}}.'))
            continue
        for index, (slug, entry) in enumerate(data["items"].items(), start=1):
            found: list[tuple[str, str]] = []
            item = items.get(slug)
            if item is None or item.kind != kind:
                found.append(("slug", f"No {kind} item with the slug “{slug}” in the library."))
            if not isinstance(entry, dict):
                problems.extend(ImportProblem(index, slug, f, m) for f, m in [*found, ("entry", "Must be an object.")])
                continue
            for name in ("title", "summary"):
                value = entry.get(name)
                if not isinstance(value, str) or not value.strip():
                    found.append((name, "Required text."))
                elif len(value.strip()) > LIMITS[name]:
                    found.append((name, f"At most {LIMITS[name]} characters."))
            steps = entry.get("instructions")
            if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
                found.append(("instructions", "A list of one or more non-empty steps."))
            elif any("\n" in s for s in steps):
                found.append(("instructions", "Each step must be a single line."))
            elif item is not None and len(steps) != len(item.steps):
                found.append(("instructions", f"{len(steps)} steps; the English has {len(item.steps)}."))
            cautions = entry.get("cautions", "")
            if not isinstance(cautions, str):
                found.append(("cautions", "Must be text."))
            elif item is not None and (item.cautions or "").strip() and not cautions.strip():
                found.append(("cautions", "The English has cautions: translate them."))
            for name in sorted(set(entry) - set(TEXT_FIELDS)):
                found.append((name, "Unknown field."))
            problems.extend(ImportProblem(index, f"{kind}/{slug}", f, m) for f, m in found)
            if not found:
                clean.append(
                    {
                        "item": item,
                        "title": entry["title"].strip(),
                        "summary": entry["summary"].strip(),
                        "instructions": "\n".join(step.strip() for step in steps),
                        "cautions": cautions.strip(),
                    }
                )
    return clean, problems


def import_translations(files: dict[str, Any], locale: str) -> ImportResult:
    """Upsert the translations by (item slug, locale) (the caller commits); nothing is written when any
    entry is bad, and importing the same files twice changes nothing."""
    if locale not in TRANSLATED_LANGUAGES:
        return ImportResult(problems=[ImportProblem(0, "", "locale", f"Not a translated language: {locale}.")])
    items = {item.slug: item for item in db.session.scalars(db.select(LibraryItem))}
    clean, problems = validate_translations(files, items)
    result = ImportResult(problems=problems)
    if problems:
        return result
    existing = {
        row.library_item_id: row
        for row in db.session.scalars(db.select(LibraryItemTranslation).where(LibraryItemTranslation.locale == locale))
    }
    for spec in clean:
        item = spec.pop("item")
        row = existing.get(item.id)
        if row is None:
            db.session.add(LibraryItemTranslation(library_item_id=item.id, locale=locale, **spec))
            result.created += 1
        elif all(getattr(row, name) == value for name, value in spec.items()):
            result.unchanged += 1
        else:
            for name, value in spec.items():
                setattr(row, name, value)
            result.updated += 1
    db.session.flush()
    return result


def load_starter_translations(locale: str) -> ImportResult:
    """The shipped translations of the starter library in ``locale`` (whichever kind files exist)."""
    try:
        files = read_translation_files(locale)
    except ImportFileError as error:
        return ImportResult(problems=[ImportProblem(0, "", "file", str(error))])
    return import_translations(files, locale)

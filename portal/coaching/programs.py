"""Programs: reusable plan templates. Starter programs (with a slug) are shared by every coach;
a coach edits only their own programs and may duplicate any program they can see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_
from sqlalchemy.orm import selectinload

from portal import audit
from portal.auth.models import User
from portal.care.dosing import Dose, append_library_items, apply_dose, move
from portal.care.models import Program, ProgramItem, ProgramTranslation
from portal.errors import NotAllowed, NotFound
from portal.exercises.dosage import weekdays_to_string
from portal.exercises.library import (
    DATA_DIR,
    ImportFileError,
    ImportProblem,
    ImportResult,
    read_json_file,
)
from portal.exercises.models import LibraryItem
from portal.exercises.translations import TRANSLATED_LANGUAGES, translations_dir
from portal.extensions import db
from portal.i18n import supported_language

STARTER_PROGRAMS = DATA_DIR / "starter_programs.json"


def visible_filter(coach: User):
    """Programs a coach can see: their own and the starter programs."""
    return or_(Program.owner_id == coach.id, Program.slug.is_not(None))


def programs_query(coach: User) -> Select:
    """(Program, item count) rows visible to the coach: their own first, then the starter programs."""
    counts = (
        db.select(ProgramItem.program_id, func.count(ProgramItem.id).label("n"))
        .group_by(ProgramItem.program_id)
        .subquery()
    )
    return (
        db.select(Program, func.coalesce(counts.c.n, 0).label("item_count"))
        .outerjoin(counts, counts.c.program_id == Program.id)
        .where(Program.is_active.is_(True), visible_filter(coach))
        .order_by(Program.slug.is_not(None), Program.name, Program.id)
    )


def program_choices(coach: User, locale: str | None = None) -> list[tuple[int, str]]:
    """(id, name) of the programs a coach can assign, for a select list (one query), named in
    ``locale`` where the program has a version in it."""
    translated = and_(ProgramTranslation.program_id == Program.id, ProgramTranslation.locale == locale)
    name = func.coalesce(ProgramTranslation.name, Program.name) if locale else Program.name
    query = db.select(Program.id, name.label("name"), Program.slug).where(
        Program.is_active.is_(True), visible_filter(coach)
    )
    if locale:
        query = query.outerjoin(ProgramTranslation, translated)
    rows = db.session.execute(query.order_by(Program.slug.is_not(None), name)).all()
    return [(row.id, _("%(name)s (starter)", name=row.name) if row.slug else row.name) for row in rows]


# --- programs in the reader's language ---------------------------------------------------


@dataclass(frozen=True)
class ProgramText:
    """A program's name and description in the reader's language, or the English (``fell_back``)."""

    name: str
    description: str
    language: str
    fell_back: bool


def program_texts(programs: Iterable[Program], locale: str) -> dict[int, ProgramText]:
    """Each program's text in ``locale`` with English fallback, by program id (one statement at most)."""
    programs = {program.id: program for program in programs}
    if locale not in TRANSLATED_LANGUAGES or not programs:
        return {pid: ProgramText(p.name, p.description or "", "en", False) for pid, p in programs.items()}
    rows = {
        row.program_id: row
        for row in db.session.scalars(
            db.select(ProgramTranslation).where(
                ProgramTranslation.locale == locale, ProgramTranslation.program_id.in_(list(programs))
            )
        )
    }
    return {
        pid: ProgramText(rows[pid].name, rows[pid].description, locale, False)
        if pid in rows
        else ProgramText(program.name, program.description or "", "en", True)
        for pid, program in programs.items()
    }


def program_text(program: Program, locale: str) -> ProgramText:
    return program_texts([program], locale)[program.id]


def plan_title(program: Program, patient: User) -> str:
    """The title a plan copied from ``program`` takes when the coach gives none: the program's
    name in the patient's language (the patient reads it every day), else the English."""
    return program_text(program, supported_language(patient.language)).name


def program_for_coach(program_id: int, coach: User, *, editable: bool = False) -> Program:
    """The program if the coach can see it (else NotFound); NotAllowed when editing a program they do not own."""
    program = db.session.scalar(
        db.select(Program)
        .options(selectinload(Program.items))
        .where(Program.id == program_id, Program.is_active.is_(True), visible_filter(coach))
    )
    if program is None:
        raise NotFound
    if editable and not can_edit(program, coach):
        raise NotAllowed
    return program


def can_edit(program: Program, coach: User) -> bool:
    return program.owner_id == coach.id


def program_item(program: Program, item_id: int) -> ProgramItem:
    for item in program.items:
        if item.id == item_id:
            return item
    raise NotFound


def create_program(coach: User, name: str, description: str) -> Program:
    program = Program(name=name, description=description, owner_id=coach.id)
    db.session.add(program)
    db.session.flush()
    audit.record("program.create", program, actor=coach, name=name)
    return program


def update_program(program: Program, name: str, description: str, actor: User) -> None:
    if (program.name, program.description) != (name, description):
        program.name, program.description = name, description
        audit.record("program.update", program, actor=actor, name=name)


def archive_program(program: Program, actor: User) -> None:
    """Hide a program from lists; plans made from it are copies and stay as they are."""
    program.is_active = False
    audit.record("program.archive", program, actor=actor, name=program.name)


def duplicate_program(program: Program, coach: User) -> Program:
    """A copy owned by the coach, with the same items and doses."""
    copy = Program(name=_copy_name(program.name), description=program.description, owner_id=coach.id)
    copy.items = [
        ProgramItem(
            library_item_id=item.library_item_id,
            **Dose.of(item).columns(),
            position=position,
            note=item.note,
        )
        for position, item in enumerate(program.items)
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record("program.duplicate", copy, actor=coach, name=copy.name, source=program.name, source_id=program.id)
    return copy


def _copy_name(name: str) -> str:
    return _("Copy of %(name)s", name=name)[:120]


def add_program_items(
    program: Program, library_items: list[LibraryItem], actor: User
) -> tuple[list[ProgramItem], list[LibraryItem]]:
    """Add library items with their usual doses at the end of the program, in the order given.

    Returns the new program items and the library items skipped because the program already has
    them. A retired item refuses the whole batch (RetiredItemError) before anything is written."""
    added, skipped = append_library_items(program.items, library_items, ProgramItem)
    if added:
        db.session.flush()
    for item in added:
        audit.record("program.item_add", program, actor=actor, name=program.name, **_item_named(item))
    return added, skipped


def _item_named(item: ProgramItem) -> dict:
    """A program item in audit details: its library item's title, and the ids that tie entries together."""
    return {"library_item": item.library_item.title, "library_item_id": item.library_item_id, "item_id": item.id}


def update_program_item(program: Program, item: ProgramItem, dose: Dose, actor: User) -> list[str]:
    changed = apply_dose(item, dose)
    if changed:
        audit.record(
            "program.item_update", program, actor=actor, name=program.name, **_item_named(item), fields=changed
        )
    return changed


def remove_program_item(program: Program, item: ProgramItem, actor: User) -> None:
    program.items.remove(item)
    for position, row in enumerate(program.items):
        row.position = position
    audit.record("program.item_remove", program, actor=actor, name=program.name, **_item_named(item))


def move_program_item(program: Program, item: ProgramItem, direction: str, actor: User) -> bool:
    moved = move(program.items, item, direction)
    if moved:
        audit.record(
            "program.item_move", program, actor=actor, name=program.name, **_item_named(item), direction=direction
        )
    return moved


# --- starter programs ----------------------------------------------------------------


def validate_programs(data: Any, library_ids: dict[str, int]) -> tuple[list[dict[str, Any]], list[ImportProblem]]:
    """Check every starter program against the library (slug -> id); every problem is reported."""
    if not isinstance(data, dict) or not isinstance(data.get("programs"), list) or data.get("version") != 1:
        return [], [ImportProblem(0, "", "programs", 'Expected {"version": 1, "programs": [...]}.')]
    clean, problems, seen = [], [], set()
    for index, entry in enumerate(data["programs"], start=1):
        if not isinstance(entry, dict):
            problems.append(ImportProblem(index, "", "program", "Each program must be a JSON object."))
            continue
        name = entry.get("name") if isinstance(entry.get("name"), str) else ""
        found: list[tuple[str, str]] = []
        slug = entry.get("slug")
        if not isinstance(slug, str) or not slug or len(slug) > 80 or slug in seen:
            found.append(("slug", "A unique slug of at most 80 characters is required."))
        seen.add(slug)
        if not name.strip() or len(name) > 120:
            found.append(("name", "Required, at most 120 characters."))
        if not isinstance(entry.get("description", ""), str):
            found.append(("description", "Must be text."))
        items = entry.get("items")
        rows = []
        if not isinstance(items, list) or not items:
            found.append(("items", "A program needs at least one item."))
            items = []
        for number, raw in enumerate(items, start=1):
            where = f"items[{number}]"
            if not isinstance(raw, dict) or raw.get("item") not in library_ids:
                found.append(
                    (f"{where}.item", f"Unknown library item {raw.get('item') if isinstance(raw, dict) else raw!r}.")
                )
                continue
            weekdays = raw.get("weekdays")
            if (
                not isinstance(weekdays, list)
                or not weekdays
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays)
            ):
                found.append((f"{where}.weekdays", "A list of weekday numbers 0 (Monday) to 6 (Sunday)."))
                continue
            note = raw.get("note") or ""
            dose = Dose(
                raw.get("sets"),
                raw.get("reps"),
                raw.get("hold_seconds"),
                raw.get("times_per_day"),
                weekdays_to_string(weekdays),
                note if isinstance(note, str) else "",
            )
            for name_, message in dose.problems().items():
                found.append((f"{where}.{name_}", message))
            rows.append((library_ids[raw["item"]], dose))
        problems.extend(ImportProblem(index, name.strip(), f, m) for f, m in found)
        if not found:
            clean.append(
                {
                    "slug": slug,
                    "name": name.strip(),
                    "description": (entry.get("description") or "").strip(),
                    "items": rows,
                }
            )
    return clean, problems


def import_programs(data: Any) -> ImportResult:
    """Upsert starter programs by slug (the caller commits); nothing is written when any entry is bad."""
    library_ids = {slug: item_id for slug, item_id in db.session.execute(db.select(LibraryItem.slug, LibraryItem.id))}
    clean, problems = validate_programs(data, library_ids)
    result = ImportResult(problems=problems)
    if problems:
        return result
    existing = {
        p.slug: p
        for p in db.session.scalars(
            db.select(Program).options(selectinload(Program.items)).where(Program.slug.is_not(None))
        )
    }
    for spec in clean:
        program = existing.get(spec["slug"])
        wanted = [(lib_id, dose) for lib_id, dose in spec["items"]]
        if program is None:
            program = Program(slug=spec["slug"], name=spec["name"], description=spec["description"])
            db.session.add(program)
            result.created += 1
        else:
            current = [(item.library_item_id, Dose.of(item)) for item in program.items]
            if (program.name, program.description, current) == (spec["name"], spec["description"], wanted):
                result.unchanged += 1
                continue
            program.name, program.description = spec["name"], spec["description"]
            program.items.clear()
            db.session.flush()
            result.updated += 1
        for position, (lib_id, dose) in enumerate(wanted):
            item = ProgramItem(library_item_id=lib_id, position=position)
            apply_dose(item, dose)
            program.items.append(item)
    db.session.flush()
    return result


def load_starter_programs() -> ImportResult:
    return import_programs(read_json_file(STARTER_PROGRAMS))


def import_program_translations(data: Any, locale: str) -> ImportResult:
    """Upsert the starter programs' names and descriptions in ``locale`` by program slug (the caller
    commits); nothing is written when any entry is bad, and a second import changes nothing."""
    if locale not in TRANSLATED_LANGUAGES:
        return ImportResult(problems=[ImportProblem(0, "", "locale", f"Not a translated language: {locale}.")])
    if not isinstance(data, dict) or not isinstance(data.get("programs"), dict):
        return ImportResult(problems=[ImportProblem(0, "", "programs", 'Expected {"programs": {"<slug>": {...}}}.')])
    programs = {p.slug: p for p in db.session.scalars(db.select(Program).where(Program.slug.is_not(None)))}
    clean, problems = [], []
    for index, (slug, entry) in enumerate(data["programs"].items(), start=1):
        found = []
        if slug not in programs:
            found.append(("slug", f"No starter program with the slug “{slug}”."))
        if not isinstance(entry, dict):
            found.append(("entry", "Must be an object."))
            entry = {}
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 120:
            found.append(("name", "Required, at most 120 characters."))
        description = entry.get("description", "")
        if not isinstance(description, str):
            found.append(("description", "Must be text."))
        elif programs.get(slug) is not None and programs[slug].description.strip() and not description.strip():
            found.append(("description", "The English has a description: translate it."))
        for field in sorted(set(entry) - {"name", "description"}):
            found.append((field, "Unknown field."))
        problems.extend(ImportProblem(index, slug, f, m) for f, m in found)
        if not found:
            clean.append((programs[slug], name.strip(), description.strip()))
    result = ImportResult(problems=problems)
    if problems:
        return result
    existing = {
        row.program_id: row
        for row in db.session.scalars(db.select(ProgramTranslation).where(ProgramTranslation.locale == locale))
    }
    for program, name, description in clean:
        row = existing.get(program.id)
        if row is None:
            db.session.add(ProgramTranslation(program_id=program.id, locale=locale, name=name, description=description))
            result.created += 1
        elif (row.name, row.description) == (name, description):
            result.unchanged += 1
        else:
            row.name, row.description = name, description
            result.updated += 1
    db.session.flush()
    return result


def load_starter_program_translations(locale: str) -> ImportResult:
    """The shipped names and descriptions of the starter programs in ``locale``, if that file exists."""
    path = translations_dir(locale) / "programs.json"
    if not path.exists():
        return ImportResult()
    try:
        data = read_json_file(path)
    except ImportFileError as error:
        return ImportResult(problems=[ImportProblem(0, "", "file", str(error))])
    return import_program_translations(data, locale)

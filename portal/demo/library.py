"""The starter library (idempotent upsert by slug)."""

from __future__ import annotations

from portal.exercises.library import load_starter_library
from portal.exercises.translations import TRANSLATED_LANGUAGES, load_starter_translations
from portal.extensions import db


def seed_library() -> None:
    result = load_starter_library()
    if not result.ok:
        db.session.rollback()
        raise RuntimeError("The starter library is invalid:\n" + "\n".join(str(p) for p in result.problems))
    for locale in TRANSLATED_LANGUAGES:
        translated = load_starter_translations(locale)
        if not translated.ok:
            db.session.rollback()
            raise RuntimeError(
                f"The starter library's {locale} text is invalid:\n" + "\n".join(str(p) for p in translated.problems)
            )
    db.session.commit()

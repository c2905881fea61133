"""The library: stretches & exercises, posture habits and nutrition tips."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow


class ItemKind(StrEnum):
    EXERCISE = "exercise"
    POSTURE = "posture"
    DIET = "diet"


KIND_LABELS = {
    ItemKind.EXERCISE: _l("Stretches & exercises"),
    ItemKind.POSTURE: _l("Posture habits"),
    ItemKind.DIET: _l("Nutrition"),
}

BODY_AREAS = {
    "lower_back": _l("Lower back"),
    "upper_back": _l("Upper back"),
    "neck": _l("Neck"),
    "hips": _l("Hips"),
    "core": _l("Core"),
    "legs": _l("Legs"),
    "whole_body": _l("Whole body"),
}


class LibraryItem(db.Model):
    __tablename__ = "library_item"
    __table_args__ = (Index("ix_library_kind_active_title", "kind", "is_active", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    summary: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)  # one step per line
    cautions: Mapped[str] = mapped_column(Text, default="")
    body_area: Mapped[str] = mapped_column(String(32), index=True)
    level: Mapped[str] = mapped_column(String(16), default="")
    category: Mapped[str] = mapped_column(String(32), default="")
    default_sets: Mapped[int | None]
    default_reps: Mapped[int | None]
    default_hold_seconds: Mapped[int | None]
    default_times_per_day: Mapped[int] = mapped_column(default=1)
    default_days_per_week: Mapped[int] = mapped_column(default=7)
    media_url: Mapped[str | None] = mapped_column(String(500))
    # The coach's own picture or video, in the media store under its content hash.
    media_kind: Mapped[str | None] = mapped_column(String(8))  # "picture" or "video"
    media_type: Mapped[str | None] = mapped_column(String(32))
    media_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    media_thumb_digest: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)  # order within the starter content
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def body_area_label(self) -> str:
        return str(BODY_AREAS.get(self.body_area, self.body_area))

    @property
    def steps(self) -> list[str]:
        return [line for line in self.instructions.splitlines() if line.strip()]


class LibraryItemTranslation(db.Model):
    """An item's text in another language; the English lives on the item itself."""

    __tablename__ = "library_item_translation"
    __table_args__ = (UniqueConstraint("library_item_id", "locale", name="uq_library_item_translation_item_locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_item_id: Mapped[int] = mapped_column(ForeignKey("library_item.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)  # one step per line, like the English
    cautions: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def steps(self) -> list[str]:
        return [line for line in self.instructions.splitlines() if line.strip()]

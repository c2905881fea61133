"""Consent to remote coaching: each clinic's texts and their versions, and what each patient agreed to.

A clinic publishes its coaching agreement and privacy notice together, in every portal
language, as one numbered version. A patient may use the portal once they have agreed to
both documents of the newest version of their clinic; publishing a new version therefore
asks every patient of that clinic again. The pages, the API and the exports all go
through this module. The caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func

from portal import audit
from portal.auth.models import Clinic, User
from portal.care.onboarding_models import Consent, ConsentText
from portal.extensions import db
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.sqlutil import KeptStatement, insert_for
from portal.timeutil import utcnow

AGREEMENT = "agreement"
PRIVACY = "privacy"
KINDS = (AGREEMENT, PRIVACY)
KIND_TITLES = {AGREEMENT: _l("Coaching agreement"), PRIVACY: _l("Privacy notice")}
# The words beside each checkbox of "Before we start".
KIND_CHECKBOXES = {AGREEMENT: _l("I agree to the coaching agreement"), PRIVACY: _l("I have read the privacy notice")}
MAX_TEXT_LENGTH = 20000
STARTER_FILE = Path(__file__).resolve().parent / "data" / "consent_texts.json"


class ConsentVersionChanged(Exception):
    """The patient agreed to a version that is no longer the newest: show the new texts and ask again."""


class NoConsentTexts(Exception):
    """The patient's clinic has published no consent texts yet."""


@dataclass(frozen=True)
class ConsentState:
    version: int | None  # the newest version of the clinic's texts (None: nothing published)
    given: bool  # both documents of that version agreed to

    @property
    def required(self) -> bool:
        return not self.given


def _build_state_statement():
    newest = (
        db.select(func.max(ConsentText.version))
        .where(ConsentText.clinic_id == bindparam("clinic_id"))
        .scalar_subquery()
    )
    given = (
        db.select(func.count(Consent.id))
        .where(
            Consent.patient_id == bindparam("patient_id"),
            Consent.clinic_id == bindparam("clinic_id"),
            Consent.version == newest,
        )
        .scalar_subquery()
    )
    return db.select(newest, given)


_state_statement = KeptStatement(_build_state_statement)


def consent_state(patient: User) -> ConsentState:
    """Whether the patient has agreed to the newest texts of their clinic (one statement)."""
    if patient.clinic_id is None:
        return ConsentState(None, False)
    version, given = (
        db.session.connection()
        .execute(_state_statement(), {"clinic_id": patient.clinic_id, "patient_id": patient.id})
        .one()
    )
    return ConsentState(version, version is not None and (given or 0) >= len(KINDS))


def current_version(clinic_id: int) -> int | None:
    return db.session.scalar(db.select(func.max(ConsentText.version)).where(ConsentText.clinic_id == clinic_id))


def texts_of(clinic_id: int, version: int) -> dict[tuple[str, str], ConsentText]:
    """Every text of one version, keyed by (kind, locale)."""
    rows = db.session.scalars(
        db.select(ConsentText).where(ConsentText.clinic_id == clinic_id, ConsentText.version == version)
    )
    return {(row.kind, row.locale): row for row in rows}


@dataclass(frozen=True)
class ShownText:
    kind: str
    title: str
    checkbox: str
    locale: str
    body: str

    @property
    def paragraphs(self) -> list[str]:
        return paragraphs(self.body)


def texts_for(clinic_id: int | None, language: str) -> tuple[int, list[ShownText]]:
    """The newest version and its two documents in ``language`` (English where one is missing)."""
    version = current_version(clinic_id) if clinic_id is not None else None
    if version is None:
        raise NoConsentTexts()
    texts = texts_of(clinic_id, version)
    shown = []
    for kind in KINDS:
        row = texts.get((kind, language)) or texts.get((kind, DEFAULT_LANGUAGE))
        if row is None:
            row = next(text for (k, _locale), text in texts.items() if k == kind)
        shown.append(ShownText(kind, str(KIND_TITLES[kind]), str(KIND_CHECKBOXES[kind]), row.locale, row.body))
    return version, shown


def give_consent(patient: User, version: int, language: str, ip: str) -> list[Consent]:
    """Record the patient's agreement to both documents of ``version`` of their clinic's texts.

    Refused with ConsentVersionChanged when a newer version was published since the page
    was shown (nothing is written then). Agreeing twice (a double submit) stores each once.
    """
    newest = current_version(patient.clinic_id) if patient.clinic_id is not None else None
    if newest is None:
        raise NoConsentTexts()
    if version != newest:
        raise ConsentVersionChanged()
    texts = texts_of(patient.clinic_id, version)
    now = utcnow()
    for kind in KINDS:
        locale = language if (kind, language) in texts else DEFAULT_LANGUAGE
        inserted = db.session.connection().execute(
            insert_for(Consent)
            .values(patient_id=patient.id, clinic_id=patient.clinic_id, kind=kind, version=version,
                    language=locale, given_at=now, ip=(ip or "")[:64])
            .on_conflict_do_nothing(index_elements=["patient_id", "clinic_id", "kind", "version"])
            .returning(Consent.id)
        ).first()  # fmt: skip
        if inserted is not None:
            audit.record(
                "consent.give",
                patient,
                patient=patient,
                kind=kind,
                version=version,
                language=locale,
                clinic=patient.clinic_id,
            )
    return consents_of(patient)


def consents_of(patient: User) -> list[Consent]:
    """Every consent the patient gave, oldest first."""
    return list(
        db.session.scalars(
            db.select(Consent).where(Consent.patient_id == patient.id).order_by(Consent.given_at, Consent.id)
        )
    )


def latest_consents(patient: User) -> dict[str, Consent]:
    """The newest consent per document."""
    latest: dict[str, Consent] = {}
    for consent in consents_of(patient):
        latest[consent.kind] = consent
    return latest


def normalise_text(text: str) -> str:
    """A text as stored: line breaks as ``\n`` (browsers send ``\r\n``), no blank lines at either end."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a consent text (blank lines separate them)."""
    return [part.strip() for part in normalise_text(text).split("\n\n") if part.strip()]


def publish_version(clinic: Clinic, bodies: dict[tuple[str, str], str], admin: User | None) -> int:
    """Publish ``bodies`` ((kind, locale) -> text, every kind in every language) as the clinic's next version."""
    missing = [
        (kind, locale) for kind in KINDS for locale in LANGUAGES if not (bodies.get((kind, locale)) or "").strip()
    ]
    if missing:
        raise ValueError(f"missing consent texts: {missing}")
    version = (current_version(clinic.id) or 0) + 1
    now = utcnow()
    for kind in KINDS:
        for locale in LANGUAGES:
            db.session.add(
                ConsentText(
                    clinic_id=clinic.id,
                    version=version,
                    kind=kind,
                    locale=locale,
                    body=normalise_text(bodies[(kind, locale)]),
                    published_at=now,
                    published_by_id=admin.id if admin is not None else None,
                )
            )
    db.session.flush()
    audit.record("consent.publish", clinic, actor=admin, version=version)
    return version


def clinic_versions() -> dict[int, tuple[int, object]]:
    """clinic id -> (newest version, when it was published), for the admin's list."""
    rows = db.session.execute(
        db.select(ConsentText.clinic_id, func.max(ConsentText.version), func.max(ConsentText.published_at)).group_by(
            ConsentText.clinic_id
        )
    )
    return {clinic_id: (version, published) for clinic_id, version, published in rows}


def starter_texts() -> dict[tuple[str, str], str]:
    """The starter texts shipped with the portal, (kind, locale) -> text."""
    data = json.loads(STARTER_FILE.read_text(encoding="utf-8"))
    return {(kind, locale): data[kind][locale] for kind in KINDS for locale in LANGUAGES}


def seed_starter_texts() -> list[Clinic]:
    """Publish the starter texts as version 1 for every clinic that has none (idempotent)."""
    texts = starter_texts()
    have = set(db.session.scalars(db.select(ConsentText.clinic_id).distinct()))
    seeded = []
    for clinic in db.session.scalars(db.select(Clinic).order_by(Clinic.id)):
        if clinic.id not in have:
            publish_version(clinic, texts, None)
            seeded.append(clinic)
    return seeded

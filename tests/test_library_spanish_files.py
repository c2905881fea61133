"""The Spanish text of the starter posture and nutrition items: complete, the right shape, within
the column limits, and careful with the safety advice and the numbers a patient follows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portal.exercises.library import DATA_DIR, STARTER_LIBRARY
from portal.exercises.models import LibraryItem

SPANISH_DIR = DATA_DIR / "es"
KINDS = ("posture", "diet")
FIELDS = ("title", "summary", "instructions", "cautions")
TITLE_MAX = LibraryItem.__table__.c.title.type.length
SUMMARY_MAX = LibraryItem.__table__.c.summary.type.length
NUMBER = re.compile(r"\d+")


def _english(kind: str) -> dict[str, dict]:
    data = json.loads(STARTER_LIBRARY.read_text("utf-8"))
    return {item["slug"]: item for item in data["items"] if item["kind"] == kind}


def _spanish_path(kind: str) -> Path:
    return SPANISH_DIR / f"{kind}.json"


def _spanish(kind: str) -> dict[str, dict]:
    data = json.loads(_spanish_path(kind).read_text("utf-8"))
    assert set(data) == {"items"}
    return data["items"]


@pytest.mark.parametrize("kind", KINDS)
def test_file_is_pretty_printed_utf8_json(kind):
    raw = _spanish_path(kind).read_bytes()
    text = raw.decode("utf-8")
    data = json.loads(text)
    # Written readable (accents as letters, indent 2) so a reviewer can diff the Spanish.
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert "\\u00" not in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_starter_slug_present_in_source_order_and_no_extras(kind):
    english = _english(kind)
    spanish = _spanish(kind)
    assert len(english) > 0
    assert list(spanish) == list(english)


@pytest.mark.parametrize("kind", KINDS)
def test_fields_complete_and_within_column_limits(kind):
    english = _english(kind)
    for slug, entry in _spanish(kind).items():
        assert set(entry) == set(FIELDS), slug
        for name in ("title", "summary", "cautions"):
            assert isinstance(entry[name], str) and entry[name].strip(), (slug, name)
        assert len(entry["title"]) <= TITLE_MAX, slug
        assert len(entry["summary"]) <= SUMMARY_MAX, slug
        steps = entry["instructions"]
        assert isinstance(steps, list), slug
        assert len(steps) == len(english[slug]["instructions"]), slug
        for step in steps:
            assert isinstance(step, str) and step.strip(), slug


@pytest.mark.parametrize("kind", KINDS)
def test_text_is_spanish_not_the_english_copied(kind):
    english = _english(kind)
    for slug, entry in _spanish(kind).items():
        assert entry["title"] != english[slug]["title"], slug
        assert entry["summary"] != english[slug]["summary"], slug
        assert entry["cautions"] != english[slug]["cautions"], slug
        for es_step, en_step in zip(entry["instructions"], english[slug]["instructions"], strict=True):
            assert es_step != en_step, slug


@pytest.mark.parametrize("kind", KINDS)
def test_numbers_kept_in_every_field(kind):
    # Durations, amounts and 911 are the parts a patient acts on: each must survive translation.
    english = _english(kind)
    for slug, entry in _spanish(kind).items():
        pairs = [(entry[name], english[slug][name]) for name in ("title", "summary", "cautions")]
        pairs += list(zip(entry["instructions"], english[slug]["instructions"], strict=True))
        for es_text, en_text in pairs:
            assert sorted(NUMBER.findall(es_text)) == sorted(NUMBER.findall(en_text)), (slug, es_text)


@pytest.mark.parametrize("kind", KINDS)
def test_cautions_keep_the_safety_advice(kind):
    english = _english(kind)
    for slug, entry in _spanish(kind).items():
        en, es = english[slug]["cautions"].lower(), entry["cautions"].lower()
        if "911" in en:
            assert "llame al 911" in es, slug
        if "call the clinic" in en:
            assert "llame a la clínica" in es, slug
        if "bladder or bowel control" in en:
            assert "control de la vejiga o los intestinos" in es, slug
        if "saddle area" in en:
            assert "zona de la ingle o entrepierna" in es, slug
        if "numbness" in en:
            assert "entumecimiento" in es, slug
        if "tingling" in en:
            assert "hormigueo" in es, slug

"""Golden files for the wire-format parsers (as fundus does): each sample in ``tests/golden/formats/``
is parsed with ``parse_payload`` and the whole result compared with its reviewed expected file.

``tests/unit/formats/expected/<sample>.json`` holds the sample's name, the content type it is parsed
with (``CONTENT_TYPES``; a sample not listed there is sniffed) and ``stories``: every ``RawStory`` the
payload gives, in the payload's order, as ``dataclasses.asdict`` writes it (every field, tags as
objects). A story's ``"_why"`` maps a field to a note that says why its value is what it is; notes are
not compared, but each must name a field of ``RawStory``.

A sample without an expected file fails. After adding a sample, or deliberately changing what a parser
gives, rewrite the expected files with
``WIRESTREAM_REGEN_GOLDEN=1 pytest tests/unit/formats/test_formats_golden.py`` (the switch the cleaning
golden files use; the ``"_why"`` notes are kept, matched by story ``uri``) and review the diff line by
line before committing it: a regenerated file is only as right as its review.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pytest

from agents.formats import parse_payload
from schemas.records import RawStory
from tests.unit.formats.parsing import GOLDEN

EXPECTED = Path(__file__).resolve().parent / "expected"
REGEN = os.environ.get("WIRESTREAM_REGEN_GOLDEN") == "1"
WHY = "_why"

#: The content type each sample is parsed with (None: sniffed from the bytes).
CONTENT_TYPES: dict[str, str | None] = {
    "anpa_story.tst": None,
    "iptc7901_latin1.txt": "text/vnd.iptc.7901; charset=iso-8859-1",
    "g2_newsitem.xml": "application/vnd.iptc.g2.newsitem+xml",
    "g2_newsmessage.xml": None,
    "g2_pictures_only.xml": None,
    "nitf_latin1.xml": "application/nitf+xml",
    "newsml1_packet.xml": "application/vnd.iptc.newsml+xml",
    "ninjs1_text.json": None,
    "ninjs2_text.json": "application/ninjs+json",
    "ninjs3_text.json": "application/json; charset=utf-8",
}

SAMPLES = sorted(p.name for p in GOLDEN.iterdir() if p.is_file())


def parsed(name: str) -> dict[str, Any]:
    """What ``parse_payload`` gives for the sample, as its expected file holds it (without notes)."""
    content_type = CONTENT_TYPES.get(name)
    stories = parse_payload((GOLDEN / name).read_bytes(), content_type)
    return {"sample": name, "content_type": content_type, "stories": [asdict(s) for s in stories]}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def without_notes(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "stories": [{k: v for k, v in s.items() if k != WHY} for s in document["stories"]]}


def with_notes(document: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the notes of the ``old`` expected file, story by story (matched by ``uri``)."""
    notes = {s["uri"]: s[WHY] for s in old.get("stories", []) if s.get(WHY)}
    stories = [{WHY: notes[s["uri"]], **s} if s["uri"] in notes else s for s in document["stories"]]
    return {**document, "stories": stories}


@pytest.mark.parametrize("name", SAMPLES)
def test_golden_sample_parses_to_its_expected_file(name: str) -> None:
    path = EXPECTED / f"{name}.json"
    actual = parsed(name)
    if REGEN:
        path.write_text(dumps(with_notes(actual, load(path) if path.exists() else {})), encoding="utf-8")
    if not path.exists():
        pytest.fail(
            f"no expected file for {name}: write tests/unit/formats/expected/{name}.json with "
            "WIRESTREAM_REGEN_GOLDEN=1, then review it",
            pytrace=False,
        )
    want, got = dumps(without_notes(load(path))), dumps(actual)
    if want != got:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(keepends=True),
                got.splitlines(keepends=True),
                f"expected/{name}.json (its _why notes left out)",
                f"parse_payload({name})",
            )
        )
        pytest.fail(
            f"{name} no longer parses to its expected file (- expected, + parsed). If the change is "
            f"deliberate, regenerate with WIRESTREAM_REGEN_GOLDEN=1 and review the diff.\n{diff}",
            pytrace=False,
        )


def test_expected_files_have_samples_and_notes_name_fields() -> None:
    names = {f.name for f in fields(RawStory)}
    for path in sorted(EXPECTED.glob("*.json")):
        assert path.stem in SAMPLES, f"{path.name}: no sample {path.stem} in tests/golden/formats/"
        for story in load(path)["stories"]:
            notes = story.get(WHY, {})
            assert set(notes) <= names, f"{path.name}: notes on fields RawStory lacks: {set(notes) - names}"
            assert all(isinstance(n, str) and n for n in notes.values()), f"{path.name}: an empty note"

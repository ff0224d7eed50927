"""The ninjs ``item`` of each version validates against IPTC's official schema (shared folder).

Uses the validator of the CI contract check (``bench/check_ninjs.py``): the official schema
files of ``../shared/eval/iptc-ninjs``, with the GeoJSON schema a place's point refers to
resolved from IPTC's local copy. Skips when the shared folder is missing, fails on CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

import schemas
from agents.ner.linking import linker
from schemas.ninjs import NINJS_VERSIONS, TYPES_22, build_enriched, build_item
from schemas.records import RawStory
from tests.bench_scripts import load_bench_script
from tests.factories import story_in_flight
from tests.shared.test_shared_fixtures import require_shared
from tests.unit.test_ninjs import entities, full_story

# The CI contract check, loaded as its script runs (it finds the shared folder through bench/_repo.py).
check_ninjs = load_bench_script("check_ninjs")
IPTC_NINJS = check_ninjs.IPTC_NINJS
envelope_validator, validator = check_ninjs.envelope_validator, check_ninjs.validator

#: The schemas an item of each version must satisfy: ninjs 3.1 only adds properties to 3.0.
SCHEMAS = {"2.2": ("2.2",), "3.0": ("3.0", "3.1")}


@pytest.fixture(scope="module", autouse=True)
def require_iptc_ninjs() -> None:
    require_shared()
    assert IPTC_NINJS.is_dir(), IPTC_NINJS


@pytest.mark.parametrize(("version", "schema"), [(v, s) for v in NINJS_VERSIONS for s in SCHEMAS[v]])
def test_item_validates_against_the_official_schema(version: Any, schema: str) -> None:
    item = build_item(full_story(), entities(), version, linker().points)
    assert any("geojson" in place or "geoJSON" in place for place in item["places"])
    assert not [error.message for error in validator(schema).iter_errors(item)]


@pytest.mark.parametrize("version", NINJS_VERSIONS)
def test_an_item_of_one_version_is_invalid_in_the_other(version: Any) -> None:
    other = next(v for v in NINJS_VERSIONS if v != version)
    item = build_item(full_story(), entities(), version, linker().points)
    assert list(validator(other).iter_errors(item))


@pytest.mark.parametrize(("version", "key"), [("2.2", "geojson"), ("3.0", "geoJSON")])
def test_the_geojson_schema_is_applied_to_points(version: Any, key: str) -> None:
    """The check can fail: a point without its latitude breaks the GeoJSON schema."""
    item = build_item(full_story(), entities(), version, linker().points)
    item["places"][0][key]["coordinates"] = [2.3488]
    assert list(validator(version).iter_errors(item))


@pytest.mark.parametrize("version", NINJS_VERSIONS)
def test_the_enriched_record_schema_accepts_either_version(version: Any) -> None:
    """``schemas/enriched_story.schema.json`` holds an item of either version (and exactly one)."""
    schema = orjson.loads((Path(schemas.__file__).parent / "enriched_story.schema.json").read_bytes())
    enriched = build_enriched(full_story(), [], "test", None, entities(), 10, version, linker().points)
    record = orjson.loads(orjson.dumps(enriched))
    assert not [error.message for error in envelope_validator(schema).iter_errors(record)]
    record["item"]["firstcreated" if version == "3.0" else "firstCreated"] = "2026-11-20T09:00:00Z"
    assert list(envelope_validator(schema).iter_errors(record))  # a mix of the two is neither


@pytest.mark.parametrize("item_type", ["picture", "composite", "event", "planning", None])
@pytest.mark.parametrize(("version", "schema"), [(v, s) for v in NINJS_VERSIONS for s in SCHEMAS[v]])
def test_a_metadata_only_item_validates(item_type: str | None, version: Any, schema: str) -> None:
    """A picture, package, event or planning item without a body: ``type`` as sent where the version
    has it (2.2 has no ``event`` nor ``planning``), no ``bodies``."""
    raw = RawStory(uri="urn:test:pic", item_type=item_type, version="1", headline="Firefighters at the harbour")
    item = build_item(story_in_flight("", raw=raw, headline=raw.headline or ""), [], version)
    assert "bodies" not in item
    expected_type = item_type if item_type in TYPES_22 or (item_type and version == "3.0") else None
    assert item.get("type") == expected_type
    assert not [error.message for error in validator(schema).iter_errors(item)]

"""CI check: every enriched record in a JSON Lines file has an ``item`` valid against official ninjs.

    python bench/check_ninjs.py [--version 2.2|3.0|3.1] .local/test-output/enriched.jsonl

The schemas are the official IPTC files in ``../shared/eval/iptc-ninjs/specification/`` (override
the shared folder with ``WIRESTREAM_SHARED``); the GeoJSON schema a place's point refers to is the
copy in IPTC's validation suite beside them (no network). Exits non-zero if the file is missing or
empty, or if any record is invalid. Also prints how many places carry a GeoJSON point.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
from _repo import shared_dir
from referencing import Registry, Resource

SHARED = shared_dir()
IPTC_NINJS = SHARED / "eval" / "iptc-ninjs"
#: The schema versions this check knows; 3.1 is checked against items written as 3.0.
VERSIONS = ("2.2", "3.0", "3.1")
_POINT_KEYS = ("geojson", "geoJSON")


def schema_path(version: str) -> Path:
    """The official ninjs schema file of ``version``."""
    return IPTC_NINJS / "specification" / f"ninjs-schema_{version}.json"


def registry() -> Registry[Any]:
    """The official ninjs schemas of :data:`VERSIONS` and the GeoJSON schema a place's point refers
    to (``geojson`` / ``geoJSON``), from the local copies, by the URIs schemas refer to them with."""
    schemas = [json.loads(schema_path(version).read_text(encoding="utf-8")) for version in VERSIONS]
    schemas.append(json.loads((IPTC_NINJS / "validation" / "test_suite" / "GeoJSON-schema.json").read_text("utf-8")))
    return Registry().with_resources((s["$id"].rstrip("#"), Resource.from_contents(s)) for s in schemas)


def validator(version: str) -> jsonschema.Draft202012Validator:
    """A validator for the official ninjs ``version`` schema, with formats checked."""
    return envelope_validator(json.loads(schema_path(version).read_text(encoding="utf-8")))


def envelope_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for ``schema`` (one referring to the official ninjs schemas by URI, such as
    ``schemas/enriched_story.schema.json``), with formats checked and no network."""
    return jsonschema.Draft202012Validator(schema, registry=registry(), format_checker=jsonschema.FormatChecker())


def place_points(item: dict[str, Any]) -> tuple[int, int]:
    """How many places an item names, and how many of them carry a GeoJSON point."""
    places = item.get("places", [])
    return len(places), sum(1 for place in places if any(key in place for key in _POINT_KEYS))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="enriched records, one JSON object a line")
    parser.add_argument("--version", choices=VERSIONS, default="2.2", help="ninjs schema to validate against")
    args = parser.parse_args(argv)
    path: Path = args.file
    if not path.exists():
        print(f"check_ninjs: {path} does not exist (did the integration tests run?)", file=sys.stderr)
        return 1
    check = validator(args.version)
    checked = invalid = places = points = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)["item"]
        checked += 1
        errors = sorted(check.iter_errors(item), key=lambda e: list(e.path))
        for error in errors:
            print(f"{path}:{number}: {item.get('uri')}: {error.message}", file=sys.stderr)
        invalid += bool(errors)
        named, located = place_points(item)
        places, points = places + named, points + located
    print(
        f"check_ninjs: {checked} enriched records of {path} checked against {schema_path(args.version).name}: "
        f"{invalid} invalid; {points} of {places} places carry a GeoJSON point"
    )
    if checked == 0:
        print("check_ninjs: no records to check", file=sys.stderr)
        return 1
    return 1 if invalid else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

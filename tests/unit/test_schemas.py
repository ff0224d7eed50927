"""The JSON Schema files (the published contract) and the Python records describe the same shape."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import records as R
from schemas.ninjs import NINJS_VERSIONS

SCHEMAS = Path(R.__file__).resolve().parent
NINJS_REFS = [{"$ref": f"http://www.iptc.org/std/ninjs/ninjs-schema_{v}.json#"} for v in NINJS_VERSIONS]
CONTRACTS = {
    "thread_summary.schema.json": R.ThreadSummary,
    "enriched_story.schema.json": R.EnrichedStory,
    "duplicate_notice.schema.json": R.DuplicateNotice,
    "dead_letter.schema.json": R.DeadLetter,
    "story_in_flight.schema.json": R.StoryInFlight,
}


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return typing.cast(dict[str, Any], root["$defs"][ref.removeprefix("#/$defs/")])
    return node


def assert_same(annotation: Any, node: dict[str, Any], root: dict[str, Any], where: str) -> None:
    node = _resolve(node, root)
    origin = typing.get_origin(annotation)
    if annotation is Any or (origin is dict and typing.get_args(annotation)[1] is Any):
        assert node.get("type") in ("object", None) or node.get("oneOf") == NINJS_REFS, where
        return
    if origin in (typing.Union, types.UnionType):
        options = node.get("anyOf")
        assert options is not None, f"{where}: schema is not a union"
        args = typing.get_args(annotation)
        assert len(options) == len(args), where
        for arg, option in zip(args, options, strict=True):
            assert_same(arg, option, root, where)
        return
    if origin is typing.Literal:
        assert node.get("enum") == list(typing.get_args(annotation)), where
        return
    if origin is list:
        assert node.get("type") == "array", where
        assert_same(typing.get_args(annotation)[0], node["items"], root, where + "[]")
        return
    if origin is dict:
        assert node.get("type") == "object", where
        assert_same(typing.get_args(annotation)[1], node["additionalProperties"], root, where + "{}")
        return
    if dataclasses.is_dataclass(annotation):
        assert_record(typing.cast(type, annotation), node, root, where)
        return
    expected = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}[annotation]
    assert node.get("type") == expected, f"{where}: {node} is not {expected}"


def assert_record(cls: type, node: dict[str, Any], root: dict[str, Any], where: str) -> None:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert list(node["properties"]) == names, f"{where}: properties differ from {cls.__name__} fields"
    assert sorted(node["required"]) == sorted(names), where
    assert node.get("additionalProperties") is False, where
    for name in names:
        assert_same(hints[name], node["properties"][name], root, f"{where}.{name}")


@pytest.mark.parametrize(("file_name", "record"), CONTRACTS.items())
def test_schema_file_matches_record(file_name: str, record: type) -> None:
    schema = json.loads((SCHEMAS / file_name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert_record(record, schema, schema, record.__name__)


def test_enriched_item_is_one_of_the_official_ninjs_versions_we_write() -> None:
    schema = json.loads((SCHEMAS / "enriched_story.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["item"]["oneOf"] == NINJS_REFS


RAW_SCHEMA = json.loads((SCHEMAS / "raw_story.schema.json").read_text(encoding="utf-8"))
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "stories.jsonl"
_WRONG_VALUE = {"string": 42, "array": "not a list"}


def _valid_raw() -> dict[str, Any]:
    return {"uri": "urn:test:1", "headline": "A headline", "body_text": "A body with words."}


def test_sample_stories_that_parse_are_valid_raw_stories() -> None:
    import jsonschema

    from agents.failures.errors import StageError
    from agents.formats import parse_payload

    validator = jsonschema.Draft202012Validator(RAW_SCHEMA)
    checked = 0
    for line in SAMPLES.read_bytes().splitlines():
        try:
            parse_payload(line)
        except StageError:
            continue
        errors = [e.message for e in validator.iter_errors(json.loads(line))]
        assert not errors, errors
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    "name",
    [n for n, p in RAW_SCHEMA["properties"].items() if p.get("type") in ("string", "array") and n != "uri"],
)
def test_parser_rejects_what_the_raw_schema_rejects(name: str) -> None:
    """Each typed property of the raw schema is one the ninjs parser reads and type-checks."""
    import jsonschema

    from agents.failures.errors import StageError
    from agents.formats import parse_payload

    story = _valid_raw()
    story[name] = _WRONG_VALUE[RAW_SCHEMA["properties"][name]["type"]]
    assert list(jsonschema.Draft202012Validator(RAW_SCHEMA).iter_errors(story))
    with pytest.raises(StageError) as caught:
        parse_payload(orjson.dumps(story))
    assert caught.value.error_type in ("WrongFieldType", "InvalidFieldValue"), caught.value

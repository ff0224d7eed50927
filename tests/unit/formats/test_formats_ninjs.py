"""ninjs 1.x / 2.x / 3.x → RawStory, and the validate-stage errors.

What the golden samples parse to is checked whole in ``test_formats_golden.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.failures.errors import StageError
from agents.formats import parse_payload
from agents.formats.ninjs import parse_ninjs
from schemas.records import AgencyTag, RawStory
from tests.unit.formats.parsing import error, one


def js(obj: Any) -> bytes:
    return json.dumps(obj).encode()  # stdlib: also writes integers beyond 64 bits


# --------------------------------------------------------------------------- field spellings


def test_minimal_text_body() -> None:
    story = one(b'{"uri": "u1", "body_text": "Hello."}')
    assert story == RawStory(uri="u1", body="Hello.", body_type="text/plain")


def test_body_text_used_when_html_is_blank() -> None:
    story = one(js({"uri": "u", "body_html": "  ", "body_text": "text"}))
    assert (story.body, story.body_type) == ("text", "text/plain")


def test_body_xhtml_and_other_body_suffixes() -> None:
    assert one(js({"uri": "u", "body_xhtml": "<p>x</p>"})).body_type == "application/xhtml+xml"
    story = one(js({"uri": "u", "body_new": "any text"}))
    assert (story.body, story.body_type) == ("any text", None)


def test_bodies_first_when_no_main_and_empty_entries_skipped() -> None:
    story = one(js({"uri": "u", "bodies": [{"value": " "}, {"value": "second", "contenttype": "text/plain"}]}))
    assert (story.body, story.body_type) == ("second", "text/plain")


def test_bodies_without_contenttype() -> None:
    story = one(js({"uri": "u", "bodies": [{"value": "plain"}]}))
    assert (story.body, story.body_type) == ("plain", None)


def test_headline_main_fallback_and_first_headline() -> None:
    assert one(js({"uri": "u", "body_text": "b", "headline_main": "HM"})).headline == "HM"
    story = one(js({"uri": "u", "body_text": "b", "headlines": [{"value": "A"}, {"value": "B"}]}))
    assert story.headline == "A"


def test_guid_when_uri_absent() -> None:
    assert one(js({"guid": "tag:x", "body_text": "b"})).uri == "tag:x"


def test_bom_is_tolerated() -> None:
    assert one(b"\xef\xbb\xbf" + js({"uri": "u", "body_text": "b"})).uri == "u"


def test_unknown_fields_ignored() -> None:
    story = one(js({"uri": "u", "body_text": "b", "zzz": [1, {"a": None}], "associations": {}}))
    assert story.uri == "u"


def test_urgency_forms() -> None:
    assert one(js({"uri": "u", "body_text": "b", "urgency": 2.0})).urgency == 2
    assert one(js({"uri": "u", "body_text": "b", "urgency": " 7 "})).urgency == 7
    assert error(js({"uri": "u", "body_text": "b", "urgency": 0.1})).error_type == "InvalidFieldValue"
    assert error(js({"uri": "u", "body_text": "b", "urgency": 11})).error_type == "InvalidFieldValue"
    assert error(js({"uri": "u", "body_text": "b", "urgency": "soon"})).error_type == "InvalidFieldValue"


def test_pubstatus_values() -> None:
    assert one(js({"uri": "u", "body_text": "b", "pubstatus": "Cancelled"})).pubstatus == "canceled"
    err = error(js({"uri": "u", "body_text": "b", "pubstatus": "replaced"}))
    assert err.error_type == "InvalidFieldValue"
    assert "replaced" in err.message


def test_provider_object_and_source_precedence() -> None:
    assert one(js({"uri": "u", "body_text": "b", "provider": {"name": "AP"}})).provider == "AP"
    assert one(js({"uri": "u", "body_text": "b", "source": "S", "copyrightholder": "C"})).provider == "S"


def test_empty_tag_entries_skipped_and_duplicates_merged() -> None:
    story = one(js({"uri": "u", "body_text": "b", "person": [{}], "people": [{"name": "A"}, {"name": "A"}]}))
    assert story.tags == [AgencyTag("person", "A")]


def test_need_body_false_accepts_metadata_only_items() -> None:
    (story,) = parse_ninjs(js({"uri": "u", "headline": "h"}), need_body=False)
    assert story.body is None and story.headline == "h"


# --------------------------------------------------------------------------- errors


def test_invalid_utf8_gives_offset() -> None:
    err = error(b'{"uri": "u", "body_text": "caf\xe9"}')
    assert err.error_type == "InvalidUtf8"
    assert "offset 30" in err.message


def test_invalid_json() -> None:
    err = error(b'{"uri": "u",')
    assert err.error_type == "InvalidJson"
    assert "not valid JSON" in err.message


@pytest.mark.parametrize(
    ("payload", "kind"), [(b"[1, 2]", "array"), (b'"x"', "string"), (b"3", "number"), (b"null", "null")]
)
def test_not_an_object(payload: bytes, kind: str) -> None:
    err = error(payload, "application/json")
    assert err.error_type == "NotAnObject"
    assert kind in err.message


def test_array_is_sniffed_as_json() -> None:
    assert error(b"  [ ]").error_type == "NotAnObject"


@pytest.mark.parametrize("obj", [{"body_text": "b"}, {"uri": "", "body_text": "b"}, {"uri": "  ", "body_text": "b"}])
def test_missing_uri(obj: dict[str, Any]) -> None:
    assert error(js(obj)).error_type == "MissingUri"


@pytest.mark.parametrize(
    ("obj", "field", "expected", "actual"),
    [
        ({"uri": 5, "body_text": "b"}, "'uri'", "a string", "number"),
        ({"uri": "u", "body_text": ["b"]}, "'body_text'", "a string", "array"),
        ({"uri": "u", "body_text": "b", "headline": {"a": 1}}, "'headline'", "a string", "object"),
        ({"uri": "u", "body_text": "b", "version": True}, "'version'", "a string or an integer", "boolean"),
        ({"uri": "u", "body_text": "b", "urgency": [1]}, "'urgency'", "an integer", "array"),
        ({"uri": "u", "bodies": {"value": "b"}}, "'bodies'", "an array", "object"),
        ({"uri": "u", "bodies": [{"value": 1}]}, "'bodies[0].value'", "a string", "number"),
        ({"uri": "u", "bodies": ["b"]}, "'bodies[0]'", "an object", "string"),
        (
            {"uri": "u", "body_text": "b", "subjects": [{"name": 3}]},
            "'subjects[0].name'",
            "a string",
            "number",
        ),
        (
            {"uri": "u", "body_text": "b", "versionCreated": 20240101},
            "'versionCreated'",
            "a string",
            "number",
        ),
        ({"uri": "u", "body_text": "b", "pubStatus": False}, "'pubStatus'", "a string", "boolean"),
        ({"uri": "u", "body_new": 1}, "'body_new'", "a string", "number"),
    ],
)
def test_wrong_field_type(obj: dict[str, Any], field: str, expected: str, actual: str) -> None:
    err = error(js(obj))
    assert err.error_type == "WrongFieldType"
    assert field in err.message and expected in err.message and actual in err.message


@pytest.mark.parametrize(
    "obj",
    [
        {"uri": "u", "body_text": ""},
        {"uri": "u", "body_html": " \n\t "},
        {"uri": "u", "bodies": []},
        {"uri": "u", "bodies": [{"value": "   "}]},
    ],
)
def test_empty_body(obj: dict[str, Any]) -> None:
    err = error(js(obj))
    assert err.error_type == "EmptyBody"
    assert "'u'" in err.message


def test_unknown_format() -> None:
    assert error(b"hello world").error_type == "UnknownFormat"
    assert error(js({"uri": "u"}), "image/jpeg").error_type == "UnknownFormat"
    assert error(b"   ").error_type == "EmptyPayload"


def test_error_message_quotes_are_bounded() -> None:
    err = error(b"x" * 10_000)
    assert len(err.message) < 200


def test_generic_content_type_is_sniffed() -> None:
    assert one(js({"uri": "u", "body_text": "b"}), "application/octet-stream").uri == "u"


# --------------------------------------------------------------------------- properties

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ninjs_keys = st.sampled_from(
    [
        "uri",
        "guid",
        "version",
        "versioncreated",
        "versionCreated",
        "headline",
        "headlines",
        "bodies",
        "body_text",
        "body_html",
        "byline",
        "by",
        "urgency",
        "pubstatus",
        "pubStatus",
        "subjects",
        "subject",
        "people",
        "places",
        "source",
        "provider",
        "url",
        "language",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ninjs_keys | st.text(max_size=6), json_values, max_size=8))
def test_any_json_object_gives_story_or_stage_error(obj: dict[str, Any]) -> None:
    try:
        stories = parse_payload(js(obj))
    except StageError as err:
        assert err.stage == "validate"
        assert err.error_type.isidentifier() and err.error_type[0].isupper()
    else:
        assert len(stories) == 1 and stories[0].uri.strip()
        # no body field at all is a metadata-only item (picture, event) and passes with body None;
        # a body field that is there must hold text
        body = stories[0].body
        assert body is None or body.strip()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_stories_or_stage_error(payload: bytes) -> None:
    try:
        parse_payload(payload)
    except StageError as err:
        assert err.stage == "validate"


# --------------------------------------------------------------------------- envelopes and NTB


def test_content_api_envelope_yields_text_items() -> None:
    page = {
        "total": 3,
        "item": [
            {"uri": "a", "type": "text", "body_html": "<p>A</p>"},
            {"uri": "p", "type": "picture"},
            {"uri": "b", "type": "text", "body_text": "B"},
        ],
    }
    stories = parse_payload(js(page))
    assert [(s.uri, s.item_type, s.body) for s in stories] == [
        ("a", "text", "<p>A</p>"),
        ("p", "picture", None),  # a metadata-only item, as when sent alone
        ("b", "text", "B"),
    ]


def test_ap_media_envelope() -> None:
    item = {"uri": "ap1", "type": "text", "bodies": [{"value": "Text"}]}
    assert parse_payload(js({"api_version": "2", "data": {"item": item}}))[0].uri == "ap1"
    feed = {"data": {"items": [{"item": item, "meta": {}}, {"item": {"uri": "pic", "type": "picture"}}]}}
    assert [s.uri for s in parse_payload(js(feed))] == ["ap1", "pic"]


def test_envelopes_without_text() -> None:
    (picture,) = parse_payload(js({"item": [{"uri": "p", "type": "picture", "body_text": ""}]}))
    assert (picture.uri, picture.item_type, picture.body) == ("p", "picture", None)
    assert error(js({"item": [{"uri": "t", "type": "text"}]})).error_type == "EmptyBody"
    assert error(js({"item": []})).error_type == "NotNewsItem"


def test_a_non_text_item_with_an_empty_body_field_is_metadata_only() -> None:
    assert one(js({"uri": "v", "type": "video", "body_text": " "})).body is None
    assert error(js({"uri": "t", "type": "text", "body_text": " "})).error_type == "EmptyBody"
    assert error(js({"uri": "t", "body_text": " "})).error_type == "EmptyBody"


def test_ntb_description_role_text_is_the_body_of_a_text_item() -> None:
    obj = {
        "uri": "n",
        "type": "text",
        "descriptions": [{"role": "summary", "value": "S"}, {"role": "text", "value": "T"}],
    }
    assert (one(js(obj)).body, one(js(obj)).body_type) == ("T", "text/plain")
    # Not a text item, and no body field: a metadata-only item, without a body.
    assert one(js({**obj, "type": "picture"})).body is None
    assert one(js({**obj, "type": "picture"})).item_type == "picture"
    assert one(js({k: v for k, v in obj.items() if k != "type"})).body is None


@pytest.mark.parametrize("obj", [{"uri": "u"}, {"uri": "u", "headline": "only a headline", "type": "picture"}])
def test_item_without_any_body_field_is_metadata_only(obj: dict[str, Any]) -> None:
    story = one(js(obj))
    assert (story.uri, story.body) == ("u", None)


def test_dates_get_a_colon_in_the_offset() -> None:
    story = one(js({"uri": "u", "body_text": "b", "versioncreated": "2017-08-24T04:38:34+0000"}))
    assert story.versioncreated == "2017-08-24T04:38:34+00:00"

"""Content-type dispatch, sniffing, and robustness of parse_payload on damaged input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.failures.errors import StageError
from agents.formats import CONTENT_TYPES, FORMAT_LABELS, format_label, parse_payload, sniff
from tests.unit.formats.parsing import GOLDEN, golden

SAMPLES = sorted(p for p in GOLDEN.iterdir() if p.is_file())


@pytest.mark.parametrize(
    ("payload", "family"),
    [
        (b'  {"uri": "u"}', "ninjs"),
        (b"\xef\xbb\xbf[1]", "ninjs"),
        (b"\n<?xml version='1.0'?><nitf/>", "xml"),
        ("<nitf/>".encode("utf-16"), "xml"),
        (b"\x16\x16\x01X", "control"),
        (b"\x01eca", "control"),
        (b"hello", "unknown"),
        (b"", "unknown"),
    ],
)
def test_sniff(payload: bytes, family: str) -> None:
    assert sniff(payload) == family


def test_content_types_are_lower_case_media_types() -> None:
    for media_type, family in CONTENT_TYPES.items():
        assert media_type == media_type.lower() and "/" in media_type and ";" not in media_type
        assert family in {"ninjs", "xml", "anpa", "iptc7901"}


def test_content_type_overrides_sniffing() -> None:
    ninjs = b'{"uri": "u", "body_text": "b"}'
    with pytest.raises(StageError) as info:
        parse_payload(ninjs, "application/nitf+xml")
    assert info.value.error_type == "InvalidXml"
    assert parse_payload(ninjs, "Application/JSON ; charset=UTF-8")[0].uri == "u"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_golden_sample_parses_or_says_why(sample: Path) -> None:
    stories = parse_payload(sample.read_bytes())
    assert stories and all(s.uri for s in stories)
    assert all(s.body for s in stories if s.item_type == "text")  # text items carry their text
    assert all(s.body is None for s in stories if s.item_type != "text")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(SAMPLES),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(0, 255)), max_size=4),
)
def test_damaged_samples_never_crash(sample: Path, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(sample.read_bytes()[: max(cut, 1)])
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    try:
        stories = parse_payload(bytes(data))
    except StageError as err:
        assert err.stage == "validate"
        assert err.error_type.isidentifier() and err.error_type[:1].isupper()
        assert len(err.message) < 400
    else:
        assert stories
        for story in stories:
            assert story.uri.strip()
            # a text item with its text, or a metadata-only item (a picture, a cancellation…) without any
            assert (story.body is not None and story.body.strip()) or (
                story.body is None and (story.item_type != "text" or story.pubstatus == "canceled")
            )


@pytest.mark.parametrize(
    ("name", "content_type", "label"),
    [
        ("ninjs2_text.json", None, "ninjs"),
        ("g2_newsitem.xml", None, "newsml-g2"),
        ("g2_newsmessage.xml", "application/xml", "newsml-g2"),
        ("nitf_latin1.xml", None, "nitf"),  # after an XML declaration and a DOCTYPE
        ("newsml1_packet.xml", None, "newsml-1.2"),
        ("anpa_story.tst", None, "anpa-1312"),
        ("iptc7901_latin1.txt", None, "iptc-7901"),
        ("iptc7901_latin1.txt", "text/vnd.iptc.7901", "iptc-7901"),
        ("ninjs2_text.json", "image/png", "unknown"),
    ],
)
def test_format_label(name: str, content_type: str | None, label: str) -> None:
    payload = golden(name)
    assert format_label(payload, content_type) == label
    assert label in FORMAT_LABELS


def test_format_label_of_other_xml_and_garbage() -> None:
    assert format_label(b"<!-- c --><rss/>") == "xml"
    assert format_label(b"\x00\xff garbage") == "unknown"
    assert format_label("<nitf/>".encode("utf-16")) == "nitf"

"""ANPA-1312 and IPTC 7901 → RawStory.

What the golden samples parse to is checked whole in ``test_formats_golden.py``."""

from __future__ import annotations

import pytest

from agents.failures.errors import StageError
from agents.formats import parse_payload
from agents.formats.anpa import paragraphs
from tests.unit.formats.parsing import golden


def test_anpa_first_take_and_content_type_with_charset() -> None:
    payload = golden("anpa_story.tst").replace(b"2ndLd-Writethru", b"")
    (story,) = parse_payload(payload, "text/vnd.iptc.anpa; charset=windows-1252")
    assert story.version == "0"
    assert story.uri.endswith(":BC-Harbour-Fire")  # same story across write-throughs


def test_sniffed_variants() -> None:
    assert parse_payload(golden("iptc7901_latin1.txt"))[0].format == "iptc-7901"
    assert parse_payload(golden("anpa_story.tst"))[0].format == "anpa-1312"


@pytest.mark.parametrize(
    ("payload", "content_type", "error_type"),
    [
        (b"\x01header only, no text", None, "InvalidFraming"),
        (b"\x16\x16\x01X1\nnot an anpa header\n\x02text\x03", "text/vnd.iptc.anpa", "InvalidFraming"),
        (b"\x01eca1 3 i 1 dpa 1\r\n\x02Headline =\r\n\r\n\x03", None, "EmptyBody"),
        (b"\x01eca1 3 i 1 dpa 1\r\n\x02Headline =\r\nBody\x03", "text/vnd.iptc.7901; charset=x-bogus", None),
    ],
)
def test_errors(payload: bytes, content_type: str | None, error_type: str | None) -> None:
    if error_type is None:  # an unknown charset falls back to UTF-8 / Windows-1252
        assert parse_payload(payload, content_type)[0].body == "Body"
        return
    with pytest.raises(StageError) as info:
        parse_payload(payload, content_type)
    assert info.value.error_type == error_type


def test_missing_trailer_gives_content_uri() -> None:
    payload = b"\x01eca1 3 i 1 dpa 1\r\n\x02Headline =\r\n\r\nBody text.\r\n"
    (story,) = parse_payload(payload)
    assert story.uri.startswith("urn:wirestream:iptc-7901:sha256:")
    assert (story.headline, story.body) == ("Headline", "Body text.")


def test_paragraphs_join_wrapped_lines_and_drop_controls() -> None:
    lines = ["   First line", "continues here.", "", "\tSecond<", "Third\x10\x1e", "\x7f"]
    assert paragraphs(lines) == "First line continues here.\n\nSecond\n\nThird"

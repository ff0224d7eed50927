"""IPTC NewsML-G2 (``newsItem``, or a ``newsMessage`` holding several items) → stories.

Each ``newsItem`` with an inline body (``inlineXML`` XHTML or NITF, or ``inlineData``)
becomes one :class:`RawStory`; the body is returned as an HTML fragment (or the inline
text). Every other news item (a picture, graphic, video, audio, package, planning item or
event) becomes a metadata-only story (``body`` None) of its ninjs type.
``contentMeta/subject`` is kept as agency tags, the kind taken from its concept type
(``cpnat:person`` → person, ``cpnat:organisation`` → organisation, ``cpnat:geoArea`` /
``cpnat:poi`` / location types → place, anything else → subject). QCodes of known IPTC
schemes (and schemes declared in an inline ``catalog``) are expanded to URIs; other QCodes
are kept as they are in ``uri``.
"""

from __future__ import annotations

import re
from typing import Final

from agents.formats import nitf
from agents.formats._common import (
    TagKind,
    add_tag,
    has_text,
    iso_datetime,
    parse_pubstatus,
    parse_urgency,
)
from agents.formats._packet import CANCELED, ItemResult, collect, ninjs_type, without_uri
from agents.formats._xml import Element, attr, first_text, inner_html, kid, kids, text_of
from schemas.records import AgencyTag, RawStory

FORMAT: Final = "newsml-g2"

#: Item elements of NewsML-G2; only ``newsItem`` carries text.
ITEM_TAGS: Final = frozenset({"newsItem", "packageItem", "conceptItem", "knowledgeItem", "planningItem", "catalogItem"})

#: Scheme aliases of the IPTC standard catalog that we expand to URIs.
KNOWN_SCHEMES: Final = {
    "subj": "http://cv.iptc.org/newscodes/subjectcode/",
    "medtop": "http://cv.iptc.org/newscodes/mediatopic/",
    "ninat": "http://cv.iptc.org/newscodes/ninature/",
    "genre": "http://cv.iptc.org/newscodes/genre/",
}

_PLACE_TYPES: Final = re.compile(r"(geoarea|poi|geo|loc|city|country|cpttype:5)", re.IGNORECASE)
_HTMLISH: Final = re.compile(r"<(p|br|div|h[1-6]|ul|ol|li|table)\b", re.IGNORECASE)


def _schemes(item: Element) -> dict[str, str]:
    schemes = dict(KNOWN_SCHEMES)
    for catalog in kids(item, "catalog"):
        for scheme in kids(catalog, "scheme"):
            alias, uri = attr(scheme, "alias"), attr(scheme, "uri")
            if alias and uri:
                schemes[alias] = uri
    return schemes


def expand_qcode(qcode: str | None, schemes: dict[str, str]) -> str | None:
    """``medtop:04000000`` → ``http://cv.iptc.org/newscodes/mediatopic/04000000``."""
    if not qcode:
        return None
    alias, sep, code = qcode.partition(":")
    base = schemes.get(alias)
    return base + code if sep and base else qcode


def _kind(concept_type: str | None) -> TagKind:
    if not concept_type:
        return "subject"
    lowered = concept_type.lower()
    if lowered.endswith(":person"):
        return "person"
    if lowered.endswith((":organisation", ":organization", ":company")):
        return "organisation"
    if _PLACE_TYPES.search(lowered):
        return "place"
    return "subject"


def _name(concept: Element | None) -> str | None:
    names = kids(concept, "name")
    plain = [n for n in names if not attr(n, "role")] or names
    return text_of(plain[0]) if plain else None


def _tags(item: Element, content_meta: Element | None) -> list[AgencyTag]:
    schemes = _schemes(item)
    tags: list[AgencyTag] = []
    for subject in kids(content_meta, "subject"):
        uri = attr(subject, "uri") or expand_qcode(attr(subject, "qcode"), schemes)
        tag = AgencyTag(_kind(attr(subject, "type")), name=_name(subject), uri=uri, literal=attr(subject, "literal"))
        add_tag(tags, tag)
    return tags


def _headline(content_meta: Element | None) -> str | None:
    headlines = kids(content_meta, "headline")
    main = [h for h in headlines if not attr(h, "role") or "main" in (attr(h, "role") or "").lower()]
    return first_text(main or headlines)


def _located(content_meta: Element | None) -> str | None:
    located = kid(content_meta, "located")
    if located is None:
        return None
    return _name(located) or attr(located, "literal")


def _provider(item_meta: Element | None) -> str | None:
    provider = kid(item_meta, "provider")
    if provider is None:
        return None
    name = _name(provider) or attr(provider, "literal")
    if name:
        return name
    qcode = attr(provider, "qcode") or attr(provider, "uri")
    return qcode.rsplit(":", 1)[-1] if qcode and "://" not in qcode else qcode


def body_of(content_set: Element | None) -> tuple[str | None, str | None, Element | None]:
    """(body, body_type, nitf element) from the first inline rendition with text."""
    candidates: list[tuple[int, str, str, Element | None]] = []
    for rank, el in enumerate(content_set if content_set is not None else []):
        if el.tag == "inlineXML":
            html_el = kid(el, "html")
            nitf_el = kid(el, "nitf")
            if html_el is not None:
                inner = kid(html_el, "body")
                text = inner_html(inner if inner is not None else html_el)
                candidates.append((rank, text, "text/html", None))
            elif nitf_el is not None:
                candidates.append((rank, nitf.body_html(nitf_el) or "", "text/html", nitf_el))
        elif el.tag == "inlineData":
            value = el.text or ""
            declared = (attr(el, "contenttype") or "").lower()
            html_like = "html" in declared or bool(_HTMLISH.search(value[:2000]))
            candidates.append((rank + 1000, value.strip(), "text/html" if html_like else "text/plain", None))
    for _, text, body_type, nitf_el in sorted(candidates, key=lambda c: c[0]):
        if has_text(text, body_type):
            return text, body_type, nitf_el
    return None, None, None


def _item_class(item_meta: Element | None) -> str:
    return attr(kid(item_meta, "itemClass"), "qcode") or "unknown"


def news_type(item: Element, item_class: str) -> str | None:
    """The ninjs type of a G2 item: from the item class of a ``newsItem`` (None when unknown),
    ``composite`` for a package, ``planning``, ``event`` for a concept item conveying an event;
    None for concept, knowledge and catalog items, which carry vocabulary, not news."""
    if item.tag == "newsItem":
        return ninjs_type(item_class)
    if item.tag == "packageItem":
        return "composite"
    if item.tag == "planningItem":
        return "planning"
    if item.tag == "conceptItem" and (attr(kid(item, "concept", "type"), "qcode") or "").endswith(":event"):
        return "event"
    return None


def item_result(item: Element) -> ItemResult:
    """One G2 item: a text story when it is a ``newsItem`` with a body, a metadata-only story when it
    is a news item of another type, else what it is."""
    guid = attr(item, "guid")
    item_meta = kid(item, "itemMeta")
    item_class = _item_class(item_meta)
    kind = item.tag if item.tag != "newsItem" else f"newsItem {item_class}"
    item_type = news_type(item, item_class)
    if item.tag != "newsItem" and item_type is None:
        return ItemResult(guid, kind)
    body, body_type, nitf_el = body_of(kid(item, "contentSet"))
    pubstatus = parse_pubstatus(attr(kid(item_meta, "pubStatus"), "qcode"), FORMAT)
    declares_text = item_type == "text"
    if body is None and declares_text and pubstatus != CANCELED:
        return ItemResult(guid, kind, declares_text=True)
    content_meta = kid(item, "contentMeta")
    headline = _headline(content_meta) or text_of(kid(item_meta, "title")) or _name(kid(item, "concept"))
    if not guid:
        return without_uri(guid, kind, body, f"{FORMAT} {item.tag} has no guid", headline)
    tags = _tags(item, content_meta)
    if nitf_el is not None:
        for tag in nitf.entity_tags(nitf_el):
            add_tag(tags, tag)
    lang_el = kid(content_meta, "language")
    story = RawStory(
        uri=guid,
        format=FORMAT,
        item_type=item_type or ("text" if body is not None else None),
        version=attr(item, "version"),
        versioncreated=iso_datetime(text_of(kid(item_meta, "versionCreated"))),
        firstcreated=iso_datetime(text_of(kid(item_meta, "firstCreated"))),
        language=attr(lang_el, "tag") or attr(item, "lang"),
        headline=headline,
        body=body,
        body_type=body_type,
        byline=text_of(kid(content_meta, "by")),
        located=_located(content_meta),
        slugline=text_of(kid(content_meta, "slugline")),
        urgency=parse_urgency(text_of(kid(content_meta, "urgency")), FORMAT),
        pubstatus=pubstatus,
        url=None,
        provider=_provider(item_meta),
        tags=tags,
    )
    return ItemResult(guid, kind, story, declares_text)


def stories_from_g2(root: Element) -> list[RawStory]:
    """Stories from a G2 item or a ``newsMessage`` of items (concept, knowledge, catalog items alone:
    ``NotNewsItem``)."""
    if root.tag == "newsMessage":
        items = [el for item_set in kids(root, "itemSet") for el in item_set if el.tag in ITEM_TAGS]
    else:
        items = [root]
    return collect([item_result(item) for item in items], FORMAT)

"""IPTC NewsML 1.2 (``<NewsML>`` envelope with one or more ``NewsItem``) → stories.

The story's ``uri`` is ``urn:newsml:<ProviderId>:<DateId>:<NewsItemId>`` (the
``PublicIdentifier`` without its revision), ``version`` the ``RevisionId``. The body is the
text ``ContentItem`` of the component with role Main/Body when there is one, else the
longest text content item (style sheets, logos, contacts and headline renditions are not
bodies). ``SubjectCode`` and IPTC ``TopicSet`` topics become subject tags.
"""

from __future__ import annotations

from typing import Final

from agents.formats import nitf
from agents.formats._common import (
    add_tag,
    has_text,
    iso_datetime,
    parse_pubstatus,
    parse_urgency,
)
from agents.formats._packet import CANCELED, ItemResult, collect, ninjs_type, without_uri
from agents.formats._xml import Element, attr, descendants, first_text, inner_html, kid, kids, text_of
from schemas.records import AgencyTag, RawStory

FORMAT: Final = "newsml-1.2"
SUBJECTCODE: Final = nitf.SUBJECTCODE

_BODY_ROLES: Final = frozenset({"main", "body", "main text", "maintext", "text"})
_NOT_BODY_ROLES: Final = frozenset(
    {"stylesheet", "headline", "contact", "logo", "caption", "byline", "thumbnail", "preview"}
)
_NITF_RENAME: Final = {"hl1": "h1", "hl2": "h2", "block": "div", "bq": "blockquote"}


def _formal(el: Element | None) -> str | None:
    return attr(el, "FormalName")


def _component_role(component: Element) -> str:
    return (_formal(kid(component, "Role")) or "").strip().lower()


def _content_body(item: Element) -> tuple[str, str, Element | None] | None:
    """(text, body_type, nitf element) of one ContentItem, or None when it is not text."""
    media = (_formal(kid(item, "MediaType")) or "").lower()
    mime = (_formal(kid(item, "MimeType")) or "").lower()
    fmt = (_formal(kid(item, "Format")) or "").lower()
    if "css" in fmt or mime == "text/css":
        return None
    textual = media in {"text", "complexdata", ""} and (
        not mime or mime.startswith("text/") or "xml" in mime or "html" in mime
    )
    if not textual:
        return None
    data = kid(item, "DataContent")
    if data is None:
        return None
    nitf_el = kid(data, "nitf")
    if nitf_el is not None:
        return nitf.body_html(nitf_el) or "", "text/html", nitf_el
    html_el = kid(data, "html")
    if html_el is not None:
        inner = kid(html_el, "body")
        return inner_html(inner if inner is not None else html_el), "text/html", None
    if len(data):  # bare NITF body markup (<p>, <body.content>, …)
        return (
            inner_html(data, rename=_NITF_RENAME, unwrap=frozenset({"body", "body.content", "nitf"})),
            "text/html",
            None,
        )
    text = (data.text or "").strip()
    html_like = "html" in fmt or "html" in mime or "nitf" in fmt or text.lstrip().lower().startswith("<p")
    return text, "text/html" if html_like else "text/plain", None


def _body(news_item: Element) -> tuple[str | None, str | None, Element | None]:
    preferred: list[tuple[str, str, Element | None]] = []
    others: list[tuple[str, str, Element | None]] = []
    for component in descendants(news_item, "NewsComponent"):
        role = _component_role(component)
        if role in _NOT_BODY_ROLES:
            continue
        for content_item in kids(component, "ContentItem"):
            found = _content_body(content_item)
            if found is None or not has_text(found[0], found[1]):
                continue
            (preferred if role in _BODY_ROLES else others).append(found)
    for group in (preferred, others):
        if group:
            return max(group, key=lambda c: len(c[0]))
    return None, None, None


def _uri(news_item: Element) -> tuple[str | None, str | None]:
    ident = kid(news_item, "Identification", "NewsIdentifier")
    provider, date_id, item_id = (text_of(kid(ident, n)) for n in ("ProviderId", "DateId", "NewsItemId"))
    revision = text_of(kid(ident, "RevisionId"))
    if provider and date_id and item_id:
        return f"urn:newsml:{provider}:{date_id}:{item_id}", revision
    public = text_of(kid(ident, "PublicIdentifier"))
    return public, revision


def _tags(news_item: Element, nitf_el: Element | None) -> list[AgencyTag]:
    tags: list[AgencyTag] = []
    for topic in descendants(news_item, "Topic"):
        formal = kid(topic, "FormalName")
        code = text_of(formal)
        scheme = (attr(formal, "Scheme") or "").lower()
        names = [d for d in kids(topic, "Description") if (attr(d, "Variant") or "").lower() == "name"]
        english = [d for d in names if (attr(d, "lang") or "").lower().startswith("en")]
        name = text_of((english or names)[0]) if names else None
        if code and "iptc" in scheme and code.isdigit():
            add_tag(tags, AgencyTag("subject", name=name, uri=SUBJECTCODE + code))
        elif code or name:
            add_tag(tags, AgencyTag("subject", name=name, literal=code))
    for subject_code in descendants(news_item, "SubjectCode"):
        for el in subject_code:
            code = _formal(el)
            if code and code.isdigit():
                add_tag(tags, AgencyTag("subject", uri=SUBJECTCODE + code))
            elif code:
                add_tag(tags, AgencyTag("subject", literal=code))
    if nitf_el is not None:
        for tag in nitf.entity_tags(nitf_el):
            add_tag(tags, tag)
    return tags


def _located(news_item: Element) -> str | None:
    for location in descendants(news_item, "Location"):
        for prop in kids(location, "Property"):
            if (_formal(prop) or "").lower() == "city":
                return attr(prop, "Value")
    for meta in descendants(news_item, "DescriptiveMetadata"):
        for prop in kids(meta, "Property"):
            if (_formal(prop) or "").lower() == "city":
                return attr(prop, "Value")
    return None


def _first_line(news_item: Element, name: str) -> str | None:
    return first_text(descendants(news_item, name))


def _provider(news_item: Element) -> str | None:
    for path in (("Provider", "Party"), ("Source", "Party")):
        for admin in descendants(news_item, "AdministrativeMetadata"):
            name = _formal(kid(admin, *path))
            if name:
                return name
    return text_of(kid(news_item, "Identification", "NewsIdentifier", "ProviderId"))


def _media_type(news_item: Element) -> str | None:
    """The ninjs type of a NewsItem without a text body, from its content items' media types
    (``Photo`` → picture, ``Video``, ``Audio``, ``Graphic``); ``text`` when it holds a text item
    (whose text is then missing); None when they say nothing."""
    types: list[str] = []
    for component in descendants(news_item, "NewsComponent"):
        if _component_role(component) in _NOT_BODY_ROLES:  # a photo's caption is not a text item
            continue
        for content_item in kids(component, "ContentItem"):
            found = ninjs_type(_formal(kid(content_item, "MediaType")))
            if found is not None:
                types.append(found)
    return "text" if "text" in types else next(iter(types), None)


def item_result(news_item: Element, envelope: Element | None) -> ItemResult:
    """One NewsItem: a story with its text body, else a metadata-only story of its media type."""
    uri, revision = _uri(news_item)
    body, body_type, nitf_el = _body(news_item)
    kind = f"NewsItem {(_formal(kid(news_item, 'NewsManagement', 'NewsItemType')) or 'News').strip()}"
    item_type = "text" if body is not None else _media_type(news_item)
    management = kid(news_item, "NewsManagement")
    pubstatus = parse_pubstatus(_formal(kid(management, "Status")), FORMAT)
    if body is None and item_type == "text" and pubstatus != CANCELED:
        return ItemResult(uri, kind, declares_text=True)
    if not uri:
        missing = f"{FORMAT} NewsItem has no NewsIdentifier"
        return without_uri(uri, kind, body, missing, _first_line(news_item, "HeadLine"))
    language = next((_formal(el) for el in descendants(news_item, "Language") if _formal(el)), None)
    urgency = _formal(kid(management, "Urgency")) or _formal(kid(envelope, "Priority"))
    story = RawStory(
        uri=uri,
        format=FORMAT,
        item_type=item_type,
        version=revision,
        versioncreated=iso_datetime(text_of(kid(management, "ThisRevisionCreated"))),
        firstcreated=iso_datetime(text_of(kid(management, "FirstCreated"))),
        language=language or attr(news_item, "lang"),
        headline=_first_line(news_item, "HeadLine"),
        body=body,
        body_type=body_type,
        byline=_first_line(news_item, "ByLine"),
        located=_located(news_item),
        slugline=_first_line(news_item, "SlugLine") or text_of(kid(news_item, "Identification", "NameLabel")),
        urgency=parse_urgency(urgency, FORMAT),
        pubstatus=pubstatus,
        url=None,
        provider=_provider(news_item),
        tags=_tags(news_item, nitf_el),
    )
    return ItemResult(uri, kind, story, item_type == "text")


def stories_from_newsml1(root: Element) -> list[RawStory]:
    """Stories from a ``<NewsML>`` root: one per NewsItem (text, or metadata-only for media)."""
    envelope = kid(root, "NewsEnvelope")
    return collect([item_result(item, envelope) for item in kids(root, "NewsItem")], FORMAT)

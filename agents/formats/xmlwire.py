"""XML wire payloads: parse safely once, then dispatch on the root element."""

from __future__ import annotations

from agents.formats import newsml1, newsml_g2, nitf
from agents.formats._common import fail, quote
from agents.formats._xml import parse_xml_bytes
from schemas.records import RawStory

#: Root element → format family handled here.
ROOTS = {
    "newsItem": newsml_g2.FORMAT,
    "newsMessage": newsml_g2.FORMAT,
    "nitf": nitf.FORMAT,
    "NewsML": newsml1.FORMAT,
    # NewsML-G2 items without text: packages and planning items pass as metadata-only items, concept,
    # knowledge and catalog items are NotNewsItem (not UnknownFormat: they are G2, only not news).
    "packageItem": newsml_g2.FORMAT,
    "conceptItem": newsml_g2.FORMAT,
    "knowledgeItem": newsml_g2.FORMAT,
    "planningItem": newsml_g2.FORMAT,
    "catalogItem": newsml_g2.FORMAT,
}


def format_of_root(tag: str) -> str | None:
    """The format name for an XML root element name, or None."""
    return ROOTS.get(tag)


def parse_xml(payload: bytes) -> list[RawStory]:
    """Parse an XML wire payload (NewsML-G2, NITF or NewsML 1.2) into stories."""
    root = parse_xml_bytes(payload, "XML")
    fmt = format_of_root(root.tag)
    if fmt == newsml_g2.FORMAT:
        return newsml_g2.stories_from_g2(root)
    if fmt == nitf.FORMAT:
        return [nitf.story_from_nitf(root)]
    if fmt == newsml1.FORMAT:
        return newsml1.stories_from_newsml1(root)
    raise fail(
        "UnknownFormat",
        f"XML root element {quote(root.tag, 40)} is not NewsML-G2 (newsItem/newsMessage), NITF or NewsML 1.2",
    )

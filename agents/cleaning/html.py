"""Markup to text: whole pages through trafilatura, fragments through lxml.

No main-content extraction is written here: a whole page goes to trafilatura. A fragment
(an article body in HTML) is already the article, so it is only turned into text with its
paragraph structure, minus code, embeds and the elements that are never article text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lxml_html

from agents.cleaning.repair import has_markup
from schemas.records import Removal

# A whole document, as opposed to a fragment.
_PAGE_MARK = re.compile(r"<(?:!doctype\s|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
# Markup worth parsing: an element that structures text, or a closing tag of any element.

# Elements whose content is never article text.
_DROP = frozenset(
    (
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "iframe",
        "object",
        "embed",
        "form",
        "button",
        "input",
        "select",
        "textarea",
        "map",
        "audio",
        "video",
        "picture",
        "source",
        "track",
        "head",
        "title",
        "meta",
        "link",
    )
)
# Elements whose text is not the article's, and is listed in the audit.
_AUDIT = {
    "nav": "html_boilerplate",
    "aside": "html_boilerplate",
    "footer": "html_boilerplate",
    "menu": "html_boilerplate",
    "figcaption": "caption_credit",
    "dialog": "html_boilerplate",
}
# Elements that start and end a paragraph.
_BLOCK = frozenset(
    (
        "address",
        "article",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    )
)
_CELL = frozenset(("td", "th"))
_MAX_AUDIT = 2000
_SHORT_EXTRACT = 500  # below this, the fast extraction probably missed the article


@dataclass(slots=True)
class Markup:
    """Text taken out of markup, and what was left out of it."""

    text: str
    removed: list[Removal] = field(default_factory=list)


def looks_like_page(body: str) -> bool:
    """Whether markup is a whole web page rather than a fragment."""
    return _PAGE_MARK.search(body, 0, 65536) is not None


def looks_like_markup(body: str) -> bool:
    """Whether a body of unknown type contains HTML: a complete HTML tag or comment."""
    return has_markup(body)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_AUDIT else text[: _MAX_AUDIT - 1] + "\u2026"


def fragment_to_text(body: str) -> Markup:
    """Turn an HTML fragment into text: blocks become blank-line-separated paragraphs,
    ``<br>`` a line break; code, embeds and comments disappear; captions and asides go to
    the audit. Falls back to the markup-stripped source if lxml cannot parse it.
    """
    try:
        root = lxml_html.fragment_fromstring(body, create_parent="div")
    except Exception:  # noqa: BLE001 - lxml raises several types on broken input
        return Markup(body)
    removed: list[Removal] = []
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag
        if not isinstance(tag, str):  # comment or processing instruction
            if event == "start" and element.tail:
                parts.append(element.tail)
            continue
        tag = tag.lower()
        if event == "start":
            if tag in _DROP or tag in _AUDIT:
                if tag in _AUDIT:
                    dropped = _clip(element.text_content())
                    if dropped:
                        removed.append(Removal(dropped, _AUDIT[tag]))
                if tag in _BLOCK or tag in _AUDIT:
                    parts.append("\n\n")
                walker.skip_subtree()
                if element.tail:
                    parts.append(element.tail)
                continue
            if tag in _BLOCK:
                parts.append("\n\n")
            elif tag == "br":
                parts.append("\n")
            elif tag in _CELL:
                parts.append(" ")
            if element.text:
                parts.append(element.text)
        else:
            if tag in _DROP or tag in _AUDIT:
                continue
            if tag in _BLOCK:
                parts.append("\n\n")
            if element is not root and element.tail:
                parts.append(element.tail)
    return Markup("".join(parts), removed)


def _extract(body: str, fast: bool) -> str:
    import trafilatura  # imported lazily: ~0.3 s

    try:
        text = trafilatura.extract(body, fast=fast, include_comments=False, include_tables=True, output_format="txt")
    except Exception:  # noqa: BLE001 - a third-party parser must never fail the stage
        return ""
    return text or ""


def page_to_text(body: str) -> Markup | None:
    """Main content of a whole page, with trafilatura; ``None`` when it finds none.

    trafilatura runs in its fast mode (no fallback extractors); only when that finds less
    than ``_SHORT_EXTRACT`` characters does it run again with its fallbacks.
    """
    text = _extract(body, fast=True)
    if len(text) < _SHORT_EXTRACT:
        slow = _extract(body, fast=False)
        if len(slow) > len(text):
            text = slow
    if not text:
        return None
    # trafilatura puts one paragraph per line.
    text = text.replace("\n", "\n\n")
    chrome = max(0, len(body) - len(text))
    note = f"[{chrome} characters of page markup and chrome outside the main content]"
    return Markup(text, [Removal(note, "html_boilerplate")])

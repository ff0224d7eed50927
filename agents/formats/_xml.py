"""Safe XML reading for the wire parsers, and small element helpers.

Parsing goes through ``defusedxml`` (expat): entity declarations and external references
are refused (``UnsafeXml``), size is bounded by :data:`MAX_PAYLOAD_BYTES`, nesting depth by
:data:`MAX_DEPTH` and element count by :data:`MAX_ELEMENTS`. The bytes are decoded here,
not by expat: BOM, then the XML declaration's ``encoding`` (ISO-8859-1 read as its
superset Windows-1252, but UTF-8 when the bytes are valid UTF-8), else UTF-8, else
Windows-1252. HTML named entities such as ``&nbsp;``, which agency XML often carries
without a DTD, become numeric references. Namespaces are dropped
from element and attribute names after parsing (``xml:lang`` becomes ``lang``).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET  # Element and TreeBuilder only; parsing is defused
from collections.abc import Iterable, Iterator
from html.entities import name2codepoint
from typing import Final

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from agents.formats._common import check_size, fail, looks_utf8, normalise_charset, quote, squash
from schemas.records import ErrorType

Element = ET.Element

MAX_DEPTH: Final = 200
MAX_ELEMENTS: Final = 200_000

_DECL = re.compile(r"""^\s*<\?xml[^>]*?\?>""")
_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES: Final = frozenset({"amp", "lt", "gt", "quot", "apos"})


class _BoundedBuilder(ET.TreeBuilder):
    """A tree builder that refuses documents nested too deep or with too many elements."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.count = 0

    def start(self, tag: str, attrs: dict[str, str], /) -> Element:
        self.depth += 1
        self.count += 1
        if self.depth > MAX_DEPTH:
            raise fail("XmlTooDeep", f"XML nesting deeper than {MAX_DEPTH} elements")
        if self.count > MAX_ELEMENTS:
            raise fail("XmlTooLarge", f"XML has more than {MAX_ELEMENTS} elements")
        return super().start(tag, attrs)

    def end(self, tag: str, /) -> Element:
        self.depth -= 1
        return super().end(tag)


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    code = name2codepoint.get(name)
    return f"&#{code};" if code is not None else match.group(0)


def decode_xml(payload: bytes, fmt: str) -> str:
    """Decode XML bytes to text (see the module docstring for the rules)."""
    if payload.startswith(b"\xef\xbb\xbf"):
        data, charset, declared = payload[3:], "utf-8", True
    elif payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        data, charset, declared = payload, "utf-16", True
    else:
        data = payload
        match = _DECL_ENCODING.match(payload[:300])
        name = match.group(1).decode("ascii") if match else None
        charset = normalise_charset(name) or "utf-8"
        declared = match is not None
        if charset in {"utf8", "utf-8"}:
            charset = "utf-8"
        elif charset == "cp1252" and looks_utf8(data):
            charset = "utf-8"  # a Latin-1 declaration over UTF-8 bytes: trust the bytes
    try:
        return data.decode(charset)
    except LookupError:
        raise fail("UnknownEncoding", f"{fmt} declares an unknown encoding {quote(charset)}") from None
    except UnicodeDecodeError as exc:
        if charset == "cp1252":  # 0x81/0x8D/0x8F/0x90/0x9D: not Windows-1252, so real Latin-1
            return data.decode("latin-1")
        if charset == "utf-8" and not declared:
            return data.decode("cp1252", errors="replace")
        error_type: ErrorType = "InvalidUtf8" if charset == "utf-8" else "InvalidEncoding"
        raise fail(
            error_type,
            f"{fmt} payload is not valid {charset}: {exc.reason} at byte offset {exc.start}",
        ) from None


def parse_xml_bytes(payload: bytes, fmt: str = "XML") -> Element:
    """Parse ``payload`` safely and return its root with namespaces stripped."""
    check_size(payload, fmt)
    text = _DECL.sub("", decode_xml(payload, fmt), count=1)
    if "&" in text:
        text = _ENTITY.sub(_entity, text)
    parser = DefusedXMLParser(target=_BoundedBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(text)
        root: Element = parser.close()
    except ET.ParseError as exc:
        raise fail("InvalidXml", f"{fmt} payload is not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:
        raise fail("UnsafeXml", f"{fmt} payload refused: {type(exc).__name__} {quote(str(exc))}") from None
    _strip_namespaces(root)
    return root


def _strip_namespaces(root: Element) -> None:
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag.startswith("{"):
            el.tag = tag.rsplit("}", 1)[1]
        if any(k.startswith("{") for k in el.attrib):
            el.attrib = {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}


# --------------------------------------------------------------------------- navigation


def kids(el: Element | None, name: str) -> list[Element]:
    """Direct children named ``name``."""
    return [c for c in el if c.tag == name] if el is not None else []


def kid(el: Element | None, *path: str) -> Element | None:
    """The first element along ``path`` of child names, or None."""
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if c.tag == name), None)
    return el


def first(el: Element | None, name: str) -> Element | None:
    """The first descendant (or ``el`` itself) named ``name``."""
    if el is None:
        return None
    return next(el.iter(name), None)


def descendants(el: Element | None, name: str) -> Iterator[Element]:
    """All descendants named ``name``."""
    if el is not None:
        yield from el.iter(name)


def text_of(el: Element | None) -> str | None:
    """All text inside ``el``, whitespace collapsed; None when empty."""
    if el is None:
        return None
    return squash("".join(el.itertext()))


def first_text(elements: Iterable[Element]) -> str | None:
    """The text (as :func:`text_of` gives it) of the first of ``elements`` that has any; None when none has."""
    for el in elements:
        text = text_of(el)
        if text:
            return text
    return None


def attr(el: Element | None, name: str) -> str | None:
    """An attribute's stripped value, None when absent or blank."""
    if el is None:
        return None
    value = el.get(name)
    return value.strip() or None if value is not None else None


# --------------------------------------------------------------------------- serialisation


def inner_html(
    el: Element,
    *,
    rename: dict[str, str] | None = None,
    unwrap: frozenset[str] = frozenset(),
    drop: frozenset[str] = frozenset(),
) -> str:
    """Serialise the content of ``el`` (not ``el`` itself) as an HTML fragment.

    ``rename`` maps element names (``hl2`` → ``h2``); elements in ``unwrap`` are replaced by
    their content; elements in ``drop`` disappear with their content (their tail stays).
    """
    out: list[str] = []
    _serialise_children(el, out, rename or {}, unwrap, drop)
    return "".join(out).strip()


_VOID: Final = frozenset({"br", "hr", "img", "col", "wbr"})


def _serialise_children(
    el: Element, out: list[str], rename: dict[str, str], unwrap: frozenset[str], drop: frozenset[str]
) -> None:
    if el.text:
        out.append(html.escape(el.text, quote=False))
    for child in el:
        if isinstance(child.tag, str):
            _serialise(child, out, rename, unwrap, drop)
        if child.tail:
            out.append(html.escape(child.tail, quote=False))


def _serialise(
    el: Element, out: list[str], rename: dict[str, str], unwrap: frozenset[str], drop: frozenset[str]
) -> None:
    tag = el.tag
    if tag in drop:
        return
    if tag in unwrap:
        _serialise_children(el, out, rename, unwrap, drop)
        return
    name = rename.get(tag, tag)
    attrs = "".join(
        f' {k}="{html.escape(v)}"'
        for k, v in el.attrib.items()
        if k in {"href", "src", "alt", "title", "class", "colspan", "rowspan"}
    )
    if name in _VOID and not len(el) and not el.text:
        out.append(f"<{name}{attrs}>")
        return
    out.append(f"<{name}{attrs}>")
    _serialise_children(el, out, rename, unwrap, drop)
    out.append(f"</{name}>")

"""Wire formats → :class:`RawStory`: the validate stage's parsers.

:func:`parse_payload` takes the raw bytes of one ``stories.raw`` message and the value of its
``content-type`` header (if any), picks a parser (see :data:`CONTENT_TYPES`, else sniffing)
and returns one story per text item. Anything unusable raises
``StageError("validate", <ErrorType>, <message>)``; see ``docs/formats.md``.
"""

from __future__ import annotations

import re
from typing import Final

from agents.formats import anpa, ninjs, xmlwire
from agents.formats._common import fail, quote
from schemas.records import RawStory

#: Accepted ``content-type`` header values (lower case, parameters such as ``charset``
#: are ignored except by the ANPA / 7901 parser) → format family.
CONTENT_TYPES: Final[dict[str, str]] = {
    # ninjs JSON
    "application/json": "ninjs",
    "text/json": "ninjs",
    "application/ninjs+json": "ninjs",
    "application/vnd.iptc.ninjs+json": "ninjs",
    # XML: the root element picks the parser (newsItem/newsMessage/nitf/NewsML)
    "application/xml": "xml",
    "text/xml": "xml",
    "application/vnd.iptc.g2.newsitem+xml": "xml",
    "application/vnd.iptc.g2.newsmessage+xml": "xml",
    "application/vnd.iptc.g2.packageitem+xml": "xml",
    "application/vnd.iptc.newsml+xml": "xml",
    "application/newsml+xml": "xml",
    "application/nitf+xml": "xml",
    "application/vnd.iptc.nitf+xml": "xml",
    "text/vnd.iptc.nitf": "xml",
    # ANPA-1312 and IPTC 7901 (control-character framed text)
    "text/vnd.iptc.anpa": "anpa",
    "application/vnd.iptc.anpa": "anpa",
    "text/vnd.iptc.7901": "iptc7901",
    "application/vnd.iptc.7901": "iptc7901",
}

#: Header values that say nothing useful: the payload is sniffed.
SNIFF_CONTENT_TYPES: Final = frozenset({"", "application/octet-stream", "text/plain", "binary/octet-stream"})

#: Every value :func:`format_label` returns (a bounded set, usable as a metric label).
FORMAT_LABELS: Final = frozenset(
    {"ninjs", "newsml-g2", "nitf", "newsml-1.2", "anpa-1312", "iptc-7901", "xml", "unknown"}
)

_BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_PROLOG = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", re.DOTALL)
_CONTROL_FRAMING: Final = frozenset(b"\x01\x16\x02")


def _media_type(content_type: str) -> tuple[str, str | None]:
    """``"Text/X; charset=latin-1"`` → ``("text/x", "latin-1")``."""
    main, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return main.strip().lower(), charset


def sniff(payload: bytes) -> str:
    """The format family of ``payload`` judged from its first bytes, or ``"unknown"``."""
    head = payload[:64]
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
            break
    if any(b in _CONTROL_FRAMING for b in head[:8]):
        return "control"
    stripped = head.lstrip(b" \t\r\n\x00")
    if not stripped:
        return "unknown"
    first = stripped[:1]
    if first in (b"{", b"["):
        return "ninjs"
    if first == b"<":
        return "xml"
    return "unknown"


def format_label(payload: bytes, content_type: str | None = None) -> str:
    """A cheap guess of the payload's format for dead-letter records and metric labels.

    Looks only at the header and the first bytes (the XML root element name); never raises.
    Returns one of :data:`FORMAT_LABELS`.
    """
    family = "unknown"
    if content_type is not None:
        media, _ = _media_type(content_type)
        family = CONTENT_TYPES.get(media, sniff(payload) if media in SNIFF_CONTENT_TYPES else "unknown")
    else:
        family = sniff(payload)
    if family == "anpa":
        return "anpa-1312"
    if family == "iptc7901":
        return "iptc-7901"
    if family == "control":
        return "anpa-1312" if payload.lstrip(b" \r\n").startswith(b"\x16") else "iptc-7901"
    if family == "xml":
        head = payload[:4096]
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            head = head.decode("utf-16", "replace").encode("utf-8", "replace")
        match = _ROOT.search(_PROLOG.sub(b"", head))
        root = match.group(2).decode("ascii", "replace") if match else ""
        fmt = xmlwire.format_of_root(root)
        return fmt if fmt is not None else "xml"
    return family if family in FORMAT_LABELS else "unknown"


def parse_payload(payload: bytes, content_type: str | None = None) -> list[RawStory]:
    """Parse one raw message into its stories (one, or several for a NewsML packet).

    ``content_type`` is the Kafka ``content-type`` header; when absent (or generic, see
    :data:`SNIFF_CONTENT_TYPES`) the format is sniffed from the first bytes. Raises
    ``StageError("validate", ...)`` for anything unusable; never returns an empty list.
    """
    charset: str | None = None
    family = "unknown"
    if content_type is not None:
        media, charset = _media_type(content_type)
        if media in SNIFF_CONTENT_TYPES:
            family = sniff(payload)
        elif media in CONTENT_TYPES:
            family = CONTENT_TYPES[media]
        else:
            raise fail("UnknownFormat", f"content-type {quote(content_type)} is not an accepted wire format")
    else:
        family = sniff(payload)
    if family == "ninjs":
        return ninjs.parse_ninjs(payload)
    if family == "xml":
        return xmlwire.parse_xml(payload)
    if family == "control":
        return anpa.parse_anpa(payload, charset=charset)
    if family == "anpa":
        return anpa.parse_anpa(payload, charset=charset, variant=anpa.ANPA)
    if family == "iptc7901":
        return anpa.parse_anpa(payload, charset=charset, variant=anpa.IPTC7901)
    if not payload.strip():
        raise fail("EmptyPayload", "payload is empty")
    raise fail(
        "UnknownFormat",
        f"cannot tell the format of a {len(payload)}-byte payload starting "
        f"{quote(payload[:40].decode('utf-8', 'replace').strip(), 24)}",
    )


__all__ = ["CONTENT_TYPES", "FORMAT_LABELS", "SNIFF_CONTENT_TYPES", "format_label", "parse_payload", "sniff"]

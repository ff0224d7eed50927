"""ANPA-1312 and IPTC 7901 (control-character framed wire text) → :class:`RawStory`.

Both frame a story as ``SOH`` header ``STX`` text ``ETX`` trailer (``EOT``). Text is decoded
with the charset from the ``content-type`` header when given, else UTF-8 when valid, else
Windows-1252 (a superset of Latin-1). Control characters inside the text (table markers,
``DEL`` padding…) are removed; paragraphs are separated by a blank line.

Neither format carries a globally unique id, so the ``uri`` is built from the header:
ANPA ``urn:wirestream:anpa-1312:<source>:<yy-mm-dd>:<keyword>`` (a write-through keeps its
keyword; ``version`` is the lead number of ``1stLd-Writethru``, else ``0``), IPTC 7901
``urn:wirestream:iptc-7901:<source>:<date>:<message id>``; a content hash when the header
or trailer is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from agents.formats._common import (
    add_tag,
    check_size,
    decode_legacy,
    fail,
    parse_urgency,
    quote,
    require_body,
)
from agents.formats.nitf import content_uri
from schemas.records import AgencyTag, RawStory

ANPA: Final = "anpa-1312"
IPTC7901: Final = "iptc-7901"

SOH, STX, ETX, EOT = "\x01", "\x02", "\x03", "\x04"

#: ANPA priority codes → urgency (1 = flash … 6 = deferred).
ANPA_PRIORITY: Final = {"f": 1, "b": 2, "u": 3, "s": 4, "r": 5, "d": 6, "a": 6, "w": 6}

_ANPA_HEADER = re.compile(r"^(?P<pri>[A-Za-z0-9])\s(?P<cat>[A-Za-z0-9])[\x11-\x14]{0,2}\s*(?P<rest>.*)$")
_ANPA_TRAILER = re.compile(
    r"(?P<src>[A-Z][A-Za-z]*)-\w+-(?P<m>\d\d)-(?P<d>\d\d)-(?P<y>\d\d)\s+(?P<hh>\d\d)(?P<mi>\d\d)\s*GMT"
)
_7901_TRAILER = re.compile(r"(?P<d>\d\d)(?P<hh>\d\d)(?P<mi>\d\d)\s+(?:GMT\s+)?(?P<mon>[^\W\d_]{3})\s+(?P<y>\d\d)")
_LEAD = re.compile(r"^(\d+)(?:st|nd|rd|th)\s*Ld", re.IGNORECASE)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORDCOUNT_SUFFIX = re.compile(r",\s*\d+\s*$")
_MONTHS: Final = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
} | {
    "mrz": 3,
    "mär": 3,
    "mai": 5,
    "okt": 10,
    "dez": 12,  # dpa's German service
}


@dataclass(slots=True)
class _Frame:
    header: list[str]
    text: str
    trailer: str


@dataclass(slots=True)
class _Head:
    headline: str | None = None
    byline: str | None = None
    slug: str | None = None
    notes: list[str] = field(default_factory=list)


def is_anpa_header(line: str) -> bool:
    """True when ``line`` looks like an ANPA-1312 header (``r a<DC3><DC1> KEYWORD … mm-dd nnnn``)."""
    return bool(_ANPA_HEADER.match(line)) and bool(re.search(r"[\x11-\x14]", line[:6]))


def _frame(text: str, fmt: str) -> _Frame:
    soh = text.find(SOH)
    stx = text.find(STX, max(soh, 0))
    if soh < 0 and stx < 0:
        raise fail("InvalidFraming", f"{fmt} payload has neither SOH nor STX")
    if stx < 0:
        raise fail("InvalidFraming", f"{fmt} payload has no STX (start of text)")
    etx = text.find(ETX, stx)
    end = etx if etx >= 0 else len(text)
    header = [line.strip(" \t\r\n\x16") for line in text[soh + 1 : stx].splitlines()]
    trailer = _CONTROLS.sub(" ", text[end + 1 :]) if etx >= 0 else ""
    return _Frame([h for h in header if h.strip()], text[stx + 1 : end], trailer)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


#: C0 controls and DEL → space, except tab / newlines, and the ANPA table-row mark (BS) → tab.
_CONTROL_TABLE: Final = {c: " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]} | {0x08: "\t"}


def _clean_line(line: str) -> str:
    line = line.translate(_CONTROL_TABLE).strip().lstrip("^").strip()
    return line.rstrip("<=").rstrip()


def paragraphs(lines: list[str]) -> str:
    """Join wire lines into paragraphs separated by a blank line.

    A line that starts with a tab, ``^`` or a table marker, or follows a line that ended with
    an ANPA end-of-line mark (``<`` / ``=``), or follows a blank line, starts a paragraph;
    other lines continue the current one (hard-wrapped text).
    """
    out: list[list[str]] = []
    hard_break = True
    for raw in lines:
        line = raw.translate(_CONTROL_TABLE)
        text = line.strip().lstrip("^").strip().rstrip("<=").rstrip()
        if not text:
            hard_break = True
            continue
        if hard_break or line[:1] in {"\t", "^"} or line.startswith("   ") or not out:
            out.append([text])
        else:
            out[-1].append(text)
        hard_break = line.rstrip().endswith(("<", "="))
    return "\n\n".join(" ".join(" ".join(p).split()) for p in out)


def _story_uri(fmt: str, source: str, day: str | None, key: str | None, headline: str | None, body: str) -> str:
    """``urn:wirestream:<format>:<source>:<day>:<key>`` when the frame names its day and key, else a uri
    from the content; raises ``EmptyBody`` when ``body`` has no text."""
    uri = f"urn:wirestream:{fmt}:{source}:{day}:{key}" if key and day else content_uri(fmt, headline, body)
    require_body(body, fmt, uri)
    return uri


# --------------------------------------------------------------------------- ANPA-1312


_NOTE_PREFIXES: Final = (
    "Eds:",
    "(Eds",
    "AP Photo",
    "AP Video",
    "AP Graphic",
    "With AP Photo",
    "EDITOR'S NOTE",
)


def _is_caret_line(line: str) -> bool:
    return line.lstrip(" ").startswith("^")


def _anpa_head(lines: list[str]) -> tuple[_Head, int]:
    """Read the ``^``-prefixed lines that open an AP ANPA story: slug, headline, notes, byline.

    When the ``^`` lines are followed by tab-indented paragraphs they are all header
    (headline, notes, byline and its title line); otherwise (tables, lists) only the
    headline and the editor's notes right after it are.
    """
    head = _Head()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and _is_caret_line(lines[i]):
        head.slug = _WORDCOUNT_SUFFIX.sub("", _clean_line(lines[i]).split("< ^")[-1].lstrip("^")).strip() or None
        i += 1
    run_end = i
    while run_end < len(lines) and _is_caret_line(lines[run_end]):
        run_end += 1
    prose_follows = run_end < len(lines) and lines[run_end].startswith("\t")
    while i < run_end:
        text = _clean_line(lines[i])
        if text.startswith(_NOTE_PREFIXES):
            head.notes.append(text)
        elif text.startswith("By ") and head.byline is None and prose_follows:
            head.byline = text
            if i + 1 < run_end and lines[i + 1].rstrip().endswith("="):
                i += 1  # the byline's title line ("Associated Press")
        elif head.headline is None and text:
            head.headline = text
        elif prose_follows:
            head.notes.append(text)
        else:
            break
        i += 1
    return head, i


def _anpa(frame: _Frame) -> RawStory:
    match = next((m for h in frame.header if is_anpa_header(h) and (m := _ANPA_HEADER.match(h))), None)
    if match is None:
        raise fail("InvalidFraming", f"{ANPA} payload has no ANPA header line after SOH")
    tokens = _CONTROLS.sub(" ", match.group("rest")).split()
    keyword = tokens[0] if tokens else None
    date_at = next((i for i, t in enumerate(tokens) if re.fullmatch(r"\d\d-\d\d", t)), None)
    take = tokens[1:date_at] if date_at is not None else tokens[1:]
    lead = next((lm.group(1) for t in take if (lm := _LEAD.match(t))), None)
    trailer = _ANPA_TRAILER.search(frame.trailer)
    lines = _lines(frame.text)
    head, start = _anpa_head(lines)
    body = paragraphs(lines[start:])
    source = trailer.group("src") if trailer else None
    versioncreated = None
    day = tokens[date_at] if date_at is not None else None
    if trailer:
        y, mo, d = trailer.group("y"), trailer.group("m"), trailer.group("d")
        versioncreated = f"20{y}-{mo}-{d}T{trailer.group('hh')}:{trailer.group('mi')}:00Z"
        day = f"20{y}-{mo}-{d}"
    uri = _story_uri(ANPA, source or "anpa", day, keyword, head.headline, body)
    tags: list[AgencyTag] = []
    add_tag(tags, AgencyTag("subject", literal=f"anpa-category:{match.group('cat').lower()}"))
    return RawStory(
        uri=uri,
        format=ANPA,
        item_type="text",
        version=lead or "0",
        versioncreated=versioncreated,
        headline=head.headline,
        body=body,
        body_type="text/plain",
        byline=head.byline,
        slugline=head.slug or keyword,
        urgency=ANPA_PRIORITY.get(match.group("pri").lower()),
        provider=source,
        tags=tags,
    )


# --------------------------------------------------------------------------- IPTC 7901


def _7901_head(lines: list[str]) -> tuple[_Head, int]:
    """The headline block: up to the first line that ends with ``=`` (within 8 lines)."""
    head = _Head()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = next((i for i in range(start, min(start + 8, len(lines))) if lines[i].rstrip().endswith("=")), None)
    if end is None:
        head.headline = _clean_line(lines[start]) if start < len(lines) else None
        return head, start + 1
    block = [_clean_line(line) for line in lines[start : end + 1] if _clean_line(line)]
    rest = []
    for text in block:
        if text.startswith("By ") and head.byline is None:
            head.byline = text
        else:
            rest.append(text)
    if rest:
        head.headline = rest[-1]
        head.notes = rest[:-1]
    return head, end + 1


def _7901(frame: _Frame) -> RawStory:
    if not frame.header:
        raise fail("InvalidFraming", f"{IPTC7901} payload has no header line after SOH")
    tokens = _CONTROLS.sub(" ", frame.header[0]).split()
    msg_id = tokens[0] if tokens else None
    priority = tokens[1] if len(tokens) > 1 and re.fullmatch(r"[0-9]", tokens[1]) else None
    category = tokens[2] if len(tokens) > 2 and tokens[2].isalpha() else None
    source = next((t for t in reversed(tokens[4:]) if re.fullmatch(r"[a-z][a-z-]*", t)), None)
    slug = next((_CONTROLS.sub(" ", h).strip().rstrip("/") for h in frame.header[1:] if h.strip()), None)
    lines = _lines(frame.text)
    head, start = _7901_head(lines)
    body = paragraphs(lines[start:])
    trailer = _7901_TRAILER.search(frame.trailer)
    versioncreated = None
    day = None
    if trailer and trailer.group("mon").lower() in _MONTHS:
        month = _MONTHS[trailer.group("mon").lower()]
        day = f"20{trailer.group('y')}-{month:02d}-{trailer.group('d')}"
        versioncreated = f"{day}T{trailer.group('hh')}:{trailer.group('mi')}:00Z"
    uri = _story_uri(IPTC7901, source or "wire", day, msg_id, head.headline, body)
    tags: list[AgencyTag] = []
    if category:
        add_tag(tags, AgencyTag("subject", literal=f"iptc7901-category:{category.lower()}"))
    urgency = int(priority) if priority and 1 <= int(priority) <= 9 else None
    return RawStory(
        uri=uri,
        format=IPTC7901,
        item_type="text",
        version=None,
        versioncreated=versioncreated,
        headline=head.headline,
        body=body,
        body_type="text/plain",
        byline=head.byline,
        slugline=slug,
        urgency=parse_urgency(urgency, IPTC7901),
        provider=source,
        tags=tags,
    )


def parse_anpa(payload: bytes, *, charset: str | None = None, variant: str | None = None) -> list[RawStory]:
    """Parse one ANPA-1312 or IPTC 7901 story; ``variant`` is sniffed from the header when None."""
    check_size(payload, variant or ANPA)
    text = decode_legacy(payload, charset)
    if variant is None:
        frame = _frame(text, "ANPA/IPTC 7901")
        variant = ANPA if any(is_anpa_header(h) for h in frame.header) else IPTC7901
    else:
        frame = _frame(text, variant)
    if variant == ANPA:
        return [_anpa(frame)]
    if variant == IPTC7901:
        return [_7901(frame)]
    raise fail("UnknownFormat", f"unknown control-framed variant {quote(variant)}")

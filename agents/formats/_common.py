"""Helpers shared by the format parsers: errors, bounded quoting, text decoding, tags."""

from __future__ import annotations

import html
import re
from typing import Final, Literal

from agents.failures.errors import StageError
from schemas.records import AgencyTag, ErrorType

#: Largest payload any parser accepts (a wire story is a few kB; a packet a few 100 kB).
MAX_PAYLOAD_BYTES: Final = 8 * 1024 * 1024

TagKind = Literal["subject", "person", "organisation", "place"]

_QUOTE_LIMIT: Final = 80
_WS = re.compile(r"\s+")


def fail(error_type: ErrorType, message: str) -> StageError:
    """A validate-stage error; ``error_type`` must be a fixed CamelCase name."""
    return StageError("validate", error_type, message)


def quote(value: object, limit: int = _QUOTE_LIMIT) -> str:
    """``repr`` of at most ``limit`` characters of ``value`` (for error messages)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def check_size(payload: bytes, fmt: str) -> None:
    """Refuse payloads larger than :data:`MAX_PAYLOAD_BYTES`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise fail(
            "PayloadTooLarge",
            f"{fmt} payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes",
        )


def decode_utf8(payload: bytes, fmt: str) -> str:
    """Decode strict UTF-8 (a leading BOM is dropped) or raise ``InvalidUtf8`` with the offset."""
    if payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = payload[exc.start : exc.start + 4]
        raise fail(
            "InvalidUtf8",
            f"{fmt} payload is not valid UTF-8: {exc.reason} at byte offset {exc.start} (bytes {bad.hex(' ')})",
        ) from None


def decode_legacy(data: bytes, declared: str | None = None) -> str:
    """Decode text from a legacy wire: the declared charset, else UTF-8, else Windows-1252.

    ISO-8859-1 / Latin-1 declarations are read as Windows-1252 (a superset that real feeds
    actually send: curly quotes and dashes live in 0x80-0x9F). Unknown charsets fall back
    to the UTF-8 / Windows-1252 guess.
    """
    charset = normalise_charset(declared)
    if charset == "cp1252" and looks_utf8(data):
        charset = "utf-8"
    if charset is not None:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # 0x81/0x8D/0x8F/0x90/0x9D are undefined in Windows-1252
        return data.decode("latin-1")


def looks_utf8(data: bytes) -> bool:
    """True when ``data`` has non-ASCII bytes and is valid UTF-8.

    Used to overrule a Latin-1 / Windows-1252 declaration: real single-byte text almost never
    forms valid multi-byte UTF-8 sequences, while mislabelled UTF-8 feeds are common.
    """
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def normalise_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset (Latin-1 → cp1252), or None."""
    if not name:
        return None
    key = name.strip().strip("\"'").lower().replace("_", "-")
    if key in {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "iso-latin-1", "us-ascii", "ascii"}:
        return "cp1252"
    if key in {"windows-1252", "cp1252", "x-cp1252"}:
        return "cp1252"
    return key


def squash(text: str | None) -> str | None:
    """Collapse runs of whitespace to one space and strip; empty → None."""
    if text is None:
        return None
    out = _WS.sub(" ", text).strip()
    return out or None


def parse_urgency(value: str | int | None, fmt: str, field: str = "urgency") -> int | None:
    """An urgency 1-9 from an int or a numeric string (blank → None)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = int(text)
        except ValueError:
            raise fail("InvalidFieldValue", f"{fmt} {field} {quote(text)} is not a number 1-9") from None
    if not 1 <= value <= 9:
        raise fail("InvalidFieldValue", f"{fmt} {field} {value} is outside 1-9")
    return value


_PUBSTATUS = {
    "usable": "usable",
    "withheld": "withheld",
    "canceled": "canceled",
    "cancelled": "canceled",
    "embargoed": "withheld",
}


def parse_pubstatus(value: str | None, fmt: str) -> str | None:
    """``usable`` / ``withheld`` / ``canceled`` from a plain value or a ``stat:`` QCode."""
    if value is None:
        return None
    key = value.strip().lower()
    if not key:
        return None
    for prefix in ("stat:", "http://cv.iptc.org/newscodes/pubstatusg2/"):
        key = key.removeprefix(prefix)
    found = _PUBSTATUS.get(key)
    if found is None:
        raise fail(
            "InvalidFieldValue",
            f"{fmt} pubstatus {quote(value)} is not one of usable, withheld, canceled",
        )
    return found


def add_tag(tags: list[AgencyTag], tag: AgencyTag) -> None:
    """Append ``tag`` unless it is empty or already present."""
    if tag.name is None and tag.uri is None and tag.literal is None:
        return
    if tag not in tags:
        tags.append(tag)


_TAG = re.compile(r"<[^>]*>")


def has_text(body: str | None, body_type: str | None = None) -> bool:
    """True when ``body`` has visible text (markup is ignored for HTML / XML bodies)."""
    if body is None:
        return False
    if body_type is None or ("html" not in body_type and "xml" not in body_type):
        return not body.isspace() and bool(body)
    start = 0
    for tag in _TAG.finditer(body):  # stops at the first visible text, usually in the first tags
        if _visible(body[start : tag.start()]):
            return True
        start = tag.end()
    return _visible(body[start:])


def _visible(text: str) -> bool:
    if not text or text.isspace():
        return False
    shown = html.unescape(text)
    return bool(shown) and not shown.isspace()


def require_body(body: str | None, fmt: str, uri: str, body_type: str | None = None) -> str:
    """Return ``body`` or raise ``EmptyBody`` when it is missing or has no visible text."""
    if body is None or not has_text(body, body_type):
        what = "no body" if body is None else "an empty body"
        raise fail("EmptyBody", f"{fmt} item {quote(uri)} has {what}")
    return body


_BASIC_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$")


_EXTENDED_NO_COLON = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-]\d{2})(\d{2})$")


def iso_datetime(value: str | None) -> str | None:
    """ISO 8601 basic format (``20140829T134951+0000``) → extended (``2014-08-29T13:49:51+00:00``).

    An extended value with a colon-less offset (``…T04:38:34+0000``) gets its colon; values in
    any other form are returned stripped (never rejected: the raw value is kept).
    """
    if value is None:
        return None
    text = value.strip()
    match = _BASIC_DT.match(text)
    if not match:
        return _EXTENDED_NO_COLON.sub(r"\1\2:\3", text) or None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    out = f"{year}-{month}-{day}"
    if hour is not None:
        out += f"T{hour}:{minute}:{second or '00'}{frac or ''}"
        if zone and zone != "Z" and ":" not in zone:
            zone = f"{zone[:3]}:{zone[3:]}"
        out += zone or ""
    return out

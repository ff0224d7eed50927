"""IPTC ninjs 1.x / 2.x / 3.x JSON → :class:`RawStory`.

Field spellings of all three major versions are accepted (``versioncreated`` /
``versionCreated``, ``headline`` / ``headlines``, ``body_text`` / ``body_html`` / ``bodies``,
``byline`` / ``by``, ``pubstatus`` / ``pubStatus``, ``subject`` / ``subjects`` …), plus the
non-ninjs ``url`` and ``source`` and Superdesk's ``guid`` (used when ``uri`` is absent).
Unknown fields are ignored; a known field with the wrong JSON type is an error.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any, Final

import orjson

from agents.formats._common import (
    TagKind,
    add_tag,
    check_size,
    decode_utf8,
    fail,
    has_text,
    iso_datetime,
    parse_pubstatus,
    parse_urgency,
    require_body,
)
from agents.formats._packet import CANCELED, NINJS_TYPES, ItemResult, collect
from schemas.records import AgencyTag, RawStory

FORMAT: Final = "ninjs"

#: ninjs 1.x single-string bodies, in order of preference, with their media type.
_BODY_FIELDS: Final = (
    ("body_html", "text/html"),
    ("body_xhtml", "application/xhtml+xml"),
    ("body_text", "text/plain"),
)

#: Tag lists: (1.x spelling, 2.x/3.x spelling, AgencyTag kind).
_TAG_FIELDS: Final[tuple[tuple[str, str, TagKind], ...]] = (
    ("subject", "subjects", "subject"),
    ("person", "people", "person"),
    ("organisation", "organisations", "organisation"),
    ("place", "places", "place"),
)


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _wrong(field: str, expected: str, value: object) -> Exception:
    return fail(
        "WrongFieldType",
        f"ninjs field {field!r} must be {expected}, got {json_type(value)}",
    )


def _str(obj: dict[str, Any], *names: str) -> str | None:
    """The first present of ``names`` as a string (null counts as absent)."""
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _wrong(name, "a string", value)
        return value
    return None


def _list(obj: dict[str, Any], name: str) -> list[Any]:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(name, "an array", value)
    return value


def _items(obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """An array of objects (``null`` entries are skipped)."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(_list(obj, name)):
        if item is None:
            continue
        if not isinstance(item, dict):
            raise _wrong(f"{name}[{i}]", "an object", item)
        out.append(item)
    return out


def _pick(entries: list[tuple[dict[str, Any], str]]) -> tuple[dict[str, Any], str] | None:
    """Role ``main`` first, else the first entry; entries with an empty value are skipped."""
    usable = [(e, v) for e, v in entries if has_text(v, _content_type(e))]
    for entry, value in usable:
        if entry.get("role") == "main":
            return entry, value
    return usable[0] if usable else None


def _valued(obj: dict[str, Any], name: str) -> list[tuple[dict[str, Any], str]]:
    """``headlines`` / ``bodies`` entries with their string ``value``."""
    out: list[tuple[dict[str, Any], str]] = []
    for i, entry in enumerate(_items(obj, name)):
        value = entry.get("value")
        if value is None:
            continue
        if not isinstance(value, str):
            raise _wrong(f"{name}[{i}].value", "a string", value)
        out.append((entry, value))
    return out


def _content_type(entry: dict[str, Any]) -> str | None:
    return _str(entry, "contenttype", "contentType")


def _headline(obj: dict[str, Any]) -> str | None:
    headlines = _valued(obj, "headlines")  # type-checked even when ``headline`` wins
    headline = _str(obj, "headline")
    if headline is not None and headline.strip():
        return headline
    picked = _pick(headlines)
    if picked is not None:
        return picked[1]
    main = _str(obj, "headline_main")
    return main if main is not None and main.strip() else headline


def _body(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(body, body_type): ``bodies``, else ``body_html`` / ``body_xhtml`` / ``body_text`` / ``body_*``,
    else (``type`` text only) a ``descriptions`` entry with role ``text``."""
    for name, _ in _BODY_FIELDS:  # type-checked even when ``bodies`` wins
        _str(obj, name)
    picked = _pick(_valued(obj, "bodies"))
    if picked is not None:
        entry, text = picked
        return text, _content_type(entry)
    seen: tuple[str | None, str | None] = (None, None)  # an empty body field, with its media type
    for name, media_type in _BODY_FIELDS:
        value = _str(obj, name)
        if value is None:
            continue
        if has_text(value, media_type):
            return value, media_type
        seen = value, media_type
    # ninjs 1.x allows any ``body_<suffix>`` string (e.g. ``body_new``).
    for name, value in obj.items():
        if name.startswith("body_") and name not in {n for n, _ in _BODY_FIELDS}:
            if not isinstance(value, str):
                raise _wrong(name, "a string", value)
            if value.strip():
                return value, None
    # NTB sends the story text as a description with role "text" (ninjs 2.x/3.x), no bodies;
    # only for items that say they are text (events and pictures carry descriptions too).
    if obj.get("type") != "text":
        return seen
    for entry, value in _valued(obj, "descriptions"):
        if entry.get("role") == "text" and has_text(value, _content_type(entry)):
            return value, _content_type(entry) or "text/plain"
    return seen


def _version(obj: dict[str, Any]) -> str | None:
    value = obj.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _wrong("version", "a string or an integer", value)
    return str(value)


def _urgency(obj: dict[str, Any]) -> int | None:
    value = obj.get("urgency")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _wrong("urgency", "an integer or a numeric string", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise fail("InvalidFieldValue", f"ninjs urgency {value!r} is not a whole number 1-9")
        value = int(value)
    return parse_urgency(value, FORMAT)


def _provider(obj: dict[str, Any]) -> str | None:
    source = _str(obj, "source")
    if source is not None and source.strip():
        return source
    provider = obj.get("provider")
    if isinstance(provider, dict):
        name = _str(provider, "name")
        if name is not None and name.strip():
            return name
    elif provider is not None:
        if not isinstance(provider, str):
            raise _wrong("provider", "a string or an object", provider)
        if provider.strip():
            return provider
    holder = _str(obj, "copyrightholder", "copyrightHolder")
    return holder if holder is not None and holder.strip() else None


def _tag_uri(entry: dict[str, Any]) -> str | None:
    uri = _str(entry, "uri")
    if uri:
        return uri
    scheme, code = _str(entry, "scheme"), _str(entry, "code")
    if scheme and code:
        if "://" in scheme:
            return scheme + code if scheme.endswith(("/", "#")) else f"{scheme}/{code}"
        return f"{scheme}:{code}"
    return None


def _tags(obj: dict[str, Any]) -> list[AgencyTag]:
    tags: list[AgencyTag] = []
    for old, new, kind in _TAG_FIELDS:
        for name in (new, old):
            for i, entry in enumerate(_items(obj, name)):
                where = f"{name}[{i}]"
                for key in ("name", "literal", "uri", "scheme"):
                    value = entry.get(key)
                    if value is not None and not isinstance(value, str):
                        raise _wrong(f"{where}.{key}", "a string", value)
                code = entry.get("code")
                if code is not None and not isinstance(code, str | int):
                    raise _wrong(f"{where}.code", "a string", code)
                if isinstance(code, int):
                    entry = {**entry, "code": str(code)}
                literal = entry.get("literal")
                if literal is None and entry.get("code") and not entry.get("scheme"):
                    literal = entry["code"]
                tag = AgencyTag(
                    kind=kind,
                    name=entry.get("name") or None,
                    uri=_tag_uri(entry),
                    literal=literal or None,
                )
                add_tag(tags, tag)
    return tags


def story_from_ninjs(obj: dict[str, Any], *, need_body: bool = True) -> RawStory:
    """Map a decoded ninjs object onto a :class:`RawStory`.

    An item with no body field at all is a metadata-only item (a picture, an event, an
    update of metadata) and is returned with ``body=None``, as is an item of another type than
    ``text``, or a cancellation, whose body field is empty. A text item (or one without a
    ``type``) whose body field is present but empty is ``EmptyBody`` unless ``need_body=False``.
    """
    uri = obj.get("uri")
    if uri is None:
        uri = obj.get("guid")
    if uri is None:
        raise fail("MissingUri", "ninjs object has no 'uri'")
    if not isinstance(uri, str):
        raise _wrong("uri", "a string", uri)
    if not uri.strip():
        raise fail("MissingUri", "ninjs object has an empty 'uri'")
    body, body_type = _body(obj)
    item_type = _item_type(obj)
    pubstatus = parse_pubstatus(_str(obj, "pubstatus", "pubStatus"), FORMAT)
    if need_body and has_body_field(obj) and not has_text(body, body_type):
        if item_type in (None, "text") and pubstatus != CANCELED:
            require_body(body, FORMAT, uri, body_type)
        body, body_type = None, None  # a picture, video, cancellation… with an empty body: metadata-only
    return RawStory(
        uri=uri,
        format=FORMAT,
        item_type=item_type,
        version=_version(obj),
        versioncreated=iso_datetime(_str(obj, "versioncreated", "versionCreated")),
        firstcreated=iso_datetime(_str(obj, "firstcreated", "firstCreated")),
        language=_str(obj, "language"),
        headline=_headline(obj),
        body=body,
        body_type=body_type,
        byline=_str(obj, "byline", "by"),
        located=_str(obj, "located"),
        slugline=_str(obj, "slugline"),
        urgency=_urgency(obj),
        pubstatus=pubstatus,
        url=_str(obj, "url"),
        provider=_provider(obj),
        tags=_tags(obj),
    )


def has_body_field(obj: dict[str, Any]) -> bool:
    """Whether the item carries a body at all (``bodies`` or any ``body_*`` field)."""
    return any(key == "bodies" or key.startswith("body_") for key in obj)


def _item_type(obj: dict[str, Any]) -> str | None:
    value = obj.get("type")
    return value if value in NINJS_TYPES else None


def load_json(payload: bytes) -> object:
    """Decode a UTF-8 JSON payload (BOM tolerated) or raise ``InvalidUtf8`` / ``InvalidJson``."""
    check_size(payload, FORMAT)
    if not payload.startswith(b"\xef\xbb\xbf"):
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(payload)  # orjson checks the UTF-8 itself; errors are explained below
    text = decode_utf8(payload, FORMAT)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise fail("InvalidJson", f"ninjs payload is not valid JSON: {exc}") from None


def envelope_items(obj: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The ninjs items of a feed envelope, or None when ``obj`` is itself an item.

    Accepted envelopes: a content-API page ``{"item": [<ninjs>, ...]}`` (Superdesk, BBC) and
    the AP Media API ``{"data": {"item": <ninjs>}}`` / ``{"data": {"items": [{"item": ...}]}}``.
    """
    if "uri" in obj or "guid" in obj:
        return None
    found: list[Any] | None = None
    if isinstance(obj.get("item"), list):
        found = obj["item"]
    data = obj.get("data")
    if found is None and isinstance(data, dict):
        if isinstance(data.get("item"), dict):
            found = [data["item"]]
        elif isinstance(data.get("items"), list):
            found = [e.get("item", e) if isinstance(e, dict) else e for e in data["items"]]
    if found is None:
        return None
    return [item for item in found if isinstance(item, dict)]


def parse_ninjs(payload: bytes, *, need_body: bool = True) -> list[RawStory]:
    """Parse a ninjs JSON object (one story) or a feed envelope of ninjs items (one story per text
    item, a metadata-only story per item of another type)."""
    obj = load_json(payload)
    if not isinstance(obj, dict):
        raise fail("NotAnObject", f"ninjs payload must be a JSON object, got {json_type(obj)}")
    items = envelope_items(obj)
    if items is None or not need_body:
        return [story_from_ninjs(o, need_body=need_body) for o in (items if items is not None else [obj])]
    results: list[ItemResult] = []
    for item in items:
        story = story_from_ninjs(item, need_body=False)
        declares_text = item.get("type") in (None, "text") and story.pubstatus != CANCELED
        kind = f"ninjs {item.get('type') or 'item'}"
        if has_text(story.body, story.body_type):
            results.append(ItemResult(story.uri, kind, story, declares_text))
        elif declares_text:
            results.append(ItemResult(story.uri, kind, None, declares_text))
        else:  # a picture, video, event… of the feed: a metadata-only item, as when sent alone
            results.append(ItemResult(story.uri, kind, replace(story, body=None, body_type=None)))
    return collect(results, FORMAT)


__all__ = ["FORMAT", "envelope_items", "json_type", "load_json", "parse_ninjs", "story_from_ninjs"]

"""Items of a payload (one, or several in a NewsML envelope): every news item becomes a story.

Text items pass with their text; every other news item (a picture, graphic, video, audio, package,
event or planning item) passes as a metadata-only item (``body`` None, ``item_type`` saying what it
is), whatever format it came in. Shared here so that every parser applies the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from agents.failures.errors import StageError
from agents.formats._common import fail, quote
from schemas.records import RawStory

#: ninjs news object types (the ``type`` enum of ninjs 3.0; 2.2 has all but ``event`` and ``planning``).
NINJS_TYPES: Final = ("text", "audio", "video", "picture", "graphic", "composite", "component", "event", "planning")

#: The ``pubstatus`` of a cancellation (a kill notice): a text item sent with it needs no text, and
#: passes as a metadata-only item that tells downstream the story is withdrawn.
CANCELED: Final = "canceled"

#: Item class names of the other formats (G2 ``ninat:``/``icls:`` codes, NewsML 1.2 media types)
#: that are not spelled as the ninjs type.
_TYPE_ALIASES: Final = {"photo": "picture", "image": "picture", "graphics": "graphic", "animated": "graphic"}
_SEPARATOR: Final = re.compile(r"[:/#]")


def ninjs_type(name: str | None) -> str | None:
    """The ninjs type of an item class (``ninat:picture``, ``icls:video``, ``Photo``…), or None."""
    if not name:
        return None
    key = _SEPARATOR.split(name.strip().lower())[-1]
    key = _TYPE_ALIASES.get(key, key)
    return key if key in NINJS_TYPES else None


@dataclass(slots=True)
class ItemResult:
    """One item of a payload: its story, or why it has none.

    ``story`` is None for a text item without text (``declares_text``: a broken item) and for an
    item that is not news at all (a NewsML-G2 concept, knowledge or catalog item).
    """

    uri: str | None
    kind: str
    story: RawStory | None = None
    declares_text: bool = False
    #: Why a non-text item has no story (no id): raised only when no item of the payload passes.
    error: StageError | None = None


def without_uri(uri: str | None, kind: str, body: str | None, missing: str, headline: str | None) -> ItemResult:
    """An item with no id (``missing`` says which, ``headline`` helps find it): ``MissingUri``. An item
    with a text body is refused at once; any other keeps the error, raised only when no item of the
    payload passes (:func:`collect`)."""
    error = fail("MissingUri", f"{missing} (headline {quote(headline or '')})")
    if body is None:
        return ItemResult(uri, kind, error=error)
    raise error


def collect(results: list[ItemResult], fmt: str) -> list[RawStory]:
    """The stories of a payload's items: text items and metadata-only items, in document order.

    Items without a story are left out when at least one item has one (a package without an id
    wrapping the message's text item is not worth refusing the text for). With none: ``EmptyBody``
    when an item is a text item without text, else the item's own error (``MissingUri``), else
    ``NotNewsItem``.
    """
    stories = [r.story for r in results if r.story is not None]
    if stories:
        return stories
    declared = next((r for r in results if r.declares_text), None)
    if declared is not None:
        raise fail("EmptyBody", f"{fmt} text item {quote(declared.uri or '?')} has no body")
    error = next((r.error for r in results if r.error is not None), None)
    if error is not None:
        raise error
    if not results:
        raise fail("NotNewsItem", f"{fmt} packet holds no items")
    kinds = ", ".join(sorted({r.kind[:30] for r in results}))
    if len(kinds) > 80:
        kinds = kinds[:80] + "…"
    raise fail("NotNewsItem", f"{fmt} payload holds {len(results)} item(s), none of them news ({kinds})")

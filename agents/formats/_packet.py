"""Packets (a NewsML envelope with several items): keep the text items, explain the rest."""

from __future__ import annotations

from dataclasses import dataclass

from agents.formats._common import fail, quote
from schemas.records import RawStory


@dataclass(slots=True)
class ItemResult:
    """One item of a packet: its story when it has a body, else what it is."""

    uri: str | None
    kind: str
    story: RawStory | None = None
    declares_text: bool = False


def collect(results: list[ItemResult], fmt: str) -> list[RawStory]:
    """The stories of the text items.

    Items without a body (pictures, video, packages, concepts…) are skipped when at least
    one item of the packet is a text item. With none: ``EmptyBody`` when an item declares
    itself text (its class says text) yet has no body, else ``NoTextItem``.
    """
    stories = [r.story for r in results if r.story is not None]
    if stories:
        return stories
    declared = next((r for r in results if r.declares_text), None)
    if declared is not None:
        raise fail("EmptyBody", f"{fmt} text item {quote(declared.uri or '?')} has no body")
    if not results:
        raise fail("NoTextItem", f"{fmt} packet holds no items")
    kinds = ", ".join(sorted({r.kind[:30] for r in results}))
    if len(kinds) > 80:
        kinds = kinds[:80] + "…"
    raise fail("NoTextItem", f"{fmt} packet holds {len(results)} item(s), none with text ({kinds})")

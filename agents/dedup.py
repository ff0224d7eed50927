"""Stage 2: deduplicate (``stories.clean`` → ``stories.unique`` or ``stories.duplicates``).

Semantics (docs/dedup.md, DESIGN §3):

- **exact**: the same normalised clean text as a story seen in the window (any uri), or the
  same ``uri`` and ``version`` sent again;
- **update**: the same ``uri`` with a newer version (else a newer ``versioncreated``) passes
  on with ``status: update`` and ``supersedes``; an older one arriving late is **stale**;
- **replay is not a copy**: a message re-read after a crash has the coordinates of its first
  sighting, and gets back the decision made then, identically.

``deduplicate`` works on any ``MutableMapping`` (a dict offline, the changelog-backed Faust
table in the worker), so both paths run the very same code.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import MutableMapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from agents.deadletter import dead_letter
from schemas.records import DedupTag, DuplicateNotice, RawStory, StoryInFlight, StoryRef, parse_timestamp
from streams.codec import decode

if TYPE_CHECKING:
    from faust.types import EventT, StreamT

    from streams.app import Wiring

State = MutableMapping[str, Any]
Outcome = StoryInFlight | DuplicateNotice

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def fingerprint(body: str) -> str | None:
    """Fingerprint of the normalised clean body: case, accents' composition, punctuation and
    spacing do not count, so a re-send with other quotes or line breaks is an exact copy.
    None for a body without words (a metadata-only item): there is no text to compare."""
    words = _NON_WORD.sub(" ", unicodedata.normalize("NFKC", body).casefold()).split()
    if not words:
        return None
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


def compare_versions(a: RawStory | dict[str, Any], b: RawStory | dict[str, Any]) -> int:
    """-1, 0 or 1 as version ``a`` is older than, the same as, or newer than ``b``.

    Numeric ``version`` strings compare as numbers; otherwise ``versioncreated`` decides;
    two versions that differ with nothing else to go by compare as strings.
    """
    va, vb = _field(a, "version"), _field(b, "version")
    if va is not None and vb is not None and va != vb and va.isdigit() and vb.isdigit():
        return (int(va) > int(vb)) - (int(va) < int(vb))
    ta, tb = parse_timestamp(_field(a, "versioncreated")), parse_timestamp(_field(b, "versioncreated"))
    if ta is not None and tb is not None and ta != tb:
        return (ta > tb) - (ta < tb)
    if va != vb:
        return ((va or "") > (vb or "")) - ((va or "") < (vb or ""))
    return 0


def deduplicate(story: StoryInFlight, state: State, window_seconds: float) -> Outcome:
    """Decide whether ``story`` goes on (new or update) or is a duplicate, and remember it.

    Time is the story's arrival time, not the clock, so a replay decides as the first run did.
    """
    started = time.perf_counter()
    decision_key = "m:" + story.identity
    stored = _live(state.get(decision_key), story.received_at, window_seconds)
    if stored is not None:
        outcome = _replay(story, stored)
    else:
        outcome, record = _decide(story, state, window_seconds)
        state[decision_key] = record
    if isinstance(outcome, StoryInFlight):
        outcome.timings["dedup"] = time.perf_counter() - started
    return outcome


def _decide(story: StoryInFlight, state: State, window: float) -> tuple[Outcome, dict[str, Any]]:
    raw, now = story.story, story.received_at
    fp = fingerprint(story.clean.body)
    uri_key = "u:" + raw.uri
    seen_uri = _live(state.get(uri_key), now, window)

    if seen_uri is not None:
        order = compare_versions(raw, seen_uri)
        earlier = StoryRef(raw.uri, seen_uri["version"])
        if order == 0:
            return _duplicate(story, "exact", earlier, 1.0)
        if order < 0:
            same_text = fp is not None and seen_uri["fingerprint"] == fp
            return _duplicate(story, "stale", earlier, 1.0 if same_text else 0.0)
        _remember(state, story, fp)
        return _passes(story, DedupTag(fp or "", "update", earlier))

    seen_text = None if fp is None else _live(state.get("f:" + fp), now, window)
    if seen_text is not None:
        return _duplicate(story, "exact", StoryRef(seen_text["uri"], seen_text["version"]), 1.0)

    _remember(state, story, fp)
    return _passes(story, DedupTag(fp or "", "new", None))


def _remember(state: State, story: StoryInFlight, fp: str | None) -> None:
    raw, now = story.story, story.received_at
    uri_entry = {"version": raw.version, "versioncreated": raw.versioncreated, "fingerprint": fp, "seen_at": now}
    state["u:" + raw.uri] = uri_entry
    if fp is not None:
        state["f:" + fp] = {"uri": raw.uri, "version": raw.version, "seen_at": now}


def _passes(story: StoryInFlight, tag: DedupTag) -> tuple[Outcome, dict[str, Any]]:
    story.dedup = tag
    return story, {"seen_at": story.received_at, "pass": asdict(tag)}


def _duplicate(
    story: StoryInFlight, kind: str, original: StoryRef, similarity: float
) -> tuple[Outcome, dict[str, Any]]:
    notice = DuplicateNotice(
        uri=story.story.uri,
        version=story.story.version,
        kind=kind,  # type: ignore[arg-type]
        duplicate_of=original,
        similarity=similarity,
        detected_at=story.received_at,
        source=story.source,
    )
    record = {
        "seen_at": story.received_at,
        "duplicate": {
            "kind": kind,
            "duplicate_of": asdict(original),
            "similarity": similarity,
        },
    }
    return notice, record


def _replay(story: StoryInFlight, stored: dict[str, Any]) -> Outcome:
    if "pass" in stored:
        story.dedup = DedupTag.from_dict(stored["pass"])
        return story
    dup = stored["duplicate"]
    return DuplicateNotice(
        uri=story.story.uri,
        version=story.story.version,
        kind=dup["kind"],
        duplicate_of=StoryRef.from_dict(dup["duplicate_of"]),
        similarity=float(dup["similarity"]),
        detected_at=float(stored["seen_at"]),
        source=story.source,
    )


def _live(entry: Any, now: float, window: float) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    if now - float(entry.get("seen_at", now)) > window:
        return None
    return entry


def _field(record: RawStory | dict[str, Any], name: str) -> str | None:
    value = record.get(name) if isinstance(record, dict) else getattr(record, name)
    return None if value is None else str(value)


def register(wiring: Wiring) -> None:
    """Add the dedup agent: ``stories.clean`` → ``stories.unique`` | ``stories.duplicates``."""
    app, topics, metrics, settings = wiring.app, wiring.topics, wiring.metrics, wiring.settings
    table = wiring.dedup_table

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        try:
            story = StoryInFlight.from_dict(decode(payload))
            outcome = deduplicate(story, table, settings.dedup_window_seconds)
        except Exception as error:  # noqa: BLE001 - a bad internal record is dead-lettered
            await wiring.send_dead_letter(dead_letter(error, "dedup", payload, source, time.time()))
            return
        if isinstance(outcome, DuplicateNotice):
            metrics.duplicate(outcome.kind)
            await wiring.send(
                topics.duplicates,
                outcome.uri,
                outcome,
                received_at=story.received_at,
                versioncreated=story.story.versioncreated,
            )
        else:
            metrics.observe_stages(outcome.timings, ("dedup",))
            if outcome.dedup is not None and outcome.dedup.status == "update":
                metrics.update()
            await wiring.send(topics.unique, outcome.story.uri, outcome)

    @app.agent(topics.clean, name="dedup")
    async def dedup_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle)

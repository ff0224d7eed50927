"""Stage 2: deduplicate (``stories.clean`` → ``stories.unique`` or ``stories.duplicates``).

Semantics (docs/dedup.md, DESIGN §3), all within one language (the key of ``stories.clean``, so
one language is one partition and every decision is made by the worker that owns it):

- **exact**: the same normalised clean text as a story seen in the window (any uri), the
  same ``uri`` and ``version`` sent again with the same clean text (whatever its timestamps),
  or a newer version whose clean headline and body are those of the version it supersedes;
- **near**: estimated Jaccard similarity of the shingle sets (MinHash, ``agents.near_duplicates.signatures``) at or
  above the threshold with an earlier story that passed;
- **update**: the same ``uri`` with a newer version (else a newer ``versioncreated``) passes
  on with ``status: update`` and ``supersedes``; an older one arriving late is **stale**;
- **replay is not a copy**: a message re-read after a crash has the coordinates of its first
  sighting, and gets back the decision made then, identically.

``deduplicate`` works on any ``MutableMapping`` (a dict offline, the changelog-backed Faust
table in the worker), so both paths run the very same code. The table holds, per language, entries
keyed by :func:`state_key` and typed by :class:`DecisionEntry`, :class:`UriEntry`, :class:`TextEntry`
and :class:`JournalEntry`:

- ``m:<raw coordinates>`` the decision made for a message (replays);
- ``u:<lang>:<uri>`` the latest version seen of a uri; ``f:<lang>:<fingerprint>`` the story
  that first passed with a text; each also holds the entry it replaced, so that a message whose
  writes a crash cut short decides again against what was there before it;
- ``n:<lang>:<seq>`` the journal: one entry per decided story, in decision order, with its time,
  the keys it wrote and, for a story that passed, its MinHash signature. The in-memory
  :class:`NearDedup` (an LSH index a language) is rebuilt from the journal when partitions are
  assigned, and the journal drives expiry: each call deletes the oldest entries of the story's
  language that fell out of the window, with the keys they wrote (tombstones on the changelog).
"""

from __future__ import annotations

import base64
import logging
import math
import time
from array import array
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np

from agents.near_duplicates.signatures import (
    NUM_PERM,
    SHINGLE_SIZE,
    THRESHOLD,
    LshIndex,
    decode_signature,
    fingerprint,
    text_signature,
    text_signature_scheme,
)
from schemas.records import (
    DedupTag,
    DuplicateNotice,
    RawStory,
    StoryInFlight,
    StoryRef,
    parse_timestamp,
)

log = logging.getLogger(__name__)

State = MutableMapping[str, Any]
Outcome = StoryInFlight | DuplicateNotice

# Journal entries expired per call: more than one story's worth, so a backlog drains.
EXPIRE_PER_CALL = 16

EntryKind = Literal["m", "u", "f", "n"]


def state_key(kind: EntryKind, *parts: str | int | None) -> str:
    """The table key of an entry: ``m:<raw coordinates>`` (a decision), ``u:<lang>:<uri>`` (a uri's
    latest version), ``f:<lang>:<fingerprint>`` (a text) or ``n:<lang>:<seq>`` (the journal)."""
    return ":".join((kind, *(str(part) for part in parts)))


class Written(TypedDict):
    """What a ``u:`` or ``f:`` entry ends with: when, by which journal entry (``seq``) and which message
    (``m``) it was written, and the entry it replaced (``prev``, without its own ``prev``)."""

    seen_at: float
    seq: int
    m: str
    prev: NotRequired[dict[str, Any] | None]  # absent in entries of before it


class UriEntry(Written):
    """``u:``: the latest version that passed of a uri, and how it was written (:class:`Written`)."""

    version: str | None
    versioncreated: str | None
    fingerprint: str | None
    headline: NotRequired[str | None]  # the clean headline's fingerprint; absent in entries of before it


class TextEntry(Written):
    """``f:``: the story that first passed with a text, and how it was written (:class:`Written`)."""

    uri: str
    version: str | None


class JournalEntry(TypedDict):
    """``n:``: one decided story; a story that passed also has its uri, version, fingerprint and
    MinHash signature (``u``, ``v``, ``f``, ``s``)."""

    at: float
    m: str
    u: NotRequired[str]
    v: NotRequired[str | None]
    f: NotRequired[str | None]
    s: NotRequired[str | None]


class PassRecord(TypedDict):
    fingerprint: str
    status: str
    supersedes: dict[str, Any] | None


class DuplicateRecord(TypedDict):
    kind: str
    duplicate_of: dict[str, Any]
    similarity: float


#: ``m:``: the decision made for a message, given back when it is read again.
DecisionEntry = TypedDict(
    "DecisionEntry", {"seen_at": float, "pass": NotRequired[PassRecord], "duplicate": NotRequired[DuplicateRecord]}
)


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


# --------------------------------------------------------------------------- in-memory index


@dataclass(slots=True)
class _Language:
    """One language's journal positions and LSH index."""

    index: LshIndex
    first: int = 0  # seq of the oldest journal entry not yet expired
    times: array[float] = field(default_factory=lambda: array("d"))  # time of each seq from ``first + head``
    head: int = 0

    @property
    def next_seq(self) -> int:
        return self.first + len(self.times) - self.head

    def push(self, at: float) -> int:
        seq = self.next_seq
        self.times.append(at)
        return seq

    def oldest(self) -> float | None:
        return self.times[self.head] if self.head < len(self.times) else None

    def pop(self) -> int:
        seq = self.first
        self.first += 1
        self.head += 1
        if self.head >= 65536 and self.head * 2 >= len(self.times):
            del self.times[: self.head]
            self.head = 0
        return seq


class NearDedup:
    """The in-memory side of dedup: per language, the LSH index of the signatures of the stories
    that passed, and the journal positions that drive expiry. It mirrors the ``n:`` entries of the
    state; :meth:`rebuild` makes it again from them (the worker calls it after every partition
    assignment, once the table is recovered)."""

    def __init__(
        self,
        threshold: float = THRESHOLD,
        shingle_size: int = SHINGLE_SIZE,
        bands: tuple[int, int] | None = None,
    ) -> None:
        self.threshold = threshold
        self.shingle_size = shingle_size
        self.bands = bands
        self.scheme = text_signature_scheme(shingle_size)
        self.languages: dict[str, _Language] = {}

    def language(self, code: str) -> _Language:
        found = self.languages.get(code)
        if found is None:
            found = self.languages[code] = _Language(LshIndex(self.threshold, NUM_PERM, self.bands))
        return found

    def rebuild(self, items: Iterable[tuple[Any, Any]]) -> None:
        """Forget everything and index the journal entries (``n:<lang>:<seq>``) among ``items``."""
        started = time.perf_counter()
        entries: dict[str, list[tuple[int, float, str | None]]] = {}
        for key, value in items:
            if not isinstance(key, str) or not key.startswith("n:") or not isinstance(value, dict):
                continue
            code, _, number = key[2:].rpartition(":")
            entries.setdefault(code, []).append((int(number), float(value["at"]), value.get("s")))
        self.languages = {}
        for code, journal in entries.items():
            journal.sort(key=lambda entry: entry[0])
            first, last = journal[0][0], journal[-1][0]
            times = array("d", [-math.inf]) * (last - first + 1)  # a gap expires at once
            for seq, at, _ in journal:
                times[seq - first] = at
            signed = [(seq, at, s) for seq, at, s in journal if s]
            sigs = np.frombuffer(b"".join(_signature_bytes(s) for _, _, s in signed), dtype="<u4")
            index = LshIndex.build(
                [seq for seq, _, _ in signed],
                sigs.astype(np.uint32).reshape(-1, NUM_PERM),
                [at for _, at, _ in signed],
                self.threshold,
                NUM_PERM,
                self.bands,
            )
            self.languages[code] = _Language(index, first, times)
        log.info(
            "dedup index rebuilt",
            extra={
                "languages": len(self.languages),
                "stories": self.stories(),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )

    @classmethod
    def from_state(cls, state: State, threshold: float = THRESHOLD, shingle_size: int = SHINGLE_SIZE) -> NearDedup:
        near = cls(threshold, shingle_size)
        near.rebuild(state.items())
        return near

    def stories(self) -> int:
        """Signatures held in the indexes."""
        return sum(len(lang.index) for lang in self.languages.values())

    def nbytes(self) -> int:
        """Bytes held in memory: the indexes and the journal times."""
        return sum(lang.index.nbytes() + lang.times.itemsize * len(lang.times) for lang in self.languages.values())


def _signature_bytes(text: str) -> bytes:
    return base64.b64decode(text)


# --------------------------------------------------------------------------- the decision


def deduplicate(story: StoryInFlight, state: State, window_seconds: float, near: NearDedup | None = None) -> Outcome:
    """Decide whether ``story`` goes on (new or update) or is a duplicate, and remember it.

    Time is the story's arrival time, not the clock, so a replay decides as the first run did.
    ``near`` must mirror ``state`` (pass the same one on every call); without it one is rebuilt
    from ``state`` for this call only, which is right but slow for a large state.
    """
    started = time.perf_counter()
    if near is None:
        near = NearDedup.from_state(state)
    decision_key = state_key("m", story.identity)
    stored = _live(state.get(decision_key), story.received_at, window_seconds)
    if stored is not None:
        outcome = _replay(story, stored)
    else:
        outcome, record = _Decision(story, state, window_seconds, near).run()
        state[decision_key] = record
    _expire(state, near, story.language.code, story.received_at - window_seconds)
    if isinstance(outcome, StoryInFlight):
        outcome.timings["dedup"] = time.perf_counter() - started
    return outcome


class _Decision:
    """One story's decision against the state (written so that a message whose writes were cut
    short by a crash, and is read again, is never a duplicate of what it wrote itself)."""

    def __init__(self, story: StoryInFlight, state: State, window: float, near: NearDedup) -> None:
        self.story, self.state, self.window, self.near = story, state, window, near
        self.code = story.language.code
        self.lang = near.language(self.code)
        self.now = story.received_at
        signed = story.signature
        if signed is None or signed.scheme != near.scheme:
            signed = text_signature(story.clean.body, self.code, near.shingle_size)
        self.fp = signed.fingerprint
        self.minhash = signed.minhash
        self.headline = fingerprint(story.clean.headline)

    def _before(self, key: str) -> dict[str, Any] | None:
        """The entry at ``key`` as it was before this message wrote it: a message read again after a
        crash kept some of its writes (not its decision, written last) finds them, and must decide
        as it did the first time, against what they replaced."""
        entry = self.state.get(key)
        if not isinstance(entry, dict):
            return None
        if entry.get("m") == self.story.identity:
            return entry.get("prev")
        return entry

    def _get(self, key: str) -> dict[str, Any] | None:
        return _live(self._before(key), self.now, self.window)

    def run(self) -> tuple[Outcome, DecisionEntry]:
        raw = self.story.story
        seen_uri = self._get(state_key("u", self.code, raw.uri))
        if seen_uri is not None:
            return self._same_uri(seen_uri)

        seen_text = None if self.fp is None else self._get(state_key("f", self.code, self.fp))
        if seen_text is not None:
            return self._duplicate("exact", StoryRef(seen_text["uri"], seen_text["version"]), 1.0)

        if self.minhash is not None:
            for seq, similarity in self.lang.index.query(decode_signature(self.minhash), self.now - self.window):
                entry = self._get(state_key("n", self.code, seq))
                if entry is not None and entry.get("u") is not None:
                    return self._duplicate("near", StoryRef(entry["u"], entry.get("v")), similarity)
        return self._passes(DedupTag(self.fp or "", "new", None))

    def _same_uri(self, seen: dict[str, Any]) -> tuple[Outcome, DecisionEntry]:
        """The rule table of docs/dedup.md for a uri seen before (``seen``: its latest version).

        Same version: the same clean text (body and headline) is a re-send, ``exact`` whatever
        the timestamps; changed text is a correction sent without a version bump, an update
        (stale if its ``versioncreated`` is older). Another version: older is ``stale``; newer
        with the very same clean headline and body is an ``exact`` duplicate of the version it
        would supersede; otherwise an update.
        """
        raw = self.story.story
        earlier = StoryRef(raw.uri, seen["version"])
        same_body = seen["fingerprint"] == self.fp
        same_text = same_body and seen.get("headline", self.headline) == self.headline
        if raw.version is not None and raw.version == seen["version"]:
            if same_text:
                return self._duplicate("exact", earlier, 1.0)
            created, seen_created = parse_timestamp(raw.versioncreated), parse_timestamp(seen["versioncreated"])
            order = -1 if created is not None and seen_created is not None and created < seen_created else 1
        else:
            order = compare_versions(raw, seen)
            if order == 0:
                return self._duplicate("exact", earlier, 1.0)
        if order < 0:
            return self._duplicate("stale", earlier, 1.0 if same_body and self.fp is not None else 0.0)
        if same_text and self.fp is not None and "headline" in seen:
            return self._duplicate("exact", earlier, 1.0)
        return self._passes(DedupTag(self.fp or "", "update", earlier))

    def _written(self, key: str, seq: int) -> Written:
        """How an entry this message writes to ``key`` (journal entry ``seq``) is written: now, by this
        message, and what the write replaces (one level deep), which :meth:`_before` gives back."""
        before = self._before(key)
        replaced = None if before is None else {name: value for name, value in before.items() if name != "prev"}
        return {"seen_at": self.now, "seq": seq, "m": self.story.identity, "prev": replaced}

    def _journal(self, entry: JournalEntry) -> int:
        seq = self.lang.push(self.now)
        self.state[state_key("n", self.code, seq)] = entry
        return seq

    def _passes(self, tag: DedupTag) -> tuple[Outcome, DecisionEntry]:
        story, raw, identity = self.story, self.story.story, self.story.identity
        seq = self._journal(
            {"at": self.now, "m": identity, "u": raw.uri, "v": raw.version, "f": self.fp, "s": self.minhash}
        )
        uri_key = state_key("u", self.code, raw.uri)
        latest: UriEntry = {
            "version": raw.version,
            "versioncreated": raw.versioncreated,
            "fingerprint": self.fp,
            "headline": self.headline,
            **self._written(uri_key, seq),
        }
        self.state[uri_key] = latest
        if self.fp is not None:
            text_key = state_key("f", self.code, self.fp)
            first: TextEntry = {"uri": raw.uri, "version": raw.version, **self._written(text_key, seq)}
            self.state[text_key] = first
        if self.minhash is not None:
            self.lang.index.add(seq, decode_signature(self.minhash), self.now)
        story.dedup = tag
        supersedes = None if tag.supersedes is None else {"uri": tag.supersedes.uri, "version": tag.supersedes.version}
        record: PassRecord = {"fingerprint": tag.fingerprint, "status": tag.status, "supersedes": supersedes}
        return story, {"seen_at": self.now, "pass": record}

    def _duplicate(self, kind: str, original: StoryRef, similarity: float) -> tuple[Outcome, DecisionEntry]:
        self._journal({"at": self.now, "m": self.story.identity})
        notice = DuplicateNotice(
            uri=self.story.story.uri,
            version=self.story.story.version,
            kind=kind,  # type: ignore[arg-type]
            duplicate_of=original,
            similarity=similarity,
            detected_at=self.now,
            source=self.story.source,
            idempotency_key=self.story.identity,
        )
        record: DecisionEntry = {
            "seen_at": self.now,
            "duplicate": {
                "kind": kind,
                "duplicate_of": {"uri": original.uri, "version": original.version},
                "similarity": similarity,
            },
        }
        return notice, record


def _expire(state: State, near: NearDedup, code: str, cutoff: float, limit: int = EXPIRE_PER_CALL) -> int:
    """Delete up to ``limit`` of the oldest journal entries of ``code`` that are older than
    ``cutoff``, with the keys they wrote that nothing newer overwrote; returns how many."""
    lang = near.languages.get(code)
    done = 0
    while lang is not None and done < limit:
        oldest = lang.oldest()
        if oldest is None or oldest >= cutoff:
            break
        seq = lang.pop()
        key = state_key("n", code, seq)
        entry = state.get(key)
        if isinstance(entry, dict):
            _delete(state, state_key("m", entry.get("m")))
            kinds: tuple[tuple[EntryKind, Any], ...] = (("u", entry.get("u")), ("f", entry.get("f")))
            for kind, name in kinds:
                if name is None:
                    continue
                other = state_key(kind, code, name)
                written = state.get(other)
                if isinstance(written, dict) and written.get("seq") == seq:
                    _delete(state, other)
            _delete(state, key)
        lang.index.remove(seq)
        done += 1
    return done


def _delete(state: State, key: str) -> None:
    if key in state:
        del state[key]


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
        idempotency_key=story.identity,
    )


def _live(entry: Any, now: float, window: float) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    seen_at: Any = entry.get("seen_at", entry.get("at", now))
    if now - float(seen_at) > window:
        return None
    return entry


def _field(record: RawStory | dict[str, Any], name: str) -> str | None:
    value = record.get(name) if isinstance(record, dict) else getattr(record, name)
    return None if value is None else str(value)


__all__ = ["NearDedup", "compare_versions", "deduplicate"]

"""The records the thread stage writes (``agents/threads.py``): the enriched story with its thread
and translation, the ``stories.threads`` summary, and the notice of a translation routed to
``stories.duplicates``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from schemas.records import (
    DuplicateNotice,
    EnrichedStory,
    StoryRef,
    ThreadEntity,
    ThreadMember,
    ThreadSummary,
    ThreadTag,
    TranslationRef,
)

#: Leading entities a summary lists.
SUMMARY_ENTITIES = 8


@dataclass(frozen=True, slots=True)
class ThreadOutcome:
    """What the stage writes for a story: the story with its thread (to ``stories.enriched``), or
    its notice when it is a translation routed to ``stories.duplicates``; and its thread's summary
    (to ``stories.threads``), None once the thread has expired."""

    story: EnrichedStory
    notice: DuplicateNotice | None
    summary: ThreadSummary | None
    by_vectors: bool = False  # the opt-in encoder found its thread's match or its original

    @property
    def crosses_languages(self) -> bool:
        """Whether the story is the first of its language to join a thread opened in another one."""
        summary, language = self.summary, self.story.enrichment.language.code
        return summary is not None and summary.size > 1 and summary.languages.get(language) == 1


def with_thread(story: EnrichedStory, thread: ThreadTag, translation_of: TranslationRef | None) -> EnrichedStory:
    """``story`` with ``enrichment.thread`` and ``enrichment.dedup.translation_of`` set."""
    enrichment = story.enrichment
    dedup = replace(enrichment.dedup, translation_of=translation_of)
    return EnrichedStory(story.item, replace(enrichment, thread=thread, dedup=dedup))


def summary_record(summary: Mapping[str, Any]) -> ThreadSummary:
    """The ``stories.threads`` record of a thread summary as ``agents.threads.assign`` keeps it
    (``entities`` counted by name, ``languages`` by code); the most named entities first."""
    ranked = sorted(summary["entities"].items(), key=lambda item: (-item[1], item[0]))[:SUMMARY_ENTITIES]
    return ThreadSummary(
        id=str(summary["id"]),
        first=StoryRef.from_dict(summary["first"]),
        first_seen=float(summary["first_seen"]),
        last_seen=float(summary["last_seen"]),
        size=int(summary["size"]),
        languages={str(code): int(count) for code, count in sorted(summary["languages"].items())},
        entities=[ThreadEntity(str(name), int(count)) for name, count in ranked],
        members=[ThreadMember(str(m["uri"]), m.get("version"), str(m["language"])) for m in summary["members"]],
    )


def translation_notice(story: EnrichedStory) -> DuplicateNotice | None:
    """The ``stories.duplicates`` notice of a story flagged as a translation (kind ``translation``,
    ``duplicate_of`` its original), None when it is not one."""
    enrichment = story.enrichment
    original = enrichment.dedup.translation_of
    if original is None:
        return None
    return DuplicateNotice(
        uri=story.item["uri"],
        version=story.item.get("version"),
        kind="translation",
        duplicate_of=StoryRef(original.uri, original.version),
        similarity=original.similarity,
        detected_at=enrichment.received_at,
        source=enrichment.source,
        idempotency_key=enrichment.idempotency_key,
    )

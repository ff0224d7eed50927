"""The three Faust agents: each reads a topic, calls its stage on the wiring's :class:`Pipeline`,
sends what it returns.

The stage functions live in ``agents/`` and know nothing of Faust or Kafka; this module is the glue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from agents.failures.dead_letter import dead_letter
from schemas.codec import decode
from schemas.ninjs import item_versioncreated
from schemas.records import DeadLetter, DuplicateNotice, KafkaSource, Stage, StoryInFlight

if TYPE_CHECKING:
    from faust.types import EventT, StreamT

    from streams.app import Wiring

T = TypeVar("T")


def register(wiring: Wiring) -> None:
    """Add the clean, dedup and entities agents to the wiring's app."""
    register_clean(wiring)
    register_dedup(wiring)
    register_entities(wiring)


async def _or_dead_letter(
    wiring: Wiring, stage: Stage, payload: bytes, source: KafkaSource, work: Callable[[], T]
) -> T | None:
    """``work()``, or None once a failure of it is sent as a dead letter of ``payload``."""
    try:
        return work()
    except Exception as error:  # noqa: BLE001 - a bad internal record is dead-lettered
        await wiring.send_dead_letter(dead_letter(error, stage, payload, source, time.time()))
        return None


def _decode_story(payload: bytes) -> StoryInFlight:
    return StoryInFlight.from_dict(decode(payload))


def register_clean(wiring: Wiring) -> None:
    """Add the clean agent: ``stories.raw`` → ``stories.clean`` (key: language)."""
    app, topics, metrics, pipeline = wiring.app, wiring.topics, wiring.metrics, wiring.pipeline

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        content_type = dict(event.headers or {}).get("content-type")
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        for outcome in pipeline.prepare(payload, content_type, source, event.message.timestamp):
            if isinstance(outcome, DeadLetter):
                await wiring.send_dead_letter(outcome)
            else:
                metrics.observe_stages(outcome.timings, ("validate", "clean", "language"))
                metrics.language(outcome.language.code)
                metrics.cleaning_refused(outcome.clean.refused)
                await wiring.send(topics.clean, outcome.language.code, outcome, idempotency_key=outcome.identity)

    @app.agent(topics.raw, name="clean")
    async def clean_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle, "clean")


def register_dedup(wiring: Wiring) -> None:
    """Add the dedup agent: ``stories.clean`` → ``stories.unique`` | ``stories.duplicates``,
    and rebuild its index whenever the table has been recovered after a partition assignment."""
    app, topics, metrics, pipeline = wiring.app, wiring.topics, wiring.metrics, wiring.pipeline
    table = wiring.dedup_table
    near = pipeline.near_index()

    @table.on_recover  # type: ignore[untyped-decorator]
    async def rebuild_index() -> None:
        # In a thread: a million stories take ~30 s, and /healthz must keep answering meanwhile
        # (the agents do not run until recovery, and so this callback, has finished).
        await asyncio.to_thread(lambda: near.rebuild(table.items()))
        metrics.dedup_index(near.nbytes(), near.stories())

    def decide(payload: bytes) -> tuple[StoryInFlight, StoryInFlight | DuplicateNotice]:
        story = _decode_story(payload)
        return story, pipeline.deduplicate(story, table, near)

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        decided = await _or_dead_letter(wiring, "dedup", payload, source, lambda: decide(payload))
        if decided is None:
            return
        story, outcome = decided
        if isinstance(outcome, DuplicateNotice):
            metrics.duplicate(outcome.kind)
            await wiring.send(
                topics.duplicates,
                outcome.uri,
                outcome,
                received_at=story.received_at,
                versioncreated=story.story.versioncreated,
                idempotency_key=outcome.idempotency_key,
            )
        else:
            metrics.observe_stages(outcome.timings, ("dedup",))
            if outcome.dedup is not None and outcome.dedup.status == "update":
                metrics.update()
            await wiring.send(topics.unique, outcome.story.uri, outcome, idempotency_key=outcome.identity)

    @app.timer(5.0)  # type: ignore[untyped-decorator]
    async def refresh_index_gauges() -> None:
        metrics.dedup_index(near.nbytes(), near.stories())

    @app.agent(topics.clean, name="dedup")
    async def dedup_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle, "dedup")


def register_entities(wiring: Wiring) -> None:
    """Add the entities agent: ``stories.unique`` → ``stories.enriched``."""
    app, topics, metrics, pipeline = wiring.app, wiring.topics, wiring.metrics, wiring.pipeline

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        stories = await _or_dead_letter(wiring, "entities", payload, source, lambda: [_decode_story(payload)])
        if stories is None:
            return
        # Tagging runs in a thread: spaCy releases the GIL for most of its work, so the event loop keeps
        # fetching, sending and running the other agents meanwhile. Without a model there is nothing
        # worth the hand-off (~0.1 ms).
        heavy = pipeline.runs_a_model(stories[0])
        outcomes = await asyncio.to_thread(pipeline.enrich, stories) if heavy else pipeline.enrich(stories)
        for outcome in outcomes:
            if isinstance(outcome, DeadLetter):
                await wiring.send_dead_letter(outcome)
                continue
            metrics.observe_stages(outcome.enrichment.timings, ("entities",))
            metrics.entities(outcome.enrichment.entities)
            await wiring.send(
                topics.enriched,
                outcome.item["uri"],
                outcome,
                received_at=outcome.enrichment.received_at,
                versioncreated=item_versioncreated(outcome.item),
                idempotency_key=outcome.enrichment.idempotency_key,
            )

    @app.agent(topics.unique, name="entities")
    async def entities_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle, "entities")

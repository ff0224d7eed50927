"""The four Faust agents: each reads a topic, calls its stage on the wiring's :class:`Pipeline`,
sends what it returns.

The stage functions live in ``agents/`` and know nothing of Faust or Kafka; this module is the glue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from agents.failures.dead_letter import dead_letter
from agents.multilingual import Vector, from_bytes
from agents.ordering import OrderBuffer, arrival_order
from agents.threads import ThreadIndex
from schemas.codec import decode
from schemas.ninjs import item_versioncreated
from schemas.records import DeadLetter, DuplicateNotice, EnrichedStory, KafkaSource, Stage, StoryInFlight
from streams.faust_patches import in_event

if TYPE_CHECKING:
    from faust.types import EventT, StreamT

    from streams.app import Wiring

T = TypeVar("T")


def register(wiring: Wiring) -> None:
    """Add the clean, dedup, entities and threads agents to the wiring's app."""
    register_clean(wiring)
    register_dedup(wiring)
    register_entities(wiring)
    register_threads(wiring)


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

    wiring.declare_hop(topics.raw, [topics.clean])

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

    wiring.declare_hop(topics.clean, [topics.unique, topics.duplicates])

    @app.agent(topics.clean, name="dedup")
    async def dedup_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle, "dedup")


def register_entities(wiring: Wiring) -> None:
    """Add the entities agent: ``stories.unique`` → ``stories.tagged`` (one partition; each record
    says which ``stories.unique`` partition, its lane, it came from)."""
    app, topics, metrics, pipeline = wiring.app, wiring.topics, wiring.metrics, wiring.pipeline

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        stories = await _or_dead_letter(wiring, "entities", payload, source, lambda: [_decode_story(payload)])
        if stories is None:
            return
        # Tagging runs in a thread: spaCy releases the GIL for most of its work, so the event loop keeps
        # fetching, sending and running the other agents meanwhile. Without a model there is nothing
        # worth the hand-off (~0.1 ms); nor for the encoder alone, which holds the GIL for most of its
        # small numpy steps (in a thread it cost more CPU a story, docs/threads.md).
        heavy = pipeline.runs_a_model(stories[0])
        tagged = await asyncio.to_thread(tag, stories) if heavy else tag(stories)
        for outcome, vector in tagged:
            if isinstance(outcome, DeadLetter):
                await wiring.send_dead_letter(outcome)
                continue
            metrics.observe_stages(outcome.enrichment.timings, ("entities",))
            metrics.entities(outcome.enrichment.entities)
            headers = {LANE_HEADER: str(source.partition).encode()}
            if vector is not None:
                headers[VECTOR_HEADER] = vector.tobytes()
            await wiring.send(
                topics.tagged,
                outcome.item["uri"],
                outcome,
                idempotency_key=outcome.enrichment.idempotency_key,
                headers=headers,
            )

    def tag(stories: list[StoryInFlight]) -> list[tuple[EnrichedStory | DeadLetter, Vector | None]]:
        tagged: list[tuple[EnrichedStory | DeadLetter, Vector | None]] = []
        for outcome in pipeline.enrich(stories):
            started = time.perf_counter()
            vector = None if isinstance(outcome, DeadLetter) else pipeline.vector(outcome)
            if vector is not None:
                metrics.observe_stage("encoder", time.perf_counter() - started)
            tagged.append((outcome, vector))
        return tagged

    wiring.declare_hop(topics.unique, [topics.tagged])

    @app.agent(topics.unique, name="entities")
    async def entities_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle, "entities")


def open_threads(index: ThreadIndex) -> int:
    """Threads with at least one story in the window of ``index``."""
    live = len(index)
    return len(set(index.threads[len(index.threads) - live :])) if live else 0


#: The header of a ``stories.tagged`` record that names its lane: the ``stories.unique`` partition
#: whose entity agent sent it.
LANE_HEADER = "wirestream-lane"
#: The header of a ``stories.tagged`` record that carries the story's thread-stage vector (its 512
#: bytes) when an encoder is set: encoded where the story was tagged, not on the one thread stage.
VECTOR_HEADER = "wirestream-vector"
#: How often the thread stage looks for held stories whose silent lanes waited long enough.
RELEASE_INTERVAL_SECONDS = 0.05


def register_threads(wiring: Wiring) -> None:
    """Add the threads agent: ``stories.tagged`` (one partition) → ``stories.enriched``,
    ``stories.threads`` and, with ``WIRESTREAM_TRANSLATIONS=duplicate``, ``stories.duplicates``.

    Stories wait in an :class:`~agents.ordering.OrderBuffer` until no lane can bring an earlier
    one; a held story's event stays unacknowledged (uncommitted) until the story is decided and
    sent. The ``threads`` table (changelog-backed, one partition) is the stage's state; its index is
    rebuilt from the table's journal whenever the table has been recovered after an assignment."""
    app, topics, metrics, pipeline, settings = (
        wiring.app,
        wiring.topics,
        wiring.metrics,
        wiring.pipeline,
        wiring.settings,
    )
    table = wiring.threads_table
    index = pipeline.thread_index()
    order: OrderBuffer[tuple[EventT[bytes], EnrichedStory]] = OrderBuffer(
        lanes=settings.partitions, wait_seconds=settings.threads_order_wait_seconds
    )
    held: dict[int, list[EventT[bytes]]] = {}  # offset → its events (a record fetched again joins its first)
    deciding = asyncio.Lock()
    streams: list[StreamT[bytes]] = []  # the agent's stream, which acknowledges the events it took
    late_counted = 0

    def forget_held() -> None:
        # What was held is unacknowledged: it comes again from the committed offset.
        order.clear()
        held.clear()

    @table.on_recover  # type: ignore[untyped-decorator]
    async def rebuild_index() -> None:
        # As dedup's: in a thread, and the agent does not run until this has finished.
        await asyncio.to_thread(lambda: index.rebuild(table.items()))
        forget_held()
        metrics.thread_index(index.nbytes(), len(index), open_threads(index))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def drop_held(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        forget_held()

    async def decide(event: EventT[bytes], story: EnrichedStory) -> None:
        payload, source = wiring.payload_and_source(event)
        vector = from_bytes(dict(event.headers or {}).get(VECTOR_HEADER))  # None: the stage encodes it
        started = time.perf_counter()
        with in_event(event):
            outcome = await _or_dead_letter(
                wiring, "threads", payload, source, lambda: pipeline.thread(story, table, index, vector)
            )
        if outcome is None:
            return
        metrics.observe_stage("threads", time.perf_counter() - started)
        threaded = outcome.story
        thread, translation = threaded.enrichment.thread, threaded.enrichment.dedup.translation_of
        metrics.threaded(
            thread.size if thread else 0, outcome.crosses_languages, translation is not None, outcome.by_vectors
        )
        if outcome.summary is not None:
            await wiring.send(topics.threads, outcome.summary.id, outcome.summary)
        notice = outcome.notice
        if notice is not None:
            metrics.duplicate(notice.kind)
        await wiring.send(
            topics.enriched if notice is None else topics.duplicates,
            threaded.item["uri"],
            threaded if notice is None else notice,
            received_at=threaded.enrichment.received_at,
            versioncreated=item_versioncreated(threaded.item),
            idempotency_key=threaded.enrichment.idempotency_key,
        )

    async def release() -> None:
        """Decide, send and acknowledge the held stories that can go now, in arrival order."""
        nonlocal late_counted
        async with deciding:
            for event, story in order.release(time.monotonic()):
                try:
                    await decide(event, story)
                except Exception as error:  # noqa: BLE001 - as in Wiring.consume: dead-letter it, go on
                    await wiring.contain(error, event, "threads")
                for taken in held.pop(event.message.offset, [event]):
                    await streams[0].ack(taken)
            metrics.threads_held.set(len(order))
            metrics.threads_late_total.inc(order.late - late_counted)
            late_counted = order.late

    async def hold(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        story = await _or_dead_letter(
            wiring, "threads", payload, source, lambda: EnrichedStory.from_dict(decode(payload))
        )
        if story is None:
            await streams[0].ack(event)
            return
        lane = int(dict(event.headers or {}).get(LANE_HEADER, b"0"))
        async with deciding:
            again = held.get(event.message.offset)
            if again is not None:
                again.append(event)
                return
            held[event.message.offset] = [event]
            order.add((event, story), arrival_order(story), lane, time.monotonic())
        await release()

    @app.task  # type: ignore[untyped-decorator]
    async def release_after_wait() -> None:
        # A loop, not an app.timer: a release that sends for longer than the interval is normal,
        # and a timer would log each one as overlapping.
        while True:  # cancelled when the app stops
            await asyncio.sleep(RELEASE_INTERVAL_SECONDS)
            if len(order):
                await release()

    @app.timer(5.0)  # type: ignore[untyped-decorator]
    async def refresh_index_gauges() -> None:
        metrics.thread_index(index.nbytes(), len(index), open_threads(index))

    wiring.declare_hop(topics.tagged, [topics.enriched, topics.duplicates])

    @app.agent(topics.tagged, name="threads")
    async def threads_agent(stream: StreamT[bytes]) -> None:
        manual: StreamT[bytes] = cast(Any, stream).noack()  # acknowledged by hand, once decided
        streams[:] = [manual]
        await wiring.consume(manual, hold, "threads", acknowledged=False)

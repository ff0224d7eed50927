"""The Faust app: topics, the dedup and threads tables, the agents of ``streams/agents.py`` and the web views.

``create_app(settings)`` builds a fresh app (tests build several with other settings); the
worker command (``wirestream worker``) runs the one built from the environment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import faust
from faust.types import EventT, StreamT, TopicT

from agents.failures.dead_letter import dead_letter
from schemas.codec import encode
from schemas.records import DeadLetter, KafkaSource, Stage, parse_timestamp
from streams import agents, health, metrics, resends, web
from streams.kafka_access import KafkaAccess
from streams.metrics import Metrics
from streams.pipeline import Pipeline
from streams.resends import IDEMPOTENCY_HEADER
from streams.settings import Settings


@dataclass(slots=True)
class Topics:
    """The pipeline's Faust topics; every value on them is raw bytes (we decode ourselves)."""

    raw: TopicT
    clean: TopicT
    unique: TopicT
    tagged: TopicT
    enriched: TopicT
    duplicates: TopicT
    threads: TopicT
    deadletter: TopicT


@dataclass(slots=True)
class Readiness:
    """The worker's own state: models loaded, group joined, Kafka reachable, event-loop heartbeat,
    stalled partitions, and shutdown drain.

    ``/readyz`` reports ``models_loaded``, ``group_joined`` and ``kafka_reachable`` (tables come
    from the app); ``/healthz`` the heartbeat and ``stalled_partitions`` (streams.health);
    ``draining`` and ``in_flight`` let a SIGTERM finish the stories being processed.
    """

    models_loaded: bool = False
    group_joined: bool = False
    kafka_reachable: bool = False
    kafka_ever_reachable: bool = False
    stalled_partitions: set[tuple[str, int]] = field(default_factory=set)
    last_tick: float = field(default_factory=time.monotonic)
    draining: bool = False
    in_flight: int = 0


# Longest a send waits for a rebalance's read-back of the records already sent (streams.resends).
HOLD_SECONDS = 60.0


@dataclass(slots=True)
class Delivered:
    """Output records the broker has acknowledged in this process's life, by topic and idempotency
    key (the oldest forgotten past ``capacity``).

    A story handled twice comes out twice, and each copy used to be handled again at the next hop:
    copies multiplied along the three hops. A record the broker acknowledged (``acks=all``) is durable,
    so a copy of it can be dropped with no risk of loss; what was not acknowledged yet is sent again
    (a double, never a loss). What an earlier process sent is read back from the log on a rebalance
    (:mod:`streams.resends`), and sends wait while that is under way.
    """

    capacity: int = 100_000
    # An OrderedDict: a plain dict's first key is found by skipping every one deleted before it
    # (33 µs an add once full, measured), OrderedDict.popitem(last=False) in constant time.
    keys: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    # Cleared while a rebalance may bring records an earlier process sent (streams.resends).
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.released.set()

    def hold(self) -> None:
        """Hold sends until :meth:`release` (a rebalance has begun)."""
        self.released.clear()

    def release(self) -> None:
        """Let sends go on (the records already sent are known)."""
        self.released.set()

    async def wait_released(self, timeout: float = HOLD_SECONDS) -> None:
        """Wait until sends are released, at most ``timeout`` seconds: then go on, since a repeat
        sent is a double, a stalled worker worse."""
        if self.released.is_set():
            return
        try:
            await asyncio.wait_for(self.released.wait(), timeout)
        except TimeoutError:
            log.warning("sending without knowing the records already sent, after %.0f s", timeout)

    def add(self, topic: str, key: str) -> None:
        self.keys[(topic, key)] = None
        if len(self.keys) > self.capacity:
            self.keys.popitem(last=False)

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self.keys


Handler = Callable[[EventT[bytes]], Awaitable[None]]
log = logging.getLogger("wirestream.agents")


@dataclass(slots=True)
class Wiring:
    """Everything an agent needs: the app, settings, topics, metrics, the tables and the pipeline."""

    app: faust.App
    settings: Settings
    topics: Topics
    metrics: Metrics
    dedup_table: Any
    threads_table: Any
    pipeline: Pipeline
    readiness: Readiness
    delivered: Delivered = field(default_factory=Delivered)
    # Input topic → the topics its agent sends records to with an idempotency key (declare_hop).
    keyed_writes: dict[str, list[str]] = field(default_factory=dict)

    def declare_hop(self, reads: TopicT, writes: Sequence[TopicT]) -> None:
        """Declare that the agent reading ``reads`` sends records with an idempotency key to
        ``writes``: a partition gained on ``reads`` is read back on these topics
        (:mod:`streams.resends`), and :meth:`send` takes an idempotency key for no other topic. Dead
        letters carry no key (a packet's items can fail alike at the same coordinates): not declared."""
        self.keyed_writes[reads.get_topic_name()] = [topic.get_topic_name() for topic in writes]

    def receive(self, event: EventT[bytes]) -> tuple[bytes, KafkaSource]:
        """Count a consumed message; return its value bytes and its coordinates."""
        self.metrics.received(event.message.topic)
        return self.payload_and_source(event)

    @staticmethod
    def payload_and_source(event: EventT[bytes]) -> tuple[bytes, KafkaSource]:
        """A message's value bytes and its coordinates."""
        message = event.message
        payload = message.value if isinstance(message.value, bytes) else b""
        return payload, KafkaSource(message.topic, message.partition, message.offset)

    async def consume(self, stream: StreamT[bytes], handle: Handler, stage: Stage, acknowledged: bool = True) -> None:
        """Feed the stream's events to ``handle`` one at a time, counting the one in flight.

        A failure ``handle`` did not turn into a dead letter itself (a bug, a record Kafka refuses)
        is dead-lettered here with the event's bytes, so the agent goes on with the next story.

        Faust acknowledges an event once the loop moves past it, and also when the agent is
        cancelled with the event in hand; an acknowledged offset gets committed. So a clean
        stop must never cancel a story half-handled: :class:`streams.worker.GracefulWorker`
        first stops the flow of events, waits until ``in_flight`` is zero, and only then stops
        the agents. Events fetched but not handled are never acknowledged and are read again by
        whichever worker gets their partition next.

        With ``acknowledged=False`` (a stream of manual acknowledgements, ``stream.noack()``),
        ``handle`` acknowledges what it has finished itself, and an event it failed on is
        acknowledged here once dead-lettered.
        """
        state = self.readiness
        async for event in stream.events():
            state.in_flight += 1
            try:
                await handle(event)
            except Exception as error:  # noqa: BLE001 - a story that breaks the stage must not stop the agent
                await self.contain(error, event, stage)
                if not acknowledged:
                    await stream.ack(event)
            finally:
                state.in_flight -= 1
            if state.draining and not acknowledged:
                await asyncio.Event().wait()  # held stories are acknowledged as they are decided
            elif state.draining:
                # Acknowledge the story just finished before parking: Faust's stop waits for
                # every event taken to be acknowledged before it cancels the agents, so an
                # event held here would block the stop until the grace period runs out.
                await stream.ack(event)
                await asyncio.Event().wait()  # take nothing more; the stop cancels this wait

    async def contain(self, error: Exception, event: EventT[bytes], stage: Stage) -> None:
        """Dead-letter the event a failure escaped its stage on (see :meth:`consume`)."""
        payload, source = self.payload_and_source(event)
        log.error(
            "story failed outside its stage, dead-lettering it",
            exc_info=error,
            extra={"stage": stage, "source": source.key},
        )
        letter = dead_letter(error, stage, payload, source, time.time())
        try:
            await self.send_dead_letter(letter)
        except Exception as failure:  # noqa: BLE001 - e.g. too large even for the dead-letter topic
            omitted = f"payload of {len(payload)} bytes omitted: {failure!r}; re-read it from {source.key}"
            note = f"{letter.error.message} ({omitted})"
            letter = replace(letter, error=replace(letter.error, message=note[:1000]), payload="")
            await self.send_dead_letter(letter)

    async def send(
        self,
        topic: TopicT,
        key: str,
        record: Any,
        received_at: float | None = None,
        versioncreated: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, bytes] | None = None,
    ) -> None:
        """Encode ``record`` as JSON and send it (with ``headers``); counts it, its latency since
        arrival on the raw topic and its age since ``versioncreated``. A record whose
        ``idempotency_key`` this process already delivered to ``topic`` is not sent again (see
        :class:`Delivered`)."""
        name = topic.get_topic_name()
        if idempotency_key is not None and not any(name in writes for writes in self.keyed_writes.values()):
            raise ValueError(f"{name} is no agent's declared keyed output (see Wiring.declare_hop)")
        await self.delivered.wait_released()
        if idempotency_key is not None and (name, idempotency_key) in self.delivered:
            self.metrics.copy_dropped(name)
            return
        if idempotency_key is not None:
            headers = {**(headers or {}), IDEMPOTENCY_HEADER: idempotency_key.encode("utf-8")}
        sent = await topic.send(key=key.encode("utf-8"), value=encode(record), headers=headers)
        if idempotency_key is not None:
            # A future already (Faust's FutureMessage); ensure_future only gives it its type.
            asyncio.ensure_future(sent).add_done_callback(lambda done: self._delivered(done, name, idempotency_key))
        now = time.time()
        latency = None if received_at is None else now - received_at
        created = parse_timestamp(versioncreated)
        self.metrics.emitted(topic.get_topic_name(), latency, None if created is None else now - created)

    def _delivered(self, sent: asyncio.Future[Any], topic: str, key: str) -> None:
        if not sent.cancelled() and sent.exception() is None:
            self.delivered.add(topic, key)

    async def send_dead_letter(self, letter: DeadLetter) -> None:
        """Send a dead letter (key: the failed message's coordinates) and count its reason."""
        self.metrics.dead_letter(letter.error.stage, letter.error.type)
        await self.send(self.topics.deadletter, letter.source.key, letter)


def _topic(app: faust.App, name: str, partitions: int) -> TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def faust_app(settings: Settings, store: str | None = None) -> faust.App:
    """The Faust app the worker runs, configured from ``settings`` (``store`` overrides the table store),
    with no topic, table or agent yet; the benchmark's pass-through agent runs on the same one."""
    return faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=KafkaAccess.from_settings(settings).faust_credentials(),
        store=store or settings.store,
        datadir=settings.data_dir,
        autodiscover=False,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        # Every topic is created beforehand by streams.topics, replicated for the cluster's size.
        topic_replication_factor=settings.replication_factor or 1,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        # Records bigger than the broker's 1 MiB default are normal here (a 2 MiB page, cleaned);
        # topics are created to take them (streams.topics). Batches of 512 KiB lingering 5 ms
        # instead of 16 KiB sent at once: a ~600-word story no longer travels alone.
        producer_max_request_size=settings.max_record_bytes,
        producer_max_batch_size=512 * 1024,
        producer_linger=0.005,
        consumer_max_fetch_size=settings.max_record_bytes,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
    )


def create_app(settings: Settings, pipeline: Pipeline | None = None) -> Wiring:
    """Build the Faust app for ``settings`` with every agent and web view registered; the agents
    call ``pipeline`` (by default the one ``settings`` make)."""
    app = faust_app(settings)
    n, outputs = settings.partitions, settings.output_partitions
    topics = Topics(
        raw=_topic(app, settings.topic_raw, n),
        clean=_topic(app, settings.topic_clean, n),
        unique=_topic(app, settings.topic_unique, n),
        tagged=_topic(app, settings.topic_tagged, 1),
        enriched=_topic(app, settings.topic_enriched, n),
        duplicates=_topic(app, settings.topic_duplicates, outputs),
        threads=_topic(app, settings.topic_threads, outputs),
        deadletter=_topic(app, settings.topic_deadletter, outputs),
    )
    wiring = Wiring(
        app=app,
        settings=settings,
        topics=topics,
        metrics=Metrics(),
        dedup_table=app.Table("dedup", default=None, partitions=n),
        threads_table=app.Table("threads", default=None, partitions=1),
        pipeline=pipeline or Pipeline(settings),
        readiness=Readiness(),
    )

    agents.register(wiring)
    resends.register(wiring)
    web.register(wiring)
    metrics.register(wiring)
    health.register(wiring)
    return wiring

"""What ``/readyz`` and ``/healthz`` know beyond the event loop: whether the worker can reach
Kafka, and whether an assigned partition has stopped making progress (a stall).

A stalled consumer is Faust's most reported production failure: it stops fetching or handling
while the process looks healthy. The watchdog compares each assigned source partition's end
offset with its committed offset: lag above zero and a committed offset that has not moved for
``WIRESTREAM_STALL_SECONDS`` is a stall, exported as ``wirestream_partition_stalled`` and failing
``/healthz`` so that an orchestrator restarts the worker. While Kafka cannot be reached, or the
tables are being recovered, nothing can progress and no stall is counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from aiokafka.errors import KafkaError

if TYPE_CHECKING:
    from streams.app import Wiring

log = logging.getLogger("wirestream.health")

KAFKA_PROBE_SECONDS = 2.0
KAFKA_PROBE_TIMEOUT_SECONDS = 5.0
KAFKA_UNREACHABLE_SECONDS = 5.0  # probes failing this long make the worker not ready

Partition = tuple[str, int]


class StallDetector:
    """Tracks, per partition, since when its committed offset has not moved while it had lag."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self._unchanged_since: dict[Partition, tuple[int, float]] = {}

    def observe(self, now: float, partitions: Mapping[Partition, tuple[int, int]]) -> set[Partition]:
        """Record each partition's ``(lag, committed offset)`` seen at ``now``; return the stalled ones.

        A partition without lag, or whose committed offset moved, starts a new period; partitions
        no longer given (revoked) are forgotten.
        """
        stalled: set[Partition] = set()
        for partition, (lag, committed) in partitions.items():
            previous = self._unchanged_since.get(partition)
            if lag <= 0 or previous is None or previous[0] != committed:
                self._unchanged_since[partition] = (committed, now)
            elif now - previous[1] >= self.stall_seconds:
                stalled.add(partition)
        for partition in set(self._unchanged_since) - set(partitions):
            del self._unchanged_since[partition]
        return stalled

    def reset(self) -> None:
        """Forget every partition (nothing could progress: Kafka unreachable, recovery)."""
        self._unchanged_since.clear()


async def kafka_reachable(app: Any, timeout: float = KAFKA_PROBE_TIMEOUT_SECONDS) -> bool:
    """Return True if the app's producer gets a metadata answer from any broker within timeout."""
    producer = getattr(app.producer, "_producer", None)  # the aiokafka producer, once started
    if producer is None:
        return False
    try:
        return bool(await asyncio.wait_for(producer.client.force_metadata_update(), timeout))
    except (KafkaError, OSError, TimeoutError):
        return False


async def source_offsets(wiring: Wiring) -> dict[Partition, tuple[int, int]]:
    """``(lag, committed offset)`` of each assigned partition of the topics the agents read.

    The end offsets are asked of the broker (not taken from the fetcher, which a stalled consumer
    no longer updates); a partition never committed counts from its earliest offset.
    """
    app, settings = wiring.app, wiring.settings
    sources = {settings.topic_raw, settings.topic_clean, settings.topic_unique}
    consumer = cast(Any, app.consumer)
    assigned = [tp for tp in consumer.assignment() if tp.topic in sources]
    if not assigned:
        return {}
    ends = await consumer.highwaters(*assigned)
    earliest = await consumer.earliest_offsets(*assigned)
    offsets: dict[Partition, tuple[int, int]] = {}
    for tp in assigned:
        if tp not in ends:
            continue
        committed = consumer._committed_offset.get(tp)
        committed = committed if committed is not None else earliest.get(tp, 0)
        offsets[(tp.topic, tp.partition)] = (max(0, ends[tp] - committed), committed)
    return offsets


def register(wiring: Wiring) -> None:
    """Add the Kafka probe and the stall watchdog to the app."""
    app, state, metrics = wiring.app, wiring.readiness, wiring.metrics
    stall_seconds = wiring.settings.stall_seconds
    detector = StallDetector(stall_seconds)

    @app.task  # type: ignore[untyped-decorator]
    async def probe_kafka() -> None:
        failing_since: float | None = None
        lost_at = time.monotonic()
        while True:  # cancelled when the app stops
            answered = await kafka_reachable(app)
            now = time.monotonic()
            if answered:
                failing_since = None
            elif failing_since is None:
                failing_since = now
            # One failed probe is not an outage: a broker being killed or a leader election can
            # fail a metadata request for a moment while the others answer the next one.
            reachable = failing_since is None or (
                state.kafka_ever_reachable and now - failing_since < KAFKA_UNREACHABLE_SECONDS
            )
            # Before the first contact, the start-up wait reports the broker; after it, each change.
            if reachable != state.kafka_reachable and state.kafka_ever_reachable:
                broker = wiring.settings.bootstrap_servers
                if reachable:
                    seconds = round(now - lost_at, 1)
                    log.warning("Kafka reachable again", extra={"broker": broker, "after_seconds": seconds})
                else:
                    lost_at = now if failing_since is None else failing_since
                    log.error("Kafka unreachable: not ready until it answers", extra={"broker": broker})
            state.kafka_reachable = reachable
            state.kafka_ever_reachable |= answered
            await asyncio.sleep(KAFKA_PROBE_SECONDS)

    if stall_seconds <= 0:
        return

    @app.timer(min(max(stall_seconds / 4, 0.5), 10.0))  # type: ignore[untyped-decorator]
    async def watch_stalls() -> None:
        recovery = cast(Any, app.tables).recovery
        if not state.kafka_reachable or recovery.in_recovery or state.draining:
            detector.reset()
            stalled: set[Partition] = set()
            offsets: dict[Partition, tuple[int, int]] = {}
        else:
            try:
                offsets = await asyncio.wait_for(source_offsets(wiring), KAFKA_PROBE_TIMEOUT_SECONDS)
            except (KafkaError, OSError, TimeoutError):
                return
            stalled = detector.observe(time.monotonic(), offsets)
        newly = stalled - state.stalled_partitions
        for topic, partition in sorted(newly):
            lag, committed = offsets[(topic, partition)]
            log.error(
                f"partition stalled: lag and no progress for {stall_seconds:g}s, /healthz fails",
                extra={
                    "topic": topic,
                    "partition": partition,
                    "lag": lag,
                    "committed": committed,
                    "seconds": stall_seconds,
                },
            )
        state.stalled_partitions = stalled
        metrics.partition_stalled.clear()
        for topic, partition in offsets:
            metrics.partition_stalled.labels(topic, str(partition)).set(1 if (topic, partition) in stalled else 0)

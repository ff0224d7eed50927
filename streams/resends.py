"""Records an earlier process already sent, read back from the log so that a crash does not send them again.

A worker killed between sending its outputs and committing its input leaves both behind: the
outputs are in the log, and the input is handled again by whichever worker gets its partition
next, which used to send every output a second time (docs/reliability.md). Each record sent with
an idempotency key carries it in the :data:`IDEMPOTENCY_HEADER` header; when a rebalance gives a
worker partitions it did not have, it reads back the recent tail of the topics those partitions'
hops write (``Wiring.keyed_writes``; ``read_committed``, ``WIRESTREAM_RESEND_LOOKBACK_SECONDS``) before
it sends anything, and the keys
found join :class:`streams.app.Delivered`: a repeat of one of them is dropped like a copy this
process sent itself. Only a key read from the log is skipped, so nothing can be lost; a record
older than the lookback, or not yet replicated when the tail is read, is sent again with the same
key (a double, as before).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.client import group_free_reader
from streams.kafka_access import KafkaAccess

if TYPE_CHECKING:
    from streams.app import Wiring

IDEMPOTENCY_HEADER = "wirestream-idempotency-key"
# Records read back at most per partition, whatever the lookback: bounds the read at a high rate.
MOST_RECORDS_PER_PARTITION = 50_000
# Longest a read-back may take; past it the worker goes on with what it has read (doubles, no loss).
READ_BACK_SECONDS = 20.0

log = logging.getLogger("wirestream.resends")


def idempotency_key(headers: Iterable[tuple[str, bytes]] | None) -> str | None:
    """The idempotency key a record's headers carry, or None."""
    for name, value in headers or ():
        if name == IDEMPOTENCY_HEADER:
            return value.decode("utf-8", "replace")
    return None


def tail_start(end: int, first_recent: int | None, most: int) -> int:
    """Where to start reading a partition that ends at ``end``: at its first record of the lookback
    (``first_recent``, None when it has none), but at most ``most`` records before the end."""
    start = end if first_recent is None else first_recent
    return max(start, end - most, 0)


@dataclass(slots=True)
class ReadBack:
    """What a read-back found: ``(topic, idempotency key)`` pairs, and how it went."""

    keys: list[tuple[str, str]] = field(default_factory=list)
    records: int = 0
    seconds: float = 0.0
    complete: bool = True


async def read_back(
    access: KafkaAccess,
    topics: Sequence[str],
    since: float,
    most_per_partition: int = MOST_RECORDS_PER_PARTITION,
    timeout: float = READ_BACK_SECONDS,
    max_record_bytes: int = 1024 * 1024,
) -> ReadBack:
    """The idempotency keys of the records written to ``topics`` since ``since`` (a Unix time),
    read with ``read_committed`` up to each partition's end as it is now."""
    began = time.monotonic()
    found = ReadBack()
    consumer, partitions = await group_free_reader(access, list(topics), "read_committed", max_record_bytes)
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        recent = await consumer.offsets_for_times({tp: int(since * 1000) for tp in partitions})
        pending: dict[TopicPartition, int] = {}
        for tp in partitions:
            first = recent.get(tp)
            start = tail_start(ends[tp], None if first is None else first.offset, most_per_partition)
            if start < ends[tp]:
                consumer.seek(tp, start)
                pending[tp] = ends[tp]
        await _read_until(consumer, pending, found, began + timeout)
        found.complete = not pending
    finally:
        await consumer.stop()
    found.seconds = time.monotonic() - began
    return found


async def _read_until(
    consumer: AIOKafkaConsumer, pending: dict[TopicPartition, int], found: ReadBack, deadline: float
) -> None:
    """Read the ``pending`` partitions up to their end offsets, or until ``deadline``."""
    while pending and time.monotonic() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=200)
        for tp, records in batches.items():
            end = pending[tp]
            for record in records:
                if record.offset >= end:
                    break
                found.records += 1
                key = idempotency_key(record.headers)
                if key is not None:
                    found.keys.append((tp.topic, key))
        for tp in list(pending):
            if await consumer.position(tp) >= pending[tp]:
                del pending[tp]
                consumer.pause(tp)


def register(wiring: Wiring) -> None:
    """Hold the worker's sends from the start of each rebalance until the outputs of the partitions
    it gained have been read back (see the module's docstring)."""
    settings, delivered = wiring.settings, wiring.delivered
    access = KafkaAccess.from_settings(settings)
    writes = wiring.keyed_writes  # filled as the agents are registered
    owned: set[Any] = set()

    @wiring.app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def hold_sends(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        delivered.hold()

    @wiring.app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def read_back_sent(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        gained = set(assigned or ()) - owned
        owned.clear()
        owned.update(assigned or ())
        written = sorted({output for tp in gained for output in writes.get(tp.topic, ())})
        try:
            if written and settings.resend_lookback_seconds > 0:
                # Bounded whole: reaching a broker that is down can take longer than the read itself.
                await asyncio.wait_for(_seed(wiring, access, written), READ_BACK_SECONDS + 10)
        except Exception as error:  # noqa: BLE001 - without it, repeats go out again: doubles, never a loss
            log.warning("could not read back the records already sent: %r; repeats will be sent again", error)
        finally:
            delivered.release()


async def _seed(wiring: Wiring, access: KafkaAccess, topics: Sequence[str]) -> None:
    settings = wiring.settings
    found = await read_back(
        access,
        topics,
        time.time() - settings.resend_lookback_seconds,
        max_record_bytes=settings.max_record_bytes,
    )
    for topic, key in found.keys:
        wiring.delivered.add(topic, key)
    wiring.metrics.read_back(found.records, found.seconds)
    log.info(
        "read back the records already sent",
        extra={"records": found.records, "keys": len(found.keys), "seconds": round(found.seconds, 3)},
    )
    if not found.complete:
        log.warning("read-back stopped at its time limit; some repeats may be sent again")

"""Every patch of Faust's (and aiokafka's) private API, behind one fence.

The worker depends on six behaviours Faust does not offer (``docs/architecture.md`` says what
each fixes and what leaving Faust would touch):

- :func:`limit_fetch_wait`: the consumer's fetch requests wait ``fetch_max_wait_ms``, not 1.5 s;
- :func:`guard_seek`: the seek after an assignment runs with the fetcher and the agents stopped;
- :func:`commit_only_handled`: an offset is committed only once every earlier one was handled;
- :func:`commit_before_revoke`: what a revoked partition handled is committed before it goes;
- :func:`commit_after_table_writes`: no offset is committed before the table writes made while handling
  it are on the changelog;
- the graceful stop (:class:`streams.worker.GracefulWorker`) hooks ``mode.Worker._schedule_shutdown``;
- :func:`in_event`: a table written outside the agent's loop (the thread stage's held stories)
  writes its changelog as if the story's own event were being handled.

They reach into attributes that can change in any release, so :func:`check_faust` runs before the
worker starts: it refuses to start (:class:`FaustPatchError`, one line) unless the installed Faust
and aiokafka are the pinned versions and every attribute patched or read is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from importlib import metadata
from typing import Any

import faust
import faust.streams
import mode
from aiokafka import AIOKafkaConsumer
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.producer import ProducerBuffer
from faust.types import AppT
from faust.types.tuples import FutureMessage

log = logging.getLogger("wirestream.worker")

#: The versions the patches were written and tested against (pinned in ``pyproject.toml``).
PINNED = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
#: The methods patched, overridden or called, by the class that defines them.
PATCHED_METHODS: tuple[tuple[type, str], ...] = (
    (FaustConsumer, "perform_seek"),
    (FaustConsumer, "stop_flow"),
    (FaustConsumer, "_new_offset"),
    (FaustConsumer, "_add_gap"),
    (FaustConsumer, "on_partitions_revoked"),
    (FaustConsumer, "commit_and_end_transactions"),
    (FaustConsumer, "maybe_wait_for_commit_to_finish"),
    (FaustConsumer, "wait_empty"),
    (FaustConsumer, "commit"),
    (FaustConsumer, "seek"),
    (FaustConsumer, "_is_changelog_tp"),
    (AIOKafkaConsumerThread, "_create_worker_consumer"),
    (ProducerBuffer, "put"),
    (ProducerBuffer, "flush"),
    (mode.Worker, "_schedule_shutdown"),
)
#: The private state read or replaced on the instances, by class (set in their ``__init__``).
PATCHED_STATE: tuple[tuple[type, str], ...] = (
    (FaustConsumer, "_acked"),
    (FaustConsumer, "_acked_index"),
    (FaustConsumer, "_committed_offset"),
    (FaustConsumer, "_commit_fut"),
    (AIOKafkaConsumer, "_fetch_max_wait_ms"),
)


class FaustPatchError(RuntimeError):
    """The installed Faust is not the one the patches of this module were written for."""


def check_faust() -> None:
    """Raise :class:`FaustPatchError` unless the pinned versions are installed and every patched
    method is there (the state set in ``__init__`` is checked as each patch is applied)."""
    for package, pinned in PINNED.items():
        installed = metadata.version(package)
        if installed != pinned:
            raise FaustPatchError(
                f"{package} {installed} is installed but wirestream patches {package} {pinned} "
                "(streams/faust_patches.py); install the pinned version"
            )
    for owner, name in PATCHED_METHODS:
        if not callable(vars(owner).get(name)):  # its own, not an abstract one of a base class
            raise FaustPatchError(f"{_name(owner)}.{name} is gone: streams/faust_patches.py cannot patch it")
    if not isinstance(getattr(faust.streams, "_current_event", None), ContextVar):
        raise FaustPatchError("faust.streams._current_event is gone: streams/faust_patches.py cannot set it")


def _name(owner: type) -> str:
    return f"{owner.__module__}.{owner.__qualname__}"


def _require_state(instance: Any, owner: type) -> None:
    for cls, name in PATCHED_STATE:
        if cls is owner and not hasattr(instance, name):
            raise FaustPatchError(f"{_name(owner)}.{name} is gone: streams/faust_patches.py cannot patch it")


def limit_fetch_wait(app: AppT, milliseconds: int) -> None:
    """Make the consumer's fetch requests wait at most ``milliseconds`` on the broker for new records.

    Faust creates its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting. aiokafka keeps
    one fetch request in flight per broker, for the partitions that have nothing buffered; while it
    waits, partitions that were drained (or that the agents just wrote to, like ``stories.clean``)
    cannot be fetched. The pipeline reads its own output topics, so with 1.5 s every hop could stall
    for up to 1.5 s: the stubbed pipeline measured 327 stories/s with 1500 ms and 667 with 100 ms.
    """
    thread = getattr(app.consumer, "_thread", None)
    if not isinstance(thread, AIOKafkaConsumerThread):
        raise FaustPatchError("Faust's consumer has no aiokafka thread: streams/faust_patches.py cannot patch it")
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        kafka_consumer = create(transport)
        _require_state(kafka_consumer, AIOKafkaConsumer)
        kafka_consumer._fetch_max_wait_ms = milliseconds  # read by AIOKafkaConsumer.start()
        return kafka_consumer

    setattr(thread, "_create_worker_consumer", create_worker_consumer)  # noqa: B010 - instance override


def guard_seek(app: faust.App) -> None:
    """Stop the fetcher and the agents' flow while the consumer seeks to its committed offsets,
    and leave both stopped: every caller of ``Consumer.perform_seek`` resumes them afterwards.

    After an assignment Faust resumes the flow of events (``Recovery``: "Resuming flow..."),
    starts the fetcher, and only then awaits ``perform_seek``. Records fetched meanwhile are
    handled, then fetched again from the committed offset, and the seek resets the consumer's read
    offsets under the running fetch loop: re-read records are dropped or handled twice, and a
    bogus "gap" marks offsets as acknowledged that were never handled. So the fetcher and the
    agents are stopped, and what is buffered dropped, for the duration of the seek.

    They must not be resumed here. Right after the seek ``Recovery.on_recovery_completed`` calls
    ``flow_control.resume()``, which empties every agent's queue even when the flow is already
    active: a record delivered between a resume here and that call was dropped from the queue,
    never acknowledged and never fetched again (the restart test lost one story in five runs
    this way). Both callers in ``Recovery`` resume the agents' flow and then the consumer's; the
    third, ``Consumer.getmany``, seeks only while the flow is stopped and leaves it so.

    A partition with no committed offset (or 0) is not moved by aiokafka's ``seek_to_committed``
    (it seeks only to offsets > 0), so the records dropped here were never fetched again, and with
    no committed offset Faust had no head to hold the commit at: the group committed past them. A
    crash loop lost the first story of two partitions this way. Such partitions are sought to their
    earliest offset (where ``auto_offset_reset=earliest`` starts them), which is also recorded as
    their committed offset, so the commit waits for the story there.
    """
    consumer = app.consumer
    if not isinstance(consumer, FaustConsumer):
        return
    seek = consumer.perform_seek

    async def perform_seek() -> None:
        consumer.stop_flow()
        app.flow_control.suspend()
        app.flow_control.clear()
        await seek()
        uncommitted = [
            tp
            for tp in consumer.assignment()
            if consumer._committed_offset.get(tp) is None and not consumer._is_changelog_tp(tp)
        ]
        if uncommitted:
            earliest = await consumer.earliest_offsets(*uncommitted)
            for tp in uncommitted:
                await consumer.seek(tp, earliest[tp])
                consumer._committed_offset[tp] = earliest[tp]

    setattr(consumer, "perform_seek", perform_seek)  # noqa: B010 - instance override of a method


def committable_offset(acked: list[int], committed: int | None) -> int | None:
    """The offset to commit for a partition: one past the run of acknowledged offsets that starts
    right at ``committed`` (the next offset to read), or None when the offset at ``committed`` has
    not been acknowledged yet. Consumes the run from ``acked`` (kept sorted)."""
    if not acked:
        return None
    acked.sort()
    if committed is not None and acked[0] > committed:
        return None
    end = 0
    while end + 1 < len(acked) and acked[end + 1] == acked[end] + 1:
        end += 1
    offset = acked[end] + 1
    del acked[: end + 1]
    return offset


def commit_only_handled(app: faust.App) -> None:
    """Commit only offsets whose every predecessor was handled.

    Faust commits past a hole at the head of the acknowledged offsets when the hole is one offset
    wide (its check is ``min(acked) - committed > 1``, ``committed`` being the next offset to read),
    and it treats an offset jump in the fetched records as handled ("gaps", meant for compacted or
    transactional topics). The pipeline's topics are neither, so a jump only comes from a race
    between a seek and the fetcher, and the skipped stories were never handled: committing past them
    loses them. Here a hole stops the commit, and a jump is logged, not acknowledged; the stories
    behind it are read again after the next rebalance or restart (at-least-once, never lost).
    """
    consumer = app.consumer
    if not isinstance(consumer, FaustConsumer):
        return
    _require_state(consumer, FaustConsumer)

    def new_offset(tp: Any) -> int | None:
        acked: list[int] = consumer._acked[tp]
        first = min(acked, default=0)
        offset = committable_offset(acked, consumer._committed_offset[tp])
        if offset is not None:
            consumer._acked_index[tp].difference_update(range(first, offset))
        return offset

    async def add_gap(tp: Any, offset_from: int, offset_to: int) -> None:
        log.warning(
            "offsets skipped by the fetcher, not committed",
            extra={"topic": tp.topic, "partition": tp.partition, "from": offset_from, "to": offset_to},
        )

    setattr(consumer, "_new_offset", new_offset)  # noqa: B010 - instance override of a method
    setattr(consumer, "_add_gap", add_gap)  # noqa: B010


def commit_before_revoke(app: faust.App, timeout: float) -> None:
    """Commit everything handled on the partitions being revoked, and at stop, before it goes.

    ``Consumer.on_partitions_revoked`` drops the acknowledged offsets of the revoked partitions
    (all of them: aiokafka revokes everything at each rebalance) and only then calls the app's
    handler, whose final commit therefore has nothing left to commit for them. And Faust's final
    ``commit()`` (at a revoke and at stop) returns without committing when a periodic commit is
    running: it waits for that one, which took its offsets before the last stories were
    acknowledged. Every story handled since the last periodic commit went to the next owner and
    was handled again: instrumented storm runs showed partitions revoked with 5-19 acknowledged
    offsets past the committed one.

    Here, before Faust's revoke handler runs, the flow is stopped and what is buffered dropped (as
    Faust does next), the stories in hand are finished and acknowledged (at most ``timeout``
    seconds), and the final commit waits for a running one and then commits itself. The
    partitions are still assigned then, so the commit is accepted.
    """
    consumer = app.consumer
    if not isinstance(consumer, FaustConsumer):
        return
    _require_state(consumer, FaustConsumer)
    revoke = consumer.on_partitions_revoked

    async def commit_everything_handled() -> None:
        # No await between the loop's last check and commit() taking the slot: no commit can slip in.
        while consumer._commit_fut is not None:
            await consumer.maybe_wait_for_commit_to_finish()
        await consumer.commit(start_new_transaction=False)

    async def on_partitions_revoked(revoked: set[Any]) -> None:
        if consumer.assignment():
            consumer.stop_flow()
            app.flow_control.suspend()
            app.flow_control.clear()
            try:
                await asyncio.wait_for(consumer.wait_empty(), timeout)  # ends with the final commit
            except TimeoutError:
                log.warning("stories still in hand at a revoke, not committed", extra={"seconds": timeout})
        await revoke(revoked)

    setattr(consumer, "commit_and_end_transactions", commit_everything_handled)  # noqa: B010
    setattr(consumer, "on_partitions_revoked", on_partitions_revoked)  # noqa: B010 - instance override


@contextlib.contextmanager
def in_event(event: Any) -> Iterator[None]:
    """Run the block as if Faust were handling ``event``: a table written in it sends its changelog
    to the partition of ``event``, as Faust does inside an agent's loop (outside one it refuses).

    The thread stage decides a story after its event has gone by: when a later event, or its
    timer, releases it from the arrival-order buffer."""
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


class TableWriteError(RuntimeError):
    """A table write the broker did not acknowledge: nothing handled after it may be committed."""


def commit_after_table_writes(app: faust.App) -> None:
    """Make the producer's flush, which every commit awaits first, wait until each table write put
    before it is acknowledged by the broker.

    A table write (``table[key] = value``) goes to RocksDB at once and to the changelog through
    Faust's ``ProducerBuffer``, drained by a task of its own. Before committing, Faust awaits
    ``Producer.flush()``, whose ``ProducerBuffer.flush()`` gives up as soon as 0.1 s passes without
    the drainer taking a message, and does not count the message the drainer holds while aiokafka
    waits for metadata or room: on a busy worker the input offset was committed while the changelog
    writes of the stories it covers were still in the buffer. After a SIGKILL those writes were gone
    but the stories were not read again, so the next owner's table lacked them: a crash loop left a
    story's uri entry without its ``m:`` decision, and a replay of that story (a copy stage 1 sent
    again after its update) was called ``stale`` instead of getting its decision back.

    Here each message put in the buffer is remembered until its send completes, and the flush waits
    for every one put before it. A write the broker refused raises :class:`TableWriteError`, so the
    commit does not happen and the stories are handled again (at-least-once) instead of their table
    state being lost.
    """
    buffer = app.producer.buffer
    if not isinstance(buffer, ProducerBuffer):
        raise FaustPatchError("Faust's producer has no ProducerBuffer: streams/faust_patches.py cannot patch it")
    put, flush = buffer.put, buffer.flush
    unsent: set[FutureMessage] = set()

    def put_and_remember(fut: FutureMessage) -> None:
        unsent.add(fut)
        fut.add_done_callback(unsent.discard)
        put(fut)

    async def flush_until_sent() -> None:
        waiting = set(unsent)
        while waiting:
            if buffer.should_stop:  # the drainer is gone: what is left cannot be waited for
                break
            done, waiting = await asyncio.wait(waiting, timeout=1.0)
            for fut in done:
                failure = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
                if failure is not None:
                    message = fut.message
                    raise TableWriteError(
                        f"a write to {message.channel.get_topic_name()} partition {message.partition} was not "
                        f"acknowledged ({failure!r}): nothing handled after it is committed"
                    )
        await flush()

    setattr(buffer, "put", put_and_remember)  # noqa: B010 - instance override of a method
    setattr(buffer, "flush", flush_until_sent)  # noqa: B010

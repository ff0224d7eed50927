"""The worker process: create topics, load models, run the Faust worker, stop within a grace period."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import signal
import threading
import time
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import AppT

from streams.app import Wiring, create_app
from streams.heap import freeze_startup_objects
from streams.kafka_access import KafkaAccess, KafkaAccessError, as_refusal, wait_for_kafka
from streams.logs import logging_config
from streams.settings import Settings
from streams.topics import ensure_topics
from streams.web import StartupServer

log = logging.getLogger("wirestream.worker")

EXIT_GRACE_EXCEEDED = 70


class TunedWorker(faust.Worker):
    """A Faust worker whose consumer fetch requests wait at most ``fetch_max_wait_ms`` on the broker."""

    def __init__(self, app: faust.App, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(app, *args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms

    async def on_first_start(self) -> None:
        await super().on_first_start()
        limit_fetch_wait(self.app, self.fetch_max_wait_ms)


class GracefulWorker(TunedWorker):
    """A Faust worker that stops cleanly on SIGTERM/SIGINT.

    It stops starting new stories, waits for the ones in flight to be sent and acknowledged,
    then runs Faust's own stop (which flushes the producer and commits the acknowledged
    offsets), and exits 0. Stories fetched but not started stay unacknowledged and are read
    again after the restart, so nothing is lost or doubled. If it all takes longer than
    ``grace_seconds`` the process is forced out with exit code 70.
    """

    def __init__(self, wiring: Wiring, *args: Any, grace_seconds: float, **kwargs: Any) -> None:
        super().__init__(wiring.app, *args, fetch_max_wait_ms=wiring.settings.fetch_max_wait_ms, **kwargs)
        self.wiring = wiring
        self.grace_seconds = grace_seconds
        self._drain: asyncio.Future[None] | None = None

    async def on_first_start(self) -> None:
        await super().on_first_start()
        guard_seek(self.wiring.app)
        commit_only_handled(self.wiring.app)

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._drain is not None:
            return
        log.info("shutdown requested", extra={"signal": signum.name, "grace_seconds": self.grace_seconds})
        watchdog = threading.Timer(self.grace_seconds, self._grace_exceeded)
        watchdog.daemon = True
        watchdog.start()
        self.wiring.readiness.draining = True
        self._drain = asyncio.ensure_future(self._drain_then_stop(signum), loop=self.loop)

    async def _drain_then_stop(self, signum: signal.Signals) -> None:
        state, app = self.wiring.readiness, self.wiring.app
        # Stop the flow of events into the agents and drop what is buffered (unacknowledged,
        # so read again after the restart), as Faust itself does before a rebalance.
        app.flow_control.suspend()
        if app.consumer is not None:
            app.consumer.pause_partitions(app.consumer.assignment())
        app.flow_control.clear()
        deadline = self.loop.time() + self.grace_seconds / 2
        while state.in_flight and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        log.info("in-flight stories finished, stopping", extra={"still_in_flight": state.in_flight})
        super()._schedule_shutdown(signum)

    def _grace_exceeded(self) -> None:
        log.error("shutdown grace period exceeded, exiting", extra={"grace_seconds": self.grace_seconds})
        logging.shutdown()
        os._exit(EXIT_GRACE_EXCEEDED)


def limit_fetch_wait(app: AppT, milliseconds: int) -> None:
    """Make the consumer's fetch requests wait at most ``milliseconds`` on the broker for new records.

    Faust creates its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting. aiokafka keeps
    one fetch request in flight per broker, for the partitions that have nothing buffered; while it
    waits, partitions that were drained (or that the agents just wrote to, like ``stories.clean``)
    cannot be fetched. The pipeline reads its own output topics, so with 1.5 s every hop could stall
    for up to 1.5 s: the stubbed pipeline measured 327 stories/s with 1500 ms and 667 with 100 ms.
    """
    consumer = app.consumer
    thread = getattr(consumer, "_thread", None)
    create = getattr(thread, "_create_worker_consumer", None)
    if create is None:
        log.warning("cannot limit the fetch wait: Faust's consumer thread changed")
        return

    def create_worker_consumer(transport: Any) -> Any:
        kafka_consumer = create(transport)
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


def run_worker(settings: Settings) -> None:
    """Run a worker until it is told to stop; never returns (exits the process).

    Until Faust's web server is up, a :class:`StartupServer` answers the health endpoints. A broker
    that refuses the settings ends the worker at once (exit 78); one that does not answer is
    waited for, up to ``broker_wait_seconds`` (then exit 69).
    """
    config = logging_config(settings.log_level)
    logging.config.dictConfig(config)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    startup = StartupServer(settings.web_host, settings.web_port)
    access = KafkaAccess.from_settings(settings)
    try:
        startup.phase = "waiting for Kafka"
        loop.run_until_complete(wait_for_kafka(access, settings.broker_wait_seconds, log.warning))
        created = loop.run_until_complete(ensure_topics(settings))
        if created:
            log.info("created topics", extra={"topics": created})
        startup.phase = "loading models"
        wiring = _load(settings)
    except KafkaAccessError as error:
        log.error(str(error))
        logging.shutdown()
        raise SystemExit(error.exit_code) from None
    except KafkaError as error:  # e.g. the user may not create or describe the topics (ACLs)
        refusal = as_refusal(error, access)
        log.error(str(refusal) if refusal else f"Kafka failed to set up the topics: {error}")
        logging.shutdown()
        raise SystemExit(refusal.exit_code if refusal else 1) from None
    finally:
        startup.close()

    worker = GracefulWorker(
        wiring,
        loglevel=settings.log_level,
        logging_config=config,
        quiet=True,
        loop=loop,
        grace_seconds=settings.shutdown_grace_seconds,
    )
    worker.execute_from_commandline()


def _load(settings: Settings) -> Wiring:
    """Build the app and load the models (the slow part of start-up)."""
    wiring = create_app(settings)

    from agents import cleaning, entities, language

    started = time.perf_counter()
    cleaning.warm_up()
    language_seconds = language.warm_up(settings.language_short_text_model)
    wiring.metrics.model_load_seconds.labels("language").set(language_seconds)
    if settings.entities_enabled:
        for code, seconds in entities.warm_up().items():
            wiring.metrics.model_load_seconds.labels(f"ner-{code}").set(seconds)
    log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 3)})
    if settings.gc_freeze:
        freeze_startup_objects()
    wiring.readiness.models_loaded = True
    return wiring

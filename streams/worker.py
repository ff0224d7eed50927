"""The worker process: create topics, load models, run the Faust worker, stop within a grace period."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import signal
import threading
from typing import Any

import faust
from aiokafka.errors import KafkaError

from streams.app import Wiring, create_app
from streams.faust_patches import (
    check_faust,
    commit_after_table_writes,
    commit_before_revoke,
    commit_only_handled,
    guard_seek,
    limit_fetch_wait,
)
from streams.kafka_access import KafkaAccess, KafkaAccessError, as_refusal, wait_for_kafka
from streams.logs import logging_config
from streams.pipeline import Pipeline
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
        commit_before_revoke(self.wiring.app, self.wiring.settings.session_timeout_seconds)
        commit_after_table_writes(self.wiring.app)

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._drain is not None:
            return
        log.info("shutdown requested", extra={"signal": signum.name, "grace_seconds": self.grace_seconds})
        watchdog = threading.Timer(self.grace_seconds, self._grace_exceeded)
        watchdog.daemon = True
        watchdog.start()
        self.wiring.readiness.draining = True
        self.wiring.delivered.release()  # a send held by a rebalance that will not finish now goes out
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


def _exit_before_start(signum: int, frame: object) -> None:
    # Nothing is open that needs closing yet (no consumer, no table). SystemExit raised from a signal
    # handler can land inside a callback that swallows it (seen: a weakref finalizer), so exit here.
    log.info("stop requested while starting (loading models), exiting", extra={"signal": signal.Signals(signum).name})
    logging.shutdown()
    os._exit(0)


def run_worker(settings: Settings, pipeline: Pipeline | None = None) -> None:
    """Run a worker, its agents calling ``pipeline`` (by default the one ``settings`` make), until it
    is told to stop; never returns (exits the process).

    Until Faust's web server is up, a :class:`StartupServer` answers the health endpoints. A broker
    that refuses the settings ends the worker at once (exit 78); one that does not answer is
    waited for, up to ``broker_wait_seconds`` (then exit 69). Raises
    :class:`streams.faust_patches.FaustPatchError` before anything starts when the installed Faust is
    not the one its patches were written for.
    """
    check_faust()
    config = logging_config(settings.log_level)
    logging.config.dictConfig(config)
    # Until Faust's worker installs its own handlers: a stop while the topics are checked or the
    # models load (tens of seconds on a busy machine) has nothing to drain, so exit at once, and say so.
    signal.signal(signal.SIGTERM, _exit_before_start)
    signal.signal(signal.SIGINT, _exit_before_start)
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
        wiring = _load(settings, pipeline)
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


def _load(settings: Settings, pipeline: Pipeline | None) -> Wiring:
    """Build the app and load the models (the slow part of start-up)."""
    wiring = create_app(settings, pipeline)

    for model, seconds in wiring.pipeline.warm_up().items():
        wiring.metrics.model_load_seconds.labels(model).set(seconds)
    wiring.readiness.models_loaded = True
    return wiring

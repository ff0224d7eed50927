"""The worker's web views: ``/metrics`` (Prometheus), ``/healthz`` (alive: the event loop turns and
no partition is stalled) and ``/readyz`` (ready: Kafka reachable, group joined, tables recovered,
models loaded; a member with no partition is ready)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from faust.exceptions import ConsumerNotStarted

if TYPE_CHECKING:
    from faust.web import Request, Response, View

    from streams.app import Wiring

HEALTH_TICK_SECONDS = 1.0
MAX_LOOP_STALL_SECONDS = 10.0
# aiohttp refuses a charset inside content_type; the text format is UTF-8 by definition.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def readiness(wiring: Wiring) -> dict[str, Any]:
    """What ``/readyz`` answers: each condition and whether all hold."""
    app = wiring.app
    try:
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment()) if app.consumer else []
    except ConsumerNotStarted:  # the web server answers before Faust has started its consumer thread
        assigned = []
    recovery = cast(Any, app.tables).recovery
    tables_recovered = recovery.completed.is_set() and not recovery.in_recovery
    checks = {
        "kafka_reachable": wiring.readiness.kafka_reachable,
        "group_joined": wiring.readiness.group_joined,
        "tables_recovered": tables_recovered,
        "models_loaded": wiring.readiness.models_loaded,
    }
    draining = wiring.readiness.draining
    return {
        "ready": all(checks.values()) and not draining,
        "checks": checks,
        "draining": draining,
        "assigned_partitions": len(assigned),
    }


def register(wiring: Wiring) -> None:
    """Add the web views and the event-loop heartbeat they check."""
    app, metrics, state = wiring.app, wiring.metrics, wiring.readiness

    @app.task  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        while True:  # cancelled when the app stops
            state.last_tick = time.monotonic()
            await asyncio.sleep(HEALTH_TICK_SECONDS)

    @app.page("/metrics")
    async def metrics_view(web: View, request: Request) -> Response:
        return web.bytes(metrics.exposition(), content_type=METRICS_CONTENT_TYPE)

    @app.page("/healthz")
    async def health_view(web: View, request: Request) -> Response:
        since_tick = time.monotonic() - state.last_tick
        stalled = sorted(f"{topic}:{partition}" for topic, partition in state.stalled_partitions)
        alive = since_tick < MAX_LOOP_STALL_SECONDS and not stalled
        body = {"alive": alive, "event_loop_last_tick_seconds_ago": round(since_tick, 3), "stalled_partitions": stalled}
        return web.json(body, status=200 if alive else 503)

    @app.page("/readyz")
    async def ready_view(web: View, request: Request) -> Response:
        body = readiness(wiring)
        return web.json(body, status=200 if body["ready"] else 503)


class StartupServer:
    """The health endpoints while the worker starts (waiting for Kafka, loading models), before
    Faust's web server takes the port: ``/healthz`` 200, ``/readyz`` and ``/metrics`` 503, each
    saying what the worker is doing. Runs in a thread, so it answers while start-up blocks."""

    def __init__(self, host: str, port: int) -> None:
        self.phase = "starting"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                alive = self.path.split("?")[0] == "/healthz"
                body = {"alive": True} if alive else {"ready": False}
                payload = json.dumps({**body, "starting": server.phase}).encode()
                self.send_response(200 if alive else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Probes are not logged."""

        self._http = _QuietHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="startup-web", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop answering and free the port for Faust's web server."""
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


class _QuietHTTPServer(ThreadingHTTPServer):
    """A probe that hangs up before its answer is not worth a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore the failed request."""

"""A partition that stops making progress is exported and fails ``/healthz``, so it gets restarted."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from typing import Any

import orjson
import pytest

from streams.client import consume, produce
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import without_slow_models
from tests.integration.stall_worker import STALL_MARKER
from tests.integration.test_lifecycle import story

pytestmark = pytest.mark.integration

STALL_SECONDS = 4.0


def test_a_blocked_agent_is_a_stall_on_metrics_and_healthz(settings: Settings, start_worker: Any) -> None:
    settings = without_slow_models(settings, stall_seconds=STALL_SECONDS)
    asyncio.run(ensure_topics(settings))
    worker = start_worker(settings, "stall", command=("-m", "tests.integration.stall_worker"))
    bootstrap, raw = settings.bootstrap_servers, settings.topic_raw
    asyncio.run(produce(bootstrap, raw, [story(i) for i in range(4)], partition=0))
    enriched = asyncio.run(consume(bootstrap, [settings.topic_enriched], expected=4, timeout=60))
    assert len(enriched) == 4, worker.tail()
    time.sleep(STALL_SECONDS + 2)  # an idle partition (no lag) is not stalled, however long
    status, body = worker.get("/healthz")
    assert status == 200 and orjson.loads(body)["stalled_partitions"] == [], body

    stuck = orjson.dumps({"uri": "urn:test:stall", "body_text": STALL_MARKER.decode()})
    asyncio.run(produce(bootstrap, raw, [stuck, story(4), story(5)], partition=0))
    deadline = time.monotonic() + STALL_SECONDS + 20
    while time.monotonic() < deadline:
        status, body = worker.get("/healthz")
        if status != 200:
            break
        time.sleep(0.5)
    health = orjson.loads(body)
    assert status == 503 and health["alive"] is False, (body, worker.tail())
    assert health["stalled_partitions"] == [f"{raw}:0"]
    _, metrics = worker.get("/metrics")
    gauges = dict(
        re.findall(rb'wirestream_partition_stalled\{partition="(\d+)",topic="' + raw.encode() + rb'"\} (\S+)', metrics)
    )
    assert gauges[b"0"] == b"1.0" and gauges[b"1"] == b"0.0", metrics
    worker.stop(signal.SIGKILL)  # the blocked story would hold a graceful stop for its whole grace period

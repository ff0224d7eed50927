"""The worker as a service: SIGTERM restarts lose and double nothing, nor does a worker that handles
again what an earlier one sent; health and readiness answer."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
import time
from collections import Counter
from typing import Any

import orjson
import pytest

from streams.client import consume, produce, read_messages
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import WorkerProcess, distinct_words, free_port, without_slow_models

pytestmark = pytest.mark.integration


def story(i: int) -> bytes:
    return orjson.dumps(
        {
            "uri": f"urn:test:lifecycle-{i}",
            "headline": f"Harbour report {i}",
            "body_text": f"Ship {i} reached the port of Rotterdam on Wednesday with {i * 11} containers, the "
            f"harbour authority said. Dock workers unloaded cargo number {i * 17} before the storm. "
            + distinct_words(i),
        }
    )


def test_sigterm_restart_loses_and_doubles_nothing(settings: Settings, start_worker: Any) -> None:
    settings = without_slow_models(settings)
    asyncio.run(ensure_topics(settings))
    total = 80
    first = start_worker(settings, "before-sigterm")

    def publish() -> None:
        for start in range(0, total, 10):
            asyncio.run(
                produce(settings.bootstrap_servers, settings.topic_raw, [story(i) for i in range(start, start + 10)])
            )
            time.sleep(0.5)

    publisher = threading.Thread(target=publish)
    publisher.start()
    time.sleep(2.0)
    began = time.monotonic()
    exit_code = first.stop(signal.SIGTERM, timeout=settings.shutdown_grace_seconds + 10)
    stopped_in = time.monotonic() - began
    assert exit_code == 0, first.tail()
    assert stopped_in < settings.shutdown_grace_seconds
    start_worker(settings, "after-sigterm")
    publisher.join()

    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    records = asyncio.run(consume(settings.bootstrap_servers, outputs, expected=total + 1, timeout=120, idle=15))
    counts = Counter(r["item"]["uri"] for t, r in records if t == settings.topic_enriched)
    assert {t for t, _ in records} == {settings.topic_enriched}
    assert set(counts) == {f"urn:test:lifecycle-{i}" for i in range(total)}, "lost stories"
    assert max(counts.values()) == 1, [uri for uri, n in counts.items() if n > 1]


def test_a_worker_that_handles_again_what_was_sent_sends_none_of_it_again(
    settings: Settings, start_worker: Any
) -> None:
    """What a SIGKILL leaves behind, made certain: every output in the log and no input committed.
    A worker of another group (no committed offsets, empty tables) handles every message again at
    every hop; the records read back from the log when it got its partitions stop each repeat."""
    settings = without_slow_models(settings)
    asyncio.run(ensure_topics(settings))
    total = 12
    asyncio.run(produce(settings.bootstrap_servers, settings.topic_raw, [story(i) for i in range(total)]))
    first = start_worker(settings, "first")
    sent = asyncio.run(consume(settings.bootstrap_servers, [settings.topic_enriched], expected=total, timeout=120))
    assert len(sent) == total, first.tail()
    assert first.stop() == 0, first.tail()

    again = settings.with_overrides(app_id=f"{settings.app_id}-again", web_port=free_port())
    second = start_worker(again, "again")
    hops = [settings.topic_clean, settings.topic_unique, settings.topic_tagged, settings.topic_enriched]
    dropped_patterns = [
        re.compile(rf'^wirestream_copies_dropped_total{{topic="{re.escape(hop)}"}} (\S+)$', re.M) for hop in hops
    ]
    deadline, dropped = time.monotonic() + 120, [0.0]
    while time.monotonic() < deadline and min(dropped) < total:
        metrics = second.get("/metrics")[1].decode()
        dropped = [float(found.group(1)) if (found := p.search(metrics)) else 0.0 for p in dropped_patterns]
        time.sleep(0.5)
    assert dropped == [total] * len(hops), (dropped, second.tail())

    # Every hop has handled every message again: the topics' ends are where a repeat would show.
    written = asyncio.run(read_messages(settings.bootstrap_servers, hops, timeout=30, to_end=True))
    per_topic = Counter(message.topic for message in written)
    assert per_topic == dict.fromkeys(hops, total), "a repeat was sent again"


def test_health_and_readiness_views(settings: Settings, start_worker: Any) -> None:
    settings = without_slow_models(settings)
    asyncio.run(ensure_topics(settings))
    worker = start_worker(settings)
    status, body = worker.get("/healthz")
    health = orjson.loads(body)
    assert status == 200 and health["alive"] is True, body
    assert health["stalled_partitions"] == []
    assert health["event_loop_last_tick_seconds_ago"] < 5
    deadline = time.monotonic() + 30  # a second rebalance right after the first makes it flip briefly
    while True:
        status, body = worker.get("/readyz")
        ready = orjson.loads(body)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200, (body, worker.tail())
    assert ready["ready"] is True
    assert ready["checks"] == {
        "kafka_reachable": True,
        "group_joined": True,
        "tables_recovered": True,
        "models_loaded": True,
    }
    assert ready["assigned_partitions"] > 0
    worker.stop()
    status_code = worker.process.returncode
    assert status_code == 0


def test_a_member_with_no_partition_is_ready(settings: Settings, tmp_path: Any) -> None:
    """One partition per topic and three workers: the third has nothing (the second holds the table's
    standby), yet it is a healthy member of the group, and a rolling deployment waits on its /readyz."""
    settings = without_slow_models(settings, partitions=1, output_partitions=1)
    asyncio.run(ensure_topics(settings))
    workers = [
        WorkerProcess(settings.with_overrides(web_port=free_port()), tmp_path / f"worker-{i}.log") for i in range(3)
    ]
    try:
        for worker in workers:
            worker.spawn()  # they load their models side by side
        for worker in workers:
            worker.wait_ready(180)
        bodies = [orjson.loads(worker.get("/readyz")[1]) for worker in workers]
        assert sorted(body["assigned_partitions"] for body in bodies)[0] == 0, bodies
        assert all(body["ready"] and body["checks"]["group_joined"] for body in bodies), bodies
    finally:
        for worker in workers:
            worker.stop()


def test_sigterm_while_loading_models_exits_cleanly_and_says_so(settings: Settings, tmp_path: Any) -> None:
    worker = WorkerProcess(settings, tmp_path / "loading.log").spawn()
    deadline = time.monotonic() + 60
    while "created topics" not in worker.tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "models loaded" not in worker.tail(), "the models loaded too fast to test this"
    exit_code = worker.stop(signal.SIGTERM, timeout=30)
    assert exit_code == 0, worker.tail()
    assert "stop requested while starting (loading models)" in worker.tail(), worker.tail()

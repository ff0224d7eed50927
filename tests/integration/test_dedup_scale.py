"""Dedup on the real broker: partition-safe (1 worker = 2 workers on 8 partitions) and crash-safe
(SIGKILL mid-stream, restart on RocksDB: every story decided as in an uninterrupted run)."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.clean import prepare
from agents.dedup import NearDedup, deduplicate
from schemas.records import DuplicateNotice, KafkaSource, StoryInFlight
from streams.client import consume, produce
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import REPO, WorkerProcess, without_slow_models
from tests.shared_folder import shared_dir

pytestmark = pytest.mark.integration

SHARED = shared_dir()
SENTENCES = SHARED / "eval" / "lingua-testdata" / "language-testdata" / "sentences"
LANGUAGES = ("en", "de", "fr", "es", "zh")


def sentences(language: str) -> list[str]:
    path = SENTENCES / f"{language}.txt"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 20]


def stories(prefix: str = "") -> list[bytes]:
    """Per language: three originals (8 real sentences each), a near copy (a sentence swapped, a
    headline line added), an exact copy under another uri, a re-send (same uri, version, headline and
    body), an update and a stale version; the languages interleaved."""
    per_language: list[list[dict[str, Any]]] = []
    for language in LANGUAGES:
        lines = sentences(language)
        joiner = "" if language == "zh" else " "
        body = [joiner.join(lines[k * 10 : k * 10 + 8]) for k in range(3)]
        uri = [f"urn:{prefix}{language}:original-{k}" for k in range(3)]
        near = joiner.join([*lines[0:3], lines[40], *lines[4:8]])
        per_language.append(
            [
                {"uri": uri[0], "version": "1", "body_text": body[0]},
                {"uri": uri[1], "version": "1", "body_text": body[1]},
                {"uri": uri[2], "version": "1", "body_text": body[2]},
                {"uri": f"urn:{prefix}{language}:near", "body_text": "BREAKING\n\n" + near},
                {"uri": f"urn:{prefix}{language}:copy", "body_text": body[1]},
                {"uri": uri[0], "version": "1", "body_text": body[0], "headline": f"{language} 0"},  # re-sent
                {"uri": uri[2], "version": "2", "body_text": body[2] + joiner + lines[50]},
                {"uri": uri[2], "version": "1", "body_text": body[2]},  # late: older than version 2
            ]
        )
    out = []
    for step in range(8):
        for language, items in zip(LANGUAGES, per_language, strict=True):
            out.append(orjson.dumps({"headline": f"{language} {step}", **items[step], "language": language}))
    return out


EXPECTED = {  # per language, in step order
    0: ("new", None),
    1: ("new", None),
    2: ("new", None),
    3: ("near", "original-0"),
    4: ("exact", "original-1"),
    5: ("exact", "original-0"),
    6: ("update", "original-2"),
    7: ("stale", "original-2"),
}


def decision(topic: str, record: dict[str, Any], settings: Settings) -> tuple[int, tuple[Any, ...]]:
    """The raw offset of the story and its decision, without times."""
    if topic == settings.topic_duplicates:
        ref = record["duplicate_of"]
        return record["source"]["offset"], (
            record["uri"],
            record["version"],
            record["kind"],
            ref["uri"],
            ref["version"],
            round(record["similarity"], 6),
        )
    assert topic == settings.topic_enriched, (topic, record)
    tag = record["enrichment"]["dedup"]
    sup = tag["supersedes"] or {}
    item = record["item"]
    return record["enrichment"]["source"]["offset"], (
        item["uri"],
        item.get("version"),
        tag["status"],
        sup.get("uri"),
        sup.get("version"),
        tag["fingerprint"],
    )


def decisions(records: list[tuple[str, dict[str, Any]]], settings: Settings) -> dict[int, tuple[Any, ...]]:
    """One decision per raw offset; a replayed story must come out identical to its first time."""
    found: dict[int, tuple[Any, ...]] = {}
    for topic, record in records:
        offset, made = decision(topic, record, settings)
        assert found.setdefault(offset, made) == made, f"offset {offset} decided twice differently"
    return found


def check_expected(decided: dict[int, tuple[Any, ...]]) -> None:
    for offset, made in decided.items():
        step, language = divmod(offset, len(LANGUAGES))
        kind, original = EXPECTED[step]
        assert made[2] == kind, (LANGUAGES[language], step, made)
        if original is not None:
            assert made[3].endswith(f"{LANGUAGES[language]}:{original}"), made


def isolated(settings: Settings, **changes: Any) -> Settings:
    """Another pipeline on the same broker: its own app id, topics and web port."""
    run = uuid.uuid4().hex[:8]
    names = {name: f"t{run}.{getattr(settings, name).split('.', 1)[1]}" for name in Settings.topic_names()}
    return dataclasses.replace(
        settings, app_id=f"wirestream-test-{run}", data_dir=f"/tmp/wirestream-test-{run}", **names, **changes
    )


def start_all(workers: list[WorkerProcess]) -> None:
    """Start the processes together, then wait until each is ready (models load in parallel)."""
    import subprocess
    import sys

    from tests.integration.conftest import settings_env

    for worker in workers:
        worker._log = worker.log_path.open("ab")
        worker.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=settings_env(worker.settings),
            stdout=worker._log,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    for worker in workers:
        worker.wait_ready(120)


def run_pipeline(settings: Settings, count: int, tmp_path: Path, name: str) -> dict[int, tuple[Any, ...]]:
    asyncio.run(ensure_topics(settings))
    workers = [
        WorkerProcess(dataclasses.replace(settings, web_port=settings.web_port + i), tmp_path / f"{name}-{i}.log")
        for i in range(count)
    ]
    try:
        start_all(workers)
        payloads = stories()
        outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
        asyncio.run(produce(settings.bootstrap_servers, settings.topic_raw, payloads, partition=0))
        records = asyncio.run(consume(settings.bootstrap_servers, outputs, expected=len(payloads), timeout=60))
        assert len(records) == len(payloads), [w.tail() for w in workers]
        if count > 1:
            for worker in workers:
                _status, body = worker.get("/readyz")
                assert orjson.loads(body)["assigned_partitions"] > 0, body
        return decisions(records, settings)
    finally:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.stop()


def test_two_workers_on_eight_partitions_decide_as_one(settings: Settings, tmp_path: Path) -> None:
    base = without_slow_models(settings, partitions=8)
    alone = run_pipeline(isolated(base), 1, tmp_path, "alone")
    shared = run_pipeline(isolated(base, web_port=settings.web_port + 10), 2, tmp_path, "shared")
    assert len(alone) == len(stories())
    check_expected(alone)
    assert shared == alone


def reference() -> dict[int, tuple[Any, ...]]:
    """The uninterrupted run, in process: the stage functions the worker calls, on the same bytes."""
    state: dict[str, Any] = {}
    near = NearDedup()
    out: dict[int, tuple[Any, ...]] = {}
    for offset, payload in enumerate(stories()):
        [story] = prepare(payload, None, KafkaSource("raw", 0, offset), 1.0e9 + offset, 2**21)
        assert isinstance(story, StoryInFlight)
        made = deduplicate(story, state, 7 * 24 * 3600.0, near)
        if isinstance(made, DuplicateNotice):
            ref = made.duplicate_of
            out[offset] = (made.uri, made.version, made.kind, ref.uri, ref.version, round(made.similarity, 6))
        else:
            assert made.dedup is not None
            sup = made.dedup.supersedes
            out[offset] = (
                made.story.uri,
                made.story.version,
                made.dedup.status,
                None if sup is None else sup.uri,
                None if sup is None else sup.version,
                made.dedup.fingerprint,
            )
    return out


def test_sigkill_mid_stream_then_restart_decides_as_uninterrupted(settings: Settings, tmp_path: Path) -> None:
    """On RocksDB (rocksdict): kill -9 while stories flow, restart on the same data dir."""
    settings = isolated(without_slow_models(settings, partitions=8, store="rocksdb://"))
    asyncio.run(ensure_topics(settings))
    payloads = stories()
    expected = reference()
    check_expected(expected)

    first = WorkerProcess(settings, tmp_path / "before-kill.log")
    start_all([first])

    def publish() -> None:
        for start in range(0, len(payloads), 4):
            batch = payloads[start : start + 4]
            asyncio.run(produce(settings.bootstrap_servers, settings.topic_raw, batch, partition=0))
            time.sleep(0.4)

    publisher = threading.Thread(target=publish)
    publisher.start()
    time.sleep(1.5)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    second = WorkerProcess(settings, tmp_path / "after-kill.log")
    try:
        start_all([second])
        publisher.join()
        outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
        records = asyncio.run(consume(settings.bootstrap_servers, outputs, timeout=60, idle=8))
    finally:
        publisher.join()
        second.stop()
    decided = decisions(records, settings)
    assert decided == expected, second.tail()
    stored = list(Path(settings.data_dir).rglob("CURRENT"))
    assert stored, "no RocksDB database in the data dir"
    log = (tmp_path / "after-kill.log").read_text(errors="replace")
    assert "dedup index rebuilt" in log

"""The whole pipeline on a real Kafka broker, through the real ``wirestream worker`` command."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.multilingual import DIMENSIONS
from streams.agents import VECTOR_HEADER
from streams.client import consume, produce, read_messages
from streams.offline import enrich_files, read_inputs
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.bench_scripts import load_bench_script
from tests.integration.conftest import REPO, distinct_words, free_port, without_slow_models

pytestmark = pytest.mark.integration

# The CI contract check, loaded as its script runs (it finds the shared folder through bench/_repo.py).
check_ninjs = load_bench_script("check_ninjs")
IPTC_NINJS, ninjs_validator = check_ninjs.IPTC_NINJS, check_ninjs.validator


SAMPLES = REPO / "samples" / "stories.jsonl"
ENRICHED_DUMP = Path(os.environ.get("WIRESTREAM_ENRICHED_DUMP", REPO / ".local" / "test-output" / "enriched.jsonl"))
#: Where the enriched records of each ninjs version are kept for the CI contract check (.ci/run).
ENRICHED_DUMPS = {"2.2": ENRICHED_DUMP, "3.0": ENRICHED_DUMP.with_name(f"{ENRICHED_DUMP.stem}-ninjs-3.0.jsonl")}


def outputs(settings: Settings) -> list[str]:
    return [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def sample_payloads() -> list[bytes]:
    return [payload for _, payload in read_inputs([str(SAMPLES)])]


def by_topic(records: list[tuple[str, dict[str, Any]]], settings: Settings) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {t: [] for t in outputs(settings)}
    for topic, record in records:
        grouped[topic].append(record)
    return grouped


def dump_enriched(records: list[dict[str, Any]], version: str) -> None:
    """Keep the enriched records for the CI check that validates them against ninjs ``version``,
    and validate them here too when the official schemas are at hand (always on CI)."""
    path = ENRICHED_DUMPS[version]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as stream:
        for record in records:
            stream.write(orjson.dumps(record) + b"\n")
    if IPTC_NINJS.exists() or os.environ.get("CI"):
        validator = ninjs_validator(version)
        for record in records:
            errors = [e.message for e in validator.iter_errors(record["item"])]
            assert not errors, (record["item"]["uri"], errors)


def test_samples_end_to_end(settings: Settings, start_worker: Any) -> None:
    """Every sample story ends in exactly one output, with the decisions DESIGN §3 asks for."""
    run(ensure_topics(settings))
    start_worker(settings)
    payloads = sample_payloads()
    run(produce(settings.bootstrap_servers, settings.topic_raw, payloads, partition=0))
    records = run(consume(settings.bootstrap_servers, outputs(settings), expected=len(payloads), timeout=120))
    grouped = by_topic(records, settings)
    enriched, duplicates, dead = (grouped[t] for t in outputs(settings))

    assert len(records) == len(payloads), f"count in {len(payloads)} != count out {len(records)}"
    status = {(r["item"]["uri"], r["item"].get("version")): r["enrichment"]["dedup"]["status"] for r in enriched}
    assert status == {
        ("urn:wirestream:sample:ecb-rates", "1"): "new",
        ("urn:wirestream:sample:nucleaire", "1"): "new",
        ("urn:wirestream:sample:bahn-streik", "1"): "new",
        ("urn:wirestream:sample:sequia", "1"): "new",
        ("urn:wirestream:sample:ukraine-call", "1"): "new",
        ("urn:wirestream:sample:bahn-streik", "2"): "update",
        ("urn:wirestream:sample:sequia", "2"): "update",
    }
    kinds = sorted((d["uri"], d["kind"], d["duplicate_of"]["uri"]) for d in duplicates)
    assert kinds == [
        ("https://journal.example/economie/nucleaire-projet-de-loi", "exact", "urn:wirestream:sample:nucleaire"),
        ("urn:wirestream:sample:bahn-streik", "stale", "urn:wirestream:sample:bahn-streik"),
        ("urn:wirestream:sample:ecb-rates", "exact", "urn:wirestream:sample:ecb-rates"),
    ]
    assert sorted(d["error"]["type"] for d in dead) == ["EmptyBody", "InvalidJson", "MissingUri"]

    languages = {r["item"]["uri"]: r["item"]["language"] for r in enriched}
    assert languages["urn:wirestream:sample:nucleaire"] == "fr"
    assert languages["urn:wirestream:sample:ecb-rates"] == "en"
    assert languages["urn:wirestream:sample:bahn-streik"] == "de"
    ecb = next(r for r in enriched if r["item"]["uri"] == "urn:wirestream:sample:ecb-rates")
    people = {p["name"] for p in ecb["item"].get("people", [])}
    assert "Christine Lagarde" in people
    french = next(r for r in enriched if r["item"]["uri"] == "urn:wirestream:sample:nucleaire")
    assert "Bruno Le Maire" in {p["name"] for p in french["item"].get("people", [])}
    assert any("geojson" in place for r in enriched for place in r["item"].get("places", []))
    dump_enriched(enriched, "2.2")


def test_bad_input_goes_to_dead_letter_and_worker_goes_on(settings: Settings, start_worker: Any) -> None:
    """Each kind of bad input becomes one dead letter with its reason and its bytes intact."""
    settings = without_slow_models(settings, max_payload_bytes=4096)
    run(ensure_topics(settings))
    worker = start_worker(settings)
    good = orjson.dumps(
        {
            "uri": "urn:test:good-after-bad",
            "headline": "Storm hits the coast",
            "body_text": "A powerful storm hit the Atlantic coast of France on Monday, cutting power to thousands "
            "of homes in Brittany and Normandy, the national grid operator said.",
        }
    )
    bad = {
        "InvalidUtf8": b'{"uri": "urn:test:latin1", "body_text": "caf\xe9"}',
        "InvalidJson": b'{"uri": "urn:test:broken",',
        "NotAnObject": b'["a", "list"]',
        "MissingUri": b'{"headline": "no uri", "body_text": "text"}',
        "WrongFieldType": b'{"uri": "urn:test:types", "headline": 42, "body_text": "text"}',
        "EmptyBody": b'{"uri": "urn:test:empty", "headline": "empty", "body_text": ""}',
        "PayloadTooLarge": orjson.dumps({"uri": "urn:test:huge", "body_text": "x " * 5000}),
    }
    run(produce(settings.bootstrap_servers, settings.topic_raw, [*bad.values(), good], partition=0))
    records = run(consume(settings.bootstrap_servers, outputs(settings), expected=len(bad) + 1, timeout=90))
    grouped = by_topic(records, settings)
    dead = grouped[settings.topic_deadletter]

    assert [r["item"]["uri"] for r in grouped[settings.topic_enriched]] == ["urn:test:good-after-bad"]
    assert len(dead) == len(bad)
    for letter in dead:
        error_type = letter["error"]["type"]
        assert error_type in bad
        assert letter["error"]["stage"] == "validate"
        assert letter["error"]["message"]
        original = (
            base64.b64decode(letter["payload"])
            if letter["payload_encoding"] == "base64"
            else letter["payload"].encode("utf-8")
        )
        assert original == bad[error_type], error_type
        assert letter["source"]["topic"] == settings.topic_raw
    assert next(d for d in dead if d["error"]["type"] == "InvalidUtf8")["payload_encoding"] == "base64"

    status, body = worker.get("/metrics")
    assert status == 200
    assert b'wirestream_dead_letters_total{reason="InvalidJson",stage="validate"} 1.0' in body


def test_a_story_over_kafkas_default_record_limit_comes_out_whole(settings: Settings, start_worker: Any) -> None:
    """A 1.2 MB story (under WIRESTREAM_MAX_PAYLOAD_BYTES) travels as records of 2.4 MB and more
    between the stages, over the broker's 1 MiB default: the topics and clients are sized for it."""
    run(ensure_topics(settings))
    start_worker(settings)
    paragraph = "The committee in Geneva reviewed report {n} on Tuesday and published its findings on water supply."
    body = "\n\n".join(paragraph.format(n=n) for n in range(12_000))
    assert 1_000_000 < len(body) < settings.max_payload_bytes
    story = orjson.dumps({"uri": "urn:test:long", "headline": "A very long report", "body_text": body})
    run(produce(settings.bootstrap_servers, settings.topic_raw, [story], partition=0))
    [(topic, record)] = run(consume(settings.bootstrap_servers, outputs(settings), expected=1, timeout=120))
    assert topic == settings.topic_enriched, record.get("error")
    [main] = record["item"]["bodies"]
    assert main["charcount"] > 1_000_000 and main["value"].endswith(
        "report 11999 on Tuesday and published its findings on water supply."
    )


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what legitimately differs between runs: times and message coordinates (the
    idempotency key is the coordinates: a topic offset on one path, a file line on the other)."""
    record = json.loads(json.dumps(record))
    for key in ("detected_at", "failed_at", "source", "idempotency_key"):
        record.pop(key, None)
    enrichment = record.get("enrichment")
    if enrichment:
        for key in ("timings", "received_at", "source", "idempotency_key"):
            enrichment.pop(key, None)
    return record


def seed_file(directory: Path) -> Path:
    """The scraped seed story as a raw story (``samples/seed_story.py``) in ``directory``; empty when
    ``../shared/seed`` is not there, which fails on CI."""
    seed = directory / "seed.jsonl"
    script = REPO / "samples" / "seed_story.py"
    seed.write_bytes(subprocess.run([sys.executable, str(script)], check=True, capture_output=True).stdout)
    if os.environ.get("CI"):
        assert seed.read_bytes().strip(), "no seed story: samples/seed_story.py found no ../shared/seed"
    return seed


@pytest.mark.parametrize("encoder", ["none", "use-multilingual-v3"])
def test_kafka_and_offline_paths_agree(settings: Settings, start_worker: Any, tmp_path: Path, encoder: str) -> None:
    """The same stories through Kafka and through ``wirestream enrich`` give the same records, here
    written in ninjs 3.0 (``test_samples_end_to_end`` runs the default, 2.2): the same threads and
    translations too, although the thread stage reads the stories of every language from four
    entity partitions, in an order of their own; with and without the opt-in encoder. The wait for a
    lane is generous: a loaded CI box can take seconds to tag an English story, and only past the
    wait can order depend on timing."""
    settings = settings.with_overrides(ninjs_version="3.0", threads_order_wait_seconds=5.0, threads_encoder=encoder)
    run(ensure_topics(settings))
    start_worker(settings)
    inputs = [str(SAMPLES), str(seed_file(tmp_path))]
    payloads = [payload for _, payload in read_inputs(inputs)]
    run(produce(settings.bootstrap_servers, settings.topic_raw, payloads, partition=0))
    records = run(consume(settings.bootstrap_servers, outputs(settings), expected=len(payloads), timeout=120))
    enrich_files(inputs, tmp_path / "offline", settings, progress=False)

    names = {
        settings.topic_enriched: "enriched",
        settings.topic_duplicates: "duplicates",
        settings.topic_deadletter: "dead_letters",
    }
    for topic, name in names.items():
        streamed = sorted((_comparable(r) for t, r in records if t == topic), key=orjson.dumps)
        offline = sorted(
            (
                _comparable(orjson.loads(line))
                for line in (tmp_path / "offline" / f"{name}.jsonl").read_bytes().splitlines()
            ),
            key=orjson.dumps,
        )
        assert streamed == offline, name
        assert streamed, name
    enriched = [r for t, r in records if t == settings.topic_enriched]
    assert all("versioncreated" not in r["item"] for r in enriched)  # the seed has no time at all
    assert any("versionCreated" in r["item"] for r in enriched)
    assert any("geoJSON" in place for r in enriched for place in r["item"].get("places", []))
    dump_enriched(enriched, "3.0")

    threads = {r["item"]["uri"]: r["enrichment"]["thread"]["id"] for r in enriched}
    assert threads["urn:wirestream:sample:bahn-streik"] != threads["urn:wirestream:sample:ukraine-call"]
    seed = [uri for uri in threads if uri.startswith("urn:wirestream:seed:")]
    if seed:
        assert threads[seed[0]] == threads["urn:wirestream:sample:ukraine-call"]
    # stories.threads (compacted: the last summary of each thread) holds what wirestream enrich wrote.
    summaries = run(consume(settings.bootstrap_servers, [settings.topic_threads], expected=len(enriched), timeout=30))
    last = {r["id"]: _summary(r) for _, r in summaries}
    offline_summaries = (tmp_path / "offline" / "threads.jsonl").read_bytes().splitlines()
    assert last == {r["id"]: _summary(r) for r in map(orjson.loads, offline_summaries)}
    assert set(last) == set(threads.values())

    # With the encoder, each story was encoded in the entity hop and its vector carried to the thread
    # stage; without it, no record carries one.
    tagged = run(read_messages(settings.bootstrap_servers, [settings.topic_tagged], timeout=30, to_end=True))
    assert tagged
    carried = [dict(message.headers or ()).get(VECTOR_HEADER) for message in tagged]
    if encoder == "none":
        assert carried == [None] * len(tagged)
    else:
        assert all(vector is not None and len(vector) == DIMENSIONS for vector in carried), carried


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """A thread summary without its times (arrival times differ between the paths)."""
    return {key: value for key, value in record.items() if key not in ("first_seen", "last_seen")}


def test_two_workers_share_partitions(settings: Settings, start_worker: Any) -> None:
    """Two workers in one group split the partitions; every story comes out exactly once."""
    settings = without_slow_models(settings)
    run(ensure_topics(settings))
    second = settings.with_overrides(web_port=free_port())
    workers = [start_worker(settings, "worker-1"), start_worker(second, "worker-2")]
    stories = [
        orjson.dumps(
            {
                "uri": f"urn:test:story-{i}",
                "headline": f"Report number {i} on regional trade",
                "body_text": f"Exports from region {i} rose by {i} percent last quarter, officials in Lisbon said on "
                f"Tuesday. The figures for district {i * 7} were published by the statistics office, which "
                f"counted {i * 13} new companies. {distinct_words(i)}",
            }
        )
        for i in range(60)
    ]
    run(produce(settings.bootstrap_servers, settings.topic_raw, stories))
    records = run(consume(settings.bootstrap_servers, outputs(settings), expected=len(stories), timeout=120, idle=20))
    uris = Counter(r["item"]["uri"] for t, r in records if t == settings.topic_enriched)
    assert len(records) == len(stories), Counter(t for t, _ in records)
    assert set(uris) == {f"urn:test:story-{i}" for i in range(60)}
    assert max(uris.values()) == 1
    for worker in workers:
        status, body = worker.get("/readyz")
        assert status == 200 and orjson.loads(body)["assigned_partitions"] > 0, body

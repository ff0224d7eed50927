"""Time the shipped sample stories through a running worker, end to end on Kafka.

    WIRESTREAM_BROKER=kafka://127.0.0.1:9092 python bench/e2e_samples.py [--copies N]

Publishes ``samples/stories.jsonl`` N times (each copy's uris and texts made unique with a run
tag, so copies are not deduplicated against each other or earlier runs; the duplicates inside
the sample set stay duplicates), waits until every message has come out on the enriched,
duplicates or dead-letter topic, and prints stories/s. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path

import orjson

from streams.client import consume, produce
from streams.kafka_access import KafkaAccess
from streams.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "stories.jsonl"


def tagged(line: bytes, tag: str) -> bytes:
    """The sample with its uri and body made unique to this copy (bad records stay bad)."""
    try:
        story = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(story, dict):
        return line
    if "uri" in story:
        story["uri"] = f"{story['uri']}#{tag}"
    for key in ("body_text", "body_html"):
        if isinstance(story.get(key), str) and story[key].strip():
            story[key] = f"{story[key]} ({tag})"
    for body in story.get("bodies", []):
        body["value"] = f"{body['value']} ({tag})"
    return orjson.dumps(story)


async def main(copies: int) -> None:
    settings = Settings.from_env()
    lines = [line for line in SAMPLES.read_bytes().splitlines() if line.strip()]
    run = uuid.uuid4().hex[:6]
    payloads = [tagged(line, f"{run}-{i}") for i in range(copies) for line in lines]
    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    kafka = KafkaAccess.from_settings(settings)  # a secured cluster works as it does for the worker
    before = len(await consume(kafka, outputs, timeout=30, idle=2))
    started = time.perf_counter()
    await produce(kafka, settings.topic_raw, payloads)
    records = await consume(kafka, outputs, expected=before + len(payloads), timeout=600)
    elapsed = time.perf_counter() - started
    out = len(records) - before
    print(f"{len(payloads)} stories in, {out} records out, {elapsed:.2f} s: {len(payloads) / elapsed:.1f} stories/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    asyncio.run(main(parser.parse_args().copies))

"""Publish raw stories to the raw topic and read records back (``wirestream produce|consume``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.codec import decode
from streams.kafka_access import KafkaAccess, kafka_access

# The topics' own max.message.bytes is the limit that counts; the tools never refuse a record below it.
CLIENT_MAX_BYTES = 64 * 1024 * 1024


def story_key(payload: bytes) -> bytes | None:
    """The message key of a raw payload: its ``uri`` when it is a JSON object that has one."""
    try:
        value = decode(payload)
    except ValueError:
        return None
    uri = value.get("uri") if isinstance(value, dict) else None
    return uri.encode("utf-8") if isinstance(uri, str) and uri else None


async def produce(
    kafka: KafkaAccess | str,
    topic: str,
    payloads: Iterable[bytes],
    partition: int | None = None,
    content_type: str | None = None,
) -> int:
    """Send each payload (key: its uri) and wait until the broker has them all; returns the count.

    ``kafka`` is the brokers' access, or just their bootstrap servers (plaintext).
    """
    producer = AIOKafkaProducer(
        **kafka_access(kafka).client_options(), acks="all", linger_ms=5, max_request_size=CLIENT_MAX_BYTES
    )
    await producer.start()
    sent = 0
    try:
        headers = [("content-type", content_type.encode("latin-1"))] if content_type else None
        futures = []
        for payload in payloads:
            futures.append(
                await producer.send(topic, payload, key=story_key(payload), partition=partition, headers=headers)
            )
            sent += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


async def topic_partitions(kafka: KafkaAccess | str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of the given topics (an error if a topic does not exist)."""
    admin = AIOKafkaAdminClient(**kafka_access(kafka).client_options())
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    found = {d["topic"]: sorted(p["partition"] for p in d["partitions"]) for d in described if d["partitions"]}
    missing = [t for t in topics if t not in found]
    if missing:
        raise RuntimeError(f"topics not found: {', '.join(missing)} (run `wirestream topics`)")
    return [TopicPartition(t, p) for t in topics for p in found[t]]


async def group_free_reader(
    kafka: KafkaAccess | str,
    topics: list[str],
    isolation_level: str = "read_uncommitted",
    max_partition_fetch_bytes: int = CLIENT_MAX_BYTES,
) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    """A started consumer of no group (nothing committed) assigned every partition of ``topics``, and
    those partitions; the caller stops it."""
    partitions = await topic_partitions(kafka, topics)
    consumer = AIOKafkaConsumer(
        **kafka_access(kafka).client_options(),
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=max_partition_fetch_bytes,
        isolation_level=isolation_level,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
    except BaseException:
        await consumer.stop()
        raise
    return consumer, partitions


async def read_messages(
    kafka: KafkaAccess | str,
    topics: list[str],
    expected: int | None = None,
    timeout: float = 30.0,
    idle: float | None = None,
    isolation_level: str = "read_uncommitted",
    to_end: bool = False,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read the given topics from the beginning (no consumer group) and return the messages.

    Stops when ``expected`` messages were read, after ``idle`` seconds with nothing new, once every
    partition is read up to the end it had when the read began (``to_end``: for topics nothing is
    writing to any more), or at ``timeout``. ``read_committed`` skips records of aborted (or still
    open) transactions.
    """
    consumer, partitions = await group_free_reader(kafka, topics, isolation_level)
    messages: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions) if to_end else {}
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            if expected is not None and len(messages) >= expected:
                break
            if idle is not None and time.monotonic() - last_new > idle:
                break
            if to_end and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                messages.extend(batch)
                if batch:
                    last_new = time.monotonic()
    finally:
        await consumer.stop()
    return messages


async def consume(
    kafka: KafkaAccess | str,
    topics: list[str],
    expected: int | None = None,
    timeout: float = 30.0,
    idle: float | None = None,
    to_end: bool = False,
) -> list[tuple[str, dict[str, Any]]]:
    """Read the given topics from the beginning (no consumer group) and return ``(topic, record)``;
    when to stop: :func:`read_messages`."""
    messages = await read_messages(kafka, topics, expected, timeout, idle, to_end=to_end)
    return [(message.topic, decode(message.value or b"null")) for message in messages]

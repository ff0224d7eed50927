"""Integration tests: a real local Kafka 4.x broker run by streams.kafka_local.

Needs Java 17+ and either cached jars or Maven (first run fetches ~45 MB of jars).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.client import produce, read_messages
from streams.kafka_local import LocalKafka, kafka_version, port_open

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("java") is None or (shutil.which("mvn") is None and not LocalKafka().jars_ready()),
        reason="needs java 17+ and mvn (or cached Kafka jars)",
    ),
]

TOPIC = "wirestream-it-roundtrip"
GROUP = "wirestream-it-group"


def _free_ports(count: int) -> list[int]:
    """Return distinct currently-free TCP ports on 127.0.0.1."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker on free ports with a temp home whose libs/ links to the real jar cache."""
    cache = LocalKafka()
    cache.fetch_jars()
    home: Path = tmp_path_factory.mktemp("kafka-home")
    (home / "libs").symlink_to(cache.libs_dir, target_is_directory=True)
    port, controller_port = _free_ports(2)
    broker = LocalKafka(home=home, port=port, controller_port=controller_port)
    broker.start(wait_seconds=90)
    yield broker
    broker.stop()


async def _consume(consumer: AIOKafkaConsumer, count: int, timeout: float = 30) -> list[bytes]:
    """Read count message values from a started consumer, or fail after timeout."""
    values: list[bytes] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(values) < count and loop.time() < deadline:
        batches = await consumer.getmany(timeout_ms=1000)
        values += [msg.value for msgs in batches.values() for msg in msgs]
    return values


@pytest.mark.asyncio
async def test_topic_produce_consume_commit(kafka: LocalKafka) -> None:
    """Admin creates a 4-partition topic; 10 messages round-trip through a consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=4, replication_factor=1)])
        deadline = time.monotonic() + 15  # the new topic's metadata reaches the broker's cache a moment later
        while True:
            (described,) = await admin.describe_topics([TOPIC])
            if described["partitions"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert len(described["partitions"]) == 4

        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(10):
                await producer.send_and_wait(TOPIC, f"story-{i}".encode(), key=f"k{i}".encode())
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=kafka.bootstrap,
            group_id=GROUP,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            values = await _consume(consumer, 10)
            assert sorted(values) == sorted(f"story-{i}".encode() for i in range(10))
            await consumer.commit()
            partitions = [TopicPartition(TOPIC, p) for p in range(4)]
            assert sum((await consumer.end_offsets(partitions)).values()) == 10
            assert sum([await consumer.committed(tp) or 0 for tp in partitions]) == 10
        finally:
            await consumer.stop()

        offsets = await admin.list_consumer_group_offsets(GROUP)
        assert sum(meta.offset for meta in offsets.values()) == 10
    finally:
        await admin.close()


@pytest.mark.asyncio
async def test_compacted_topic_config(kafka: LocalKafka) -> None:
    """create_topics passes cleanup.policy=compact through to the broker."""
    topic = "wirestream-it-compact"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1, topic_configs={"cleanup.policy": "compact"})])
        (config,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {entry[0]: entry[1] for entry in config.resources[0][4]}
        assert entries["cleanup.policy"] == "compact"
    finally:
        await admin.close()


@pytest.mark.asyncio
async def test_a_read_to_the_end_stops_at_the_end_without_waiting(kafka: LocalKafka) -> None:
    """``read_messages(to_end=True)`` returns every message on every partition, empty ones included,
    as soon as it has read up to the ends: no idle wait, far from the timeout."""
    topic = "wirestream-it-to-end"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    await produce(kafka.bootstrap, topic, [f'{{"uri": "urn:to-end:{i}"}}'.encode() for i in range(7)], partition=1)
    await produce(kafka.bootstrap, topic, [b'{"uri": "urn:to-end:last"}'], partition=2)
    started = time.monotonic()
    messages = await read_messages(kafka.bootstrap, [topic], timeout=60, to_end=True)
    assert time.monotonic() - started < 20
    assert sorted((m.partition, m.offset) for m in messages) == [(1, i) for i in range(7)] + [(2, 0)]


def test_start_is_idempotent(kafka: LocalKafka) -> None:
    """A second start on a running broker returns at once with the same pid."""
    pid = kafka.status().pid
    lines: list[str] = []
    kafka.start(progress=lines.append)
    assert kafka.status().pid == pid
    assert any("already running" in line for line in lines)


async def _end_offset_total(bootstrap: str, topic: str) -> int:
    """Return the sum of a 4-partition topic's end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(4)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def test_kill_then_restart_keeps_data(kafka: LocalKafka) -> None:
    """After SIGKILL the broker restarts on the same data dir with the data intact."""
    assert kafka.kill()
    assert not port_open(kafka.port)
    assert not kafka.status().running
    kafka.start(wait_seconds=90)
    assert asyncio.run(_end_offset_total(kafka.bootstrap, TOPIC)) == 10


def test_stop_closes_port_and_restart_reuses_jars(kafka: LocalKafka) -> None:
    """stop() frees both ports; the next start neither refetches jars nor reformats."""
    jar = kafka.libs_dir / f"kafka_2.13-{kafka_version()}.jar"
    before = (kafka.marker.stat().st_mtime_ns, jar.stat().st_mtime_ns)
    old_pid = kafka.status().pid

    assert kafka.stop()
    assert not port_open(kafka.port)
    assert not port_open(kafka.controller_port)
    status = kafka.status()
    assert not status.running and status.pid is None
    assert not kafka.pid_file.exists()

    lines: list[str] = []
    kafka.start(progress=lines.append)
    assert not any("fetching" in line or "formatting" in line for line in lines)
    assert (kafka.marker.stat().st_mtime_ns, jar.stat().st_mtime_ns) == before
    assert kafka.status().pid not in (None, old_pid)
    assert asyncio.run(_end_offset_total(kafka.bootstrap, TOPIC)) == 10

    assert kafka.stop()
    assert not port_open(kafka.port)

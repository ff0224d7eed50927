"""Broker faults with stories flowing, and the accounting of every raw message after them.

Shared by ``tests/integration/test_cluster.py`` (short forms) and ``bench/faults.py`` (long forms):
a :class:`SteadyFlow` publishes distinct stories at a steady rate (a send that fails while the
brokers are away is retried, as any upstream would), an :class:`OutputWatcher` reads the output
topics as they fill and a :class:`ReadinessWatcher` polls the worker's ``/readyz``; :func:`account`
then says, per raw message, where it ended: each must end in exactly one of enriched, duplicates
or dead letter; ``lost`` ones ended nowhere, ``doubled`` ones more than once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.client import consume, story_key, topic_partitions
from streams.kafka_local import LocalKafka, LocalKafkaCluster
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import REPO, WorkerProcess, isolated_settings, without_slow_models

Story = Callable[[int], bytes]
SEND_TIMEOUT_SECONDS = 15.0


class _Background:
    """Runs ``_main`` (by default the coroutine ``_run``) on a thread of its own, from entering a
    ``with`` block until leaving it; it must return once ``_stop`` is set."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        asyncio.run(self._run())

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    async def _run(self) -> None:
        raise NotImplementedError


class SteadyFlow(_Background):
    """Publishes ``story(0)``, ``story(1)``, ... at ``rate`` a second on a thread of its own until
    stopped; a story whose send fails is sent again until the broker acknowledges it (acks=all)."""

    def __init__(self, bootstrap: str, topic: str, story: Story, rate: float) -> None:
        super().__init__("steady-flow")
        self.bootstrap, self.topic, self.story, self.rate = bootstrap, topic, story, rate
        self.sent = 0
        self.resends = 0
        self.started = time.monotonic()

    def caught_up(self) -> bool:
        """True once the stories held back while the brokers were away are published (the flow is
        back on its schedule, within a second)."""
        return self.sent + self.rate >= (time.monotonic() - self.started) * self.rate

    async def _run(self) -> None:
        producer = await self._producer()
        try:
            while not self._stop.is_set():
                payload = self.story(self.sent)
                try:
                    send = producer.send_and_wait(self.topic, payload, key=story_key(payload))
                    await asyncio.wait_for(send, SEND_TIMEOUT_SECONDS)
                except (KafkaError, TimeoutError):
                    # A producer whose broker went away can stay stuck on its batch (a lone broker
                    # restarted): start afresh, as a publisher restarted by its supervisor would.
                    self.resends += 1
                    await producer.stop()
                    producer = await self._producer()
                    continue
                self.sent += 1
                await asyncio.sleep(max(0.0, self.started + self.sent / self.rate - time.monotonic()))
        finally:
            await producer.stop()

    async def _producer(self) -> AIOKafkaProducer:
        """A started producer (acks=all, idempotent), once the brokers take one."""
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=10_000
            )
            try:
                await producer.start()
                return producer
            except KafkaError:
                await producer.stop()
                if self._stop.is_set():
                    raise
                await asyncio.sleep(0.5)


def _uri(topic: str, settings: Settings, record: dict[str, Any]) -> str | None:
    """The story uri an output record stands for (a dead letter's from its original payload)."""
    if topic == settings.topic_enriched:
        return str(record["item"]["uri"])
    if topic == settings.topic_duplicates:
        return str(record["uri"])
    payload = str(record.get("payload", ""))
    raw = base64.b64decode(payload) if record.get("payload_encoding") == "base64" else payload.encode()
    key = story_key(raw)
    return key.decode() if key else None


class OutputWatcher(_Background):
    """Reads the output topics from the beginning on a thread while the run goes on, noting when
    each story's first output arrived."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("output-watcher")
        self.settings = settings
        self.first_seen: dict[str, float] = {}

    async def _run(self) -> None:
        s = self.settings
        partitions = await topic_partitions(
            s.bootstrap_servers, [s.topic_enriched, s.topic_duplicates, s.topic_deadletter]
        )
        consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap_servers, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                now = time.monotonic()
                for tp, messages in batches.items():
                    for message in messages:
                        uri = _uri(tp.topic, s, orjson.loads(message.value or b"null"))
                        if uri is not None:
                            self.first_seen.setdefault(uri, now)
        finally:
            await consumer.stop()

    def wait_for(self, uris: list[str], timeout: float, idle: float = 15.0) -> float | None:
        """Wait until every uri has an output; return when the last one arrived (monotonic), or None
        at ``timeout`` or once nothing new came out for ``idle`` seconds while the worker's group
        has nothing left to read (what is missing then is lost, not late)."""
        deadline = time.monotonic() + timeout
        seen_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            arrived = [t for uri in uris if (t := self.first_seen.get(uri)) is not None]
            if len(arrived) == len(uris):
                return max(arrived, default=time.monotonic())
            if len(self.first_seen) != seen_count:
                seen_count, last_change = len(self.first_seen), time.monotonic()
            elif time.monotonic() - last_change > idle and asyncio.run(group_lag(self.settings)) == 0:
                return None
            time.sleep(0.5)
        return None


async def group_lag(settings: Settings) -> int:
    """Records of every hop's input topic (raw, clean, unique, tagged) the worker's consumer group
    has not committed (-1 when the brokers cannot say)."""
    topics = [settings.topic_raw, settings.topic_clean, settings.topic_unique, settings.topic_tagged]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=5000)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None)
    try:
        await admin.start()
        await consumer.start()
        partitions = await topic_partitions(settings.bootstrap_servers, topics)
        committed = await admin.list_consumer_group_offsets(settings.app_id, partitions=partitions)
        ends = await consumer.end_offsets(partitions)
    except KafkaError:
        return -1
    finally:
        await consumer.stop()
        await admin.close()
    # A partition the group never committed reads offset -1: nothing of it is done.
    done = {tp: max(0, meta.offset) for tp, meta in committed.items()}
    return sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())


async def wait_settled(settings: Settings, timeout: float) -> bool:
    """Wait until the group has committed every input message: no more output can come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await group_lag(settings) == 0:
            return True
        await asyncio.sleep(1.0)
    return False


class ReadinessWatcher(_Background):
    """Polls a worker's ``/readyz`` twice a second on a thread, keeping ``(monotonic time, status)``."""

    def __init__(self, url: str) -> None:
        super().__init__("readiness-watcher")
        self.url = url
        self.samples: list[tuple[float, int]] = []

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    status = int(response.status)
            except urllib.error.HTTPError as error:
                status = int(error.code)
            except OSError:
                status = 0
            self.samples.append((time.monotonic(), status))
            self._stop.wait(0.5)

    def statuses(self, start: float, end: float) -> set[int]:
        """The statuses seen between two monotonic times."""
        return {status for t, status in self.samples if start <= t <= end}


@dataclass(frozen=True)
class Accounting:
    """Where each raw message of a run ended."""

    stories: int
    raw_messages: int
    enriched: int
    duplicates: int
    dead_letters: int
    lost: list[str]
    doubled: int

    def __str__(self) -> str:
        return (
            f"{self.stories} stories ({self.raw_messages} raw messages): {self.enriched} enriched, "
            f"{self.duplicates} duplicates, {self.dead_letters} dead letters; lost {len(self.lost)}, "
            f"doubled {self.doubled}"
        )


def account(settings: Settings, uris: list[str], timeout: float = 60.0, reads: int = 3) -> Accounting:
    """Count every raw message of ``uris`` and the output records standing for each.

    A story sent twice (a retried send) is two raw messages, each owed one output. A fresh read
    right after a broker came back can stop early on a partition whose leader just moved (nothing
    new for its idle time: seen in CI as a quarter of the outputs missing while the watcher had
    seen them all), so the topics are read again, up to ``reads`` times, before a story is called
    lost; a story that really is lost is missing from every read. The reads wait until the worker's
    group has committed all its input (up to ``timeout``): a repeat of what it handled again comes
    out before that, and none after, so reading to the topics' ends then misses no double.
    """
    asyncio.run(wait_settled(settings, timeout))
    result = _account_once(settings, uris, timeout)
    for _ in range(reads - 1):
        if not result.lost:
            break
        result = _account_once(settings, uris, timeout)
    return result


def _account_once(settings: Settings, uris: list[str], timeout: float) -> Accounting:
    bootstrap = settings.bootstrap_servers
    raw = asyncio.run(consume(bootstrap, [settings.topic_raw], timeout=timeout, to_end=True))
    raw_count = Counter(str(record.get("uri")) for _, record in raw)
    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    # Read to the end (no ``expected`` count): the topics also hold the outputs of the scenarios run
    # before this one on the same worker, and a read that stopped at as many records as this scenario
    # owes could stop before this scenario's records of some partitions. The group has settled
    # (``account``), so the ends as they stand now are the ends.
    records = asyncio.run(consume(bootstrap, outputs, timeout=timeout, to_end=True))
    wanted = set(uris)
    ours = [(topic, uri) for topic, record in records if (uri := _uri(topic, settings, record)) in wanted]
    by_topic = Counter(topic for topic, _ in ours)
    out_count = Counter(uri for _, uri in ours)
    lost = [uri for uri in uris if out_count[uri] < max(raw_count[uri], 1)]
    doubled = sum(max(0, out_count[uri] - raw_count[uri]) for uri in uris)
    return Accounting(
        stories=len(uris),
        raw_messages=sum(raw_count[uri] for uri in uris),
        enriched=by_topic[settings.topic_enriched],
        duplicates=by_topic[settings.topic_duplicates],
        dead_letters=by_topic[settings.topic_deadletter],
        lost=lost,
        doubled=doubled,
    )


async def _replication_state(bootstrap: str) -> tuple[int, dict[str, dict[int, int]]]:
    """Under-replicated partitions of every topic, and each topic's leader per partition."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        topics = await admin.list_topics()
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    under = sum(1 for t in described for p in t["partitions"] if len(p["isr"]) < len(p["replicas"]))
    leaders = {t["topic"]: {p["partition"]: p["leader"] for p in t["partitions"]} for t in described}
    return under, leaders


def wait_fully_replicated(cluster: LocalKafkaCluster, timeout: float = 120.0) -> None:
    """Wait until no partition of the cluster is under-replicated (a rolling restart's pace)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            under, _ = asyncio.run(_replication_state(cluster.bootstrap))
        except KafkaError:
            under = -1
        if under == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{under} partitions still under-replicated after {timeout:.0f}s")
        time.sleep(1.0)


def rolling_restart(cluster: LocalKafkaCluster) -> None:
    """Restart the brokers one at a time (SIGTERM, start), each once the cluster is fully in sync."""
    for node in cluster.nodes:
        wait_fully_replicated(cluster)
        node.stop()
        node.start(wait_seconds=120)
    wait_fully_replicated(cluster)


def busiest_leader(cluster: LocalKafkaCluster, bootstrap: str, topic: str) -> LocalKafka:
    """The node leading the most partitions of ``topic`` (ties: the lowest node id)."""
    _, leaders = asyncio.run(_replication_state(bootstrap))
    counts = Counter(leaders[topic].values())
    node_id = min(counts, key=lambda node: (-counts[node], node))
    return cluster.nodes[node_id - 1]


def kill_cluster(cluster: LocalKafkaCluster, down_seconds: float) -> None:
    """SIGKILL every broker at once (a power cut), and start them all again after ``down_seconds``."""
    for node in cluster.nodes:
        node.kill()
    time.sleep(down_seconds)
    cluster.start(wait_seconds=120)


def broker_down(broker: LocalKafka, down_seconds: float) -> None:
    """Stop the broker (SIGTERM), and start it again after ``down_seconds``."""
    broker.stop()
    time.sleep(down_seconds)
    broker.start()


def kill_leader(cluster: LocalKafkaCluster, topic: str, down_seconds: float) -> LocalKafka:
    """SIGKILL the broker leading most partitions of ``topic``, and start it again after ``down_seconds``."""
    node = busiest_leader(cluster, cluster.bootstrap, topic)
    node.kill()
    time.sleep(down_seconds)
    node.start(wait_seconds=120)
    return node


def fault_settings(bootstrap: str) -> Settings:
    """An isolated pipeline on ``bootstrap`` without the slow models (these tests are about Kafka)."""
    return without_slow_models(isolated_settings(bootstrap))


@contextlib.contextmanager
def fault_worker(bootstrap: str, log: Path, cwd: Path = REPO) -> Iterator[WorkerProcess]:
    """A worker on ``bootstrap`` with :func:`fault_settings` (its topics created first), ready, logging to
    ``log``; stopped on leaving. ``cwd``: another checkout runs its own code (a before/after comparison)."""
    settings = fault_settings(bootstrap)
    asyncio.run(ensure_topics(settings))
    worker = WorkerProcess(settings, log, cwd=cwd)
    try:
        yield worker.start(ready_timeout=300)  # an upper bound: loading the models can be slow on a busy machine
    finally:
        if worker.process is not None:
            worker.stop()


@dataclass
class FaultRun:
    """Where a fault scenario's numbers come from."""

    accounting: Accounting
    readiness_during: set[int]
    drain_seconds: float | None
    log_bytes_during: int

    def __str__(self) -> str:
        drain = "never" if self.drain_seconds is None else f"{self.drain_seconds:.1f}s"
        return (
            f"{self.accounting}; /readyz during the fault {sorted(self.readiness_during)}; drained {drain} after; "
            f"{self.log_bytes_during} bytes of worker log during the fault"
        )


def run_fault(
    worker: WorkerProcess,
    story: Story,
    first_story: int,
    rate: float,
    fault: Callable[[], object],
    lead_in: float = 3.0,
    drain_timeout: float = 180.0,
) -> FaultRun:
    """Publish ``story(first_story)``, ... at ``rate`` a second from ``lead_in`` seconds before
    ``fault`` until ``lead_in`` after the publisher caught up with the stories it could not publish
    during the fault; account for each story (uri ``urn:test:lifecycle-<i>``). The drain time is
    from the end of the fault until every story published by the catch-up is in the outputs."""
    settings = worker.settings
    with OutputWatcher(settings) as outputs, ReadinessWatcher(worker.url("/readyz")) as readiness:
        with SteadyFlow(settings.bootstrap_servers, settings.topic_raw, lambda i: story(first_story + i), rate) as flow:
            time.sleep(lead_in)
            began, log_before = time.monotonic(), worker.log_path.stat().st_size
            fault()
            ended, log_after = time.monotonic(), worker.log_path.stat().st_size
            # An upstream publishes what it held back during the fault as soon as it can: the backlog.
            deadline = ended + drain_timeout
            while not flow.caught_up() and time.monotonic() < deadline:
                time.sleep(0.2)
            published = flow.sent
            time.sleep(lead_in)
        uris = [f"urn:test:lifecycle-{first_story + i}" for i in range(flow.sent)]
        last_output = outputs.wait_for(uris[:published], drain_timeout)
        outputs.wait_for(uris, drain_timeout)  # the stories published after the backlog, before accounting
        worker.wait_ready(60)
        during = readiness.statuses(began, ended)
    drain = None if last_output is None else max(0.0, last_output - ended)
    result = FaultRun(account(settings, uris), during, drain, log_after - log_before)
    print(f"\n{result}", flush=True)
    return result

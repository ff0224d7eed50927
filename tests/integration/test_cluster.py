"""A managed cluster's everyday events, short forms, with stories flowing at a steady rate: a rolling
restart of three brokers, the busiest leader killed, the whole cluster (and a single broker) down
and back. Every raw message must end in exactly one output: none lost; doubles (at-least-once)
are counted and printed, not failed. The long forms are ``bench/faults.py``.

Ports: the three-node cluster takes ``WIRESTREAM_TEST_CLUSTER_PORT`` (default 19100, nodes on
19100-19111), the single broker ``WIRESTREAM_TEST_OUTAGE_PORT`` (default 19140, 19140-19141).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.kafka_local import LocalKafka, LocalKafkaCluster
from tests.integration.conftest import WorkerProcess, fresh_kafka
from tests.integration.faults import (
    broker_down,
    fault_worker,
    kill_cluster,
    kill_leader,
    rolling_restart,
    run_fault,
    wait_fully_replicated,
)
from tests.integration.test_lifecycle import story

pytestmark = pytest.mark.integration

CLUSTER_PORT = int(os.environ.get("WIRESTREAM_TEST_CLUSTER_PORT", "19100"))
OUTAGE_PORT = int(os.environ.get("WIRESTREAM_TEST_OUTAGE_PORT", "19140"))
RATE = 10.0  # stories a second
KILLED_SECONDS = 10.0
OUTAGE_SECONDS = 15.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalKafkaCluster]:
    """Three KRaft nodes, fresh data dirs."""
    nodes = LocalKafkaCluster(brokers=3, base_port=CLUSTER_PORT, heap="384m")
    yield from fresh_kafka(nodes)
    nodes.reset()


@pytest.fixture(scope="module")
def cluster_worker(cluster: LocalKafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    with fault_worker(cluster.bootstrap, tmp_path_factory.mktemp("cluster") / "worker.log") as worker:
        yield worker


def test_topics_are_replicated_three_times_with_two_in_sync(cluster_worker: WorkerProcess) -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    settings = cluster_worker.settings

    async def describe() -> tuple[list[int], str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        await admin.start()
        try:
            (topic,) = await admin.describe_topics([settings.topic_raw])
            (configs,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic_raw)])
        finally:
            await admin.close()
        min_insync = next(entry[1] for entry in configs.resources[0][4] if entry[0] == "min.insync.replicas")
        return [len(p["replicas"]) for p in topic["partitions"]], min_insync

    replicas, min_insync = asyncio.run(describe())
    assert replicas == [3] * settings.partitions and min_insync == "2"


def test_rolling_restart_loses_nothing(cluster: LocalKafkaCluster, cluster_worker: WorkerProcess) -> None:
    result = run_fault(cluster_worker, story, 0, RATE, lambda: rolling_restart(cluster))
    assert result.accounting.lost == []
    assert result.drain_seconds is not None


def test_killed_leader_loses_nothing(cluster: LocalKafkaCluster, cluster_worker: WorkerProcess) -> None:
    topic = cluster_worker.settings.topic_raw
    result = run_fault(cluster_worker, story, 100_000, RATE, lambda: kill_leader(cluster, topic, KILLED_SECONDS))
    assert result.accounting.lost == []
    assert result.drain_seconds is not None
    wait_fully_replicated(cluster)


def test_whole_cluster_down_and_back(cluster: LocalKafkaCluster, cluster_worker: WorkerProcess) -> None:
    result = run_fault(cluster_worker, story, 200_000, RATE, lambda: kill_cluster(cluster, OUTAGE_SECONDS))
    assert result.accounting.lost == []
    assert 503 in result.readiness_during, "/readyz said ready while no broker answered"
    assert result.drain_seconds is not None


@pytest.fixture(scope="module")
def broker() -> Iterator[LocalKafka]:
    """One broker, fresh data dir."""
    single = LocalKafka(port=OUTAGE_PORT)
    yield from fresh_kafka(single)
    single.reset()


def test_single_broker_down_and_back(broker: LocalKafka, tmp_path: Path) -> None:
    with fault_worker(broker.bootstrap, tmp_path / "worker.log") as worker:
        result = run_fault(worker, story, 300_000, RATE, lambda: broker_down(broker, OUTAGE_SECONDS))
        assert result.accounting.lost == []
        assert 503 in result.readiness_during, "/readyz said ready while the broker was down"
        assert result.drain_seconds is not None
        log = worker.log_path.read_bytes()
        connection_errors = log.count(b"Unable connect to node")
        assert connection_errors < 20, f"{connection_errors} connection errors logged in {OUTAGE_SECONDS:.0f}s"

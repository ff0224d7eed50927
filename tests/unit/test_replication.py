"""Topics are replicated for the cluster's size, and every producer waits for all in-sync replicas."""

from __future__ import annotations

import pytest

from streams.app import create_app
from streams.kafka_local import PORTS_PER_NODE, LocalKafka, LocalKafkaCluster
from streams.settings import Settings, SettingsError


@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))])
def test_default_replication_follows_the_broker_count(brokers: int, expected: tuple[int, int]) -> None:
    assert Settings().replication(brokers) == expected


def test_explicit_replication_is_kept_or_refused_with_the_variable_named() -> None:
    settings = Settings.from_env({"WIRESTREAM_REPLICATION_FACTOR": "3", "WIRESTREAM_MIN_INSYNC_REPLICAS": "3"})
    assert settings.replication(4) == (3, 3)
    with pytest.raises(SettingsError, match="WIRESTREAM_REPLICATION_FACTOR=3 needs 3 brokers, the cluster has 1"):
        settings.replication(1)
    with pytest.raises(SettingsError, match="WIRESTREAM_MIN_INSYNC_REPLICAS=4"):
        Settings.from_env({"WIRESTREAM_REPLICATION_FACTOR": "3", "WIRESTREAM_MIN_INSYNC_REPLICAS": "4"})
    with pytest.raises(SettingsError, match="WIRESTREAM_MIN_INSYNC_REPLICAS=2 is more than the replication factor 1"):
        Settings.from_env({"WIRESTREAM_MIN_INSYNC_REPLICAS": "2"}).replication(1)


@pytest.mark.asyncio
async def test_the_app_producer_waits_for_every_in_sync_replica() -> None:
    """Faust has one producer per app: the agents' sends and the dedup table's changelog go through it."""
    wiring = create_app(Settings())
    producer = wiring.app.producer
    assert wiring.dedup_table.changelog_topic.app.producer is producer
    client = producer._new_producer()  # type: ignore[attr-defined]
    assert client._sender._acks == -1  # acks=all
    await client.stop()


def test_cluster_nodes_take_their_ports_from_the_base_port(tmp_path: object) -> None:
    cluster = LocalKafkaCluster(brokers=3, home=tmp_path, base_port=30000)  # type: ignore[arg-type]
    nodes = cluster.nodes
    assert [n.port for n in nodes] == [30000, 30000 + PORTS_PER_NODE, 30000 + 2 * PORTS_PER_NODE]
    assert [n.controller_port for n in nodes] == [n.port + 1 for n in nodes]
    assert cluster.bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in nodes)
    assert len({n.data_dir for n in nodes}) == 3
    props = dict(line.split("=", 1) for line in nodes[1].server_properties().splitlines())
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:30001,2@127.0.0.1:30005,3@127.0.0.1:30009"
    assert props["default.replication.factor"] == props["offsets.topic.replication.factor"] == "3"
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"


def test_one_broker_cluster_is_the_single_broker(tmp_path: object) -> None:
    (node,) = LocalKafkaCluster(brokers=1, home=tmp_path, base_port=30100).nodes  # type: ignore[arg-type]
    assert node == LocalKafka(home=tmp_path, port=30100)  # type: ignore[arg-type]
    props = dict(line.split("=", 1) for line in node.server_properties().splitlines())
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:30101"
    assert props["min.insync.replicas"] == props["default.replication.factor"] == "1"

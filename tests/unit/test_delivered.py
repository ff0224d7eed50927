"""A copy of an output record the broker already acknowledged, or read back from the log after a
rebalance, is not sent again; anything else is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.app import Delivered, create_app
from streams.resends import IDEMPOTENCY_HEADER, idempotency_key, tail_start
from streams.settings import Settings


class RecordingTopic:
    """Stands in for a Faust topic: records each send and hands back its delivery future."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.headers: list[dict[str, bytes] | None] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    def get_topic_name(self) -> str:
        return "stories.unique"

    async def send(self, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> asyncio.Future[Any]:
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append(key)
        self.headers.append(headers)
        self.deliveries.append(delivery)
        return delivery


async def test_only_copies_of_acknowledged_records_are_dropped() -> None:
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    topic: Any = RecordingTopic()
    record = {"uri": "urn:x"}

    await wiring.send(topic, "a", record, idempotency_key="raw:0:5#0")
    await wiring.send(topic, "a", record, idempotency_key="raw:0:5#0")
    assert len(topic.sent) == 2, "not acknowledged yet: the copy must be sent"

    topic.deliveries[0].set_result(None)
    await asyncio.sleep(0)
    await wiring.send(topic, "a", record, idempotency_key="raw:0:5#0")
    assert len(topic.sent) == 2, "acknowledged: the copy is dropped"
    assert wiring.metrics.copies_dropped_total.labels("stories.unique")._value.get() == 1

    await wiring.send(topic, "b", record, idempotency_key="raw:0:6#0")
    topic.deliveries[-1].set_exception(RuntimeError("broker said no"))
    await asyncio.sleep(0)
    await wiring.send(topic, "b", record, idempotency_key="raw:0:6#0")
    await wiring.send(topic, "a", record, idempotency_key="raw:0:5#1")
    await wiring.send(topic, "a", record)
    await wiring.send(topic, "a", record)
    assert len(topic.sent) == 7, "a failed send, another item, or no key: always sent"


def test_delivered_forgets_the_oldest_past_its_capacity() -> None:
    delivered = Delivered(capacity=2)
    for key in ("k1", "k2", "k3"):
        delivered.add("t", key)
    assert ("t", "k1") not in delivered
    assert ("t", "k2") in delivered and ("t", "k3") in delivered
    assert ("other", "k3") not in delivered


async def test_a_keyed_record_carries_its_key_in_a_header_for_the_read_back() -> None:
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    topic: Any = RecordingTopic()
    await wiring.send(topic, "a", {}, idempotency_key="raw:0:5#0", headers={"lane": b"3"})
    await wiring.send(topic, "a", {})
    assert topic.headers[0] == {"lane": b"3", IDEMPOTENCY_HEADER: b"raw:0:5#0"}
    assert idempotency_key(list(topic.headers[0].items())) == "raw:0:5#0"
    assert topic.headers[1] is None and idempotency_key(None) is None


async def test_a_key_read_back_stops_its_repeat() -> None:
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    topic: Any = RecordingTopic()
    wiring.delivered.add("stories.unique", "raw:0:5#0")  # what a read-back found in the log
    await wiring.send(topic, "a", {}, idempotency_key="raw:0:5#0")
    await wiring.send(topic, "a", {}, idempotency_key="raw:0:6#0")
    assert topic.sent == [b"a"], "only the record not in the log is sent"


async def test_sends_wait_while_a_rebalance_reads_back_and_go_on_after_the_limit() -> None:
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    topic: Any = RecordingTopic()
    wiring.delivered.hold()
    sending = asyncio.ensure_future(wiring.send(topic, "a", {}, idempotency_key="raw:0:5#0"))
    await asyncio.sleep(0.05)
    assert not topic.sent, "held while the read-back runs"
    wiring.delivered.add("stories.unique", "raw:0:5#0")
    wiring.delivered.release()
    await sending
    assert not topic.sent, "released, and the key read back: the repeat is dropped"

    wiring.delivered.hold()
    await asyncio.wait_for(wiring.delivered.wait_released(timeout=0.05), 1.0)  # a stuck rebalance does not stall


@pytest.mark.parametrize(
    ("end", "first_recent", "most", "start"),
    [
        (100, 40, 1000, 40),  # the lookback's first record
        (100, None, 1000, 100),  # nothing that recent: nothing to read
        (100, 40, 10, 90),  # capped at the last ``most`` records
        (5, 0, 10, 0),
    ],
)
def test_the_tail_starts_at_the_lookback_within_the_cap(
    end: int, first_recent: int | None, most: int, start: int
) -> None:
    assert tail_start(end, first_recent, most) == start


def test_a_partition_gained_is_read_back_on_what_its_hop_writes() -> None:
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    assert wiring.keyed_writes == {
        "stories.raw": ["stories.clean"],
        "stories.clean": ["stories.unique", "stories.duplicates"],
        "stories.unique": ["stories.tagged"],
        "stories.tagged": ["stories.enriched", "stories.duplicates"],
    }


class UndeclaredTopic(RecordingTopic):
    def get_topic_name(self) -> str:
        return "stories.elsewhere"


async def test_a_keyed_send_to_a_topic_no_hop_declared_is_refused() -> None:
    """A new keyed output must be declared with its hop, or its repeats would never be read back."""
    wiring = create_app(Settings(store="memory://", app_id="wirestream-delivered-tests"))
    topic: Any = UndeclaredTopic()
    with pytest.raises(ValueError, match=r"stories\.elsewhere is no agent's declared keyed output"):
        await wiring.send(topic, "a", {}, idempotency_key="raw:0:5#0")
    await wiring.send(topic, "a", {})  # unkeyed records (dead letters, thread summaries) go anywhere
    assert topic.sent == [b"a"]

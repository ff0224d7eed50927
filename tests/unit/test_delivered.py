"""A copy of an output record the broker already acknowledged is not sent again; anything else is."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.app import Delivered, create_app
from streams.settings import Settings


class RecordingTopic:
    """Stands in for a Faust topic: records each send and hands back its delivery future."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    def get_topic_name(self) -> str:
        return "stories.unique"

    async def send(self, key: bytes, value: bytes, headers: dict[str, bytes] | None = None) -> asyncio.Future[Any]:
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append(key)
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

"""No offset is committed before the table writes of what it covers are on the changelog."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import faust
import pytest
from faust.types.tuples import TP, FutureMessage, PendingMessage, RecordMetadata

from streams.faust_patches import TableWriteError, commit_after_table_writes


class SlowChangelog:
    """Stands in for the changelog topic: a send completes only when the test says so, as when
    aiokafka waits for metadata or the broker's acknowledgement on a busy worker."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.failure: Exception | None = None

    def get_topic_name(self) -> str:
        return "app-dedup-changelog"

    async def publish_message(self, fut: FutureMessage, wait: bool = False) -> None:
        await self.released.wait()
        if self.failure is not None:
            fut.set_exception(self.failure)
        else:
            fut.set_result(RecordMetadata("app-dedup-changelog", 0, TP("app-dedup-changelog", 0), 7, 0.0))


def table_write(channel: SlowChangelog) -> FutureMessage:
    message = PendingMessage(channel, b"m:stories.raw:1:41#0", b"{}", 0, None, None, None, None, None)  # type: ignore[arg-type]
    return FutureMessage(message)


@pytest.fixture
async def app() -> AsyncIterator[faust.App]:
    app = faust.App("table-writes-test", broker="kafka://localhost:1", web_enabled=False)
    commit_after_table_writes(app)
    await app.producer.buffer.start()
    yield app
    await app.producer.buffer.stop()


async def test_the_flush_before_a_commit_waits_for_every_table_write(app: faust.App) -> None:
    # Faust's own flush returned at once here: the drainer had taken the write, so the buffer looked
    # empty, and the offset was committed with the write still unsent.
    changelog = SlowChangelog()
    write = table_write(changelog)
    app.producer.buffer.put(write)
    flushing = asyncio.ensure_future(app.producer.flush())
    await asyncio.sleep(0.5)  # Faust gave up after 0.1 s without a message sent
    assert not flushing.done()
    changelog.released.set()
    await asyncio.wait_for(flushing, 2.0)
    assert write.result().offset == 7


async def test_a_table_write_the_broker_refused_stops_the_commit(app: faust.App) -> None:
    changelog = SlowChangelog()
    changelog.failure = RuntimeError("NotLeaderForPartition")
    app.producer.buffer.put(table_write(changelog))
    changelog.released.set()
    with pytest.raises(TableWriteError, match=r"app-dedup-changelog partition 0 was not acknowledged"):
        await asyncio.wait_for(app.producer.flush(), 2.0)


async def test_writes_put_after_the_flush_began_are_not_waited_for(app: faust.App) -> None:
    # The agents keep handling stories during a periodic commit; the commit covers only earlier ones.
    done = table_write(changelog := SlowChangelog())
    changelog.released.set()
    app.producer.buffer.put(done)
    flushing = asyncio.ensure_future(app.producer.flush())
    await asyncio.sleep(0)  # the flush has begun
    app.producer.buffer.put(table_write(SlowChangelog()))
    await asyncio.wait_for(flushing, 2.0)
    assert done.done()

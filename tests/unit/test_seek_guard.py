"""The seek after an assignment runs with the fetcher and the agents stopped, and leaves them so."""

from __future__ import annotations

import faust
import pytest
from faust.transport.consumer import Consumer
from faust.types import TP
from mode.utils.queues import FlowControlQueue

from streams.faust_patches import guard_seek


@pytest.fixture
def app() -> faust.App:
    return faust.App("seek-guard-test", broker="kafka://localhost:1", web_enabled=False)


async def test_the_seek_runs_with_both_flows_stopped_and_the_queues_empty(app: faust.App) -> None:
    consumer = app.consumer
    assert isinstance(consumer, Consumer)
    queue: FlowControlQueue[str] = FlowControlQueue(flow_control=app.flow_control, clear_on_resume=True)
    app.flow_control.resume()
    consumer.resume_flow()
    queue.put_nowait("fetched before the seek")
    during: list[tuple[bool, bool, int]] = []

    async def seek() -> None:
        during.append((consumer.flow_active, app.flow_control.is_active(), queue.qsize()))

    consumer.perform_seek = seek  # type: ignore[method-assign]
    consumer.assignment = set  # type: ignore[method-assign]
    guard_seek(app)
    await consumer.perform_seek()

    assert during == [(False, False, 0)]
    # Left stopped: Faust's Recovery resumes the agents' flow, then the consumer's, right after.
    assert consumer.flow_active is False
    assert app.flow_control.is_active() is False


async def test_faust_empties_the_agents_queues_on_every_resume(app: faust.App) -> None:
    # Why the guard must not resume the flow itself: a record delivered after such a resume is
    # dropped by the resume Recovery calls next, although the flow was already active.
    queue: FlowControlQueue[str] = FlowControlQueue(flow_control=app.flow_control, clear_on_resume=True)
    app.flow_control.resume()
    queue.put_nowait("delivered while active")
    app.flow_control.resume()
    assert queue.qsize() == 0


async def test_a_partition_without_a_committed_offset_is_read_again_from_its_start(app: faust.App) -> None:
    # aiokafka's seek_to_committed leaves such a partition where the fetcher was: past the records
    # the guard just dropped. They must be fetched again, and the commit must wait for the first one.
    consumer = app.consumer
    assert isinstance(consumer, Consumer)
    fresh, committed, changelog = TP("stories.raw", 0), TP("stories.raw", 1), TP("app-dedup-changelog", 0)
    sought: list[tuple[TP, int]] = []

    async def seek_to_committed() -> None:
        consumer._committed_offset[committed] = 7

    async def earliest_offsets(*partitions: TP) -> dict[TP, int]:
        return dict.fromkeys(partitions, 0)

    async def seek(partition: TP, offset: int) -> None:
        sought.append((partition, offset))

    consumer.perform_seek = seek_to_committed  # type: ignore[method-assign]
    consumer.assignment = lambda: {fresh, committed, changelog}  # type: ignore[method-assign]
    consumer.earliest_offsets = earliest_offsets  # type: ignore[method-assign]
    consumer.seek = seek  # type: ignore[method-assign]
    consumer._is_changelog_tp = lambda tp: tp.topic.endswith("-changelog")  # type: ignore[method-assign]
    guard_seek(app)
    await consumer.perform_seek()

    assert sought == [(fresh, 0)]
    assert consumer._committed_offset[fresh] == 0
    assert consumer._committed_offset[committed] == 7

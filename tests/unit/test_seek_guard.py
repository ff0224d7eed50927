"""The seek after an assignment runs with the fetcher and the agents stopped, and leaves them so."""

from __future__ import annotations

import faust
import pytest
from faust.transport.consumer import Consumer
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

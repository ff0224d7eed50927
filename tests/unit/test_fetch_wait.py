"""The worker's Kafka consumer waits at most ``fetch_max_wait_ms`` for new records, not Faust's 1.5 s."""

from __future__ import annotations

import pytest

from streams.app import create_app
from streams.faust_patches import limit_fetch_wait
from streams.settings import Settings


@pytest.mark.asyncio
async def test_the_consumer_faust_creates_gets_the_configured_fetch_wait() -> None:
    app = create_app(Settings()).app
    thread = app.consumer._thread  # type: ignore[attr-defined]
    unlimited = thread._create_worker_consumer(app.transport)
    assert unlimited._fetch_max_wait_ms == 1500  # Faust's fixed value; this test is moot if it changes
    await unlimited.stop()

    limit_fetch_wait(app, 42)
    limited = thread._create_worker_consumer(app.transport)
    assert limited._fetch_max_wait_ms == 42
    await limited.stop()


def test_the_default_is_far_below_fausts() -> None:
    assert Settings().fetch_max_wait_ms == 50
    assert Settings.from_env({"WIRESTREAM_FETCH_MAX_WAIT_MS": "200"}).fetch_max_wait_ms == 200

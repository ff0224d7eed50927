"""``wirestream worker`` whose agents block forever on a story that carries ``STALL_MARKER``: a
consumer that stops making progress while the process stays up, for the stall watchdog's test."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from streams.app import Handler, Wiring
from streams.cli import main

STALL_MARKER = b"wirestream-test-stall-here"
_consume = Wiring.consume


async def _blocking_consume(self: Wiring, stream: Any, handle: Handler, *args: Any, **kwargs: Any) -> None:
    async def handle_or_block(event: Any) -> None:
        value = event.message.value
        if isinstance(value, bytes) and STALL_MARKER in value:
            await asyncio.Event().wait()
        await handle(event)

    await _consume(self, stream, handle_or_block, *args, **kwargs)  # whatever else consume takes


if __name__ == "__main__":
    setattr(Wiring, "consume", _blocking_consume)  # noqa: B010 - the injected fault
    sys.exit(main(["worker"]))

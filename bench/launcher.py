#!/usr/bin/env python3
"""Start one benchmark worker process: the real worker, the pipeline with its stages stubbed, or a
pass-through agent. Settings come from the ``WIRESTREAM_*`` variables, as for ``wirestream worker``.

    python bench/launcher.py pipeline      # exactly ``wirestream worker``
    python bench/launcher.py stubbed       # the same worker, every stage function replaced by identity
    python bench/launcher.py passthrough   # one Faust agent: raw -> the enriched topic, decode + encode
    python bench/launcher.py chain         # three such agents along the pipeline's topics: raw -> clean
                                           # -> unique -> enriched (Faust's own cost of the pipeline's hops)

The stubbing is done here, by replacing the stage functions the agents call (``agents.clean.clean_text``,
``agents.clean.detect_language``, ``streams.agents.deduplicate``, ``streams.agents.enrich_or_dead_letter``)
before the worker starts: the product code has no benchmark switch. Parsing the payload (the validate
step), the three Faust hops, the (de)serialisation of the records between them and the building of the
ninjs envelope stay: that is the plumbing this mode measures. Prints what it replaced to stderr.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from streams.settings import Settings  # noqa: E402


def _stub() -> list[str]:
    """Replace every stage function by identity; returns the names replaced."""
    from agents import clean, language
    from schemas.ninjs import build_enriched
    from schemas.records import CleanText, DedupTag, LanguageTag, StoryInFlight
    from streams import agents as stage_agents

    replaced: list[str] = []

    def identity_clean(headline: str | None, body: str | None, *args: Any, **kwargs: Any) -> CleanText:
        return CleanText(headline=headline or "", body=body or "", removed=[])

    class _Result:
        def __init__(self, declared: str | None) -> None:
            self.code = declared or "und"
            self.confidence = 1.0
            self.declared = declared
            self.mismatch = False

    def identity_language(headline: str, body: str, declared: str | None = None, *args: Any, **kwargs: Any) -> Any:
        return _Result(declared)

    def identity_dedup(story: StoryInFlight, *args: Any, **kwargs: Any) -> StoryInFlight:
        story.dedup = DedupTag("", "new", None)
        return story

    def identity_entities(stories: Any, pipeline_version: str, *args: Any, **kwargs: Any) -> list[Any]:
        return [build_enriched(story, [], pipeline_version) for story in stories]

    def no_signature(*args: Any, **kwargs: Any) -> None:
        return None

    for module, name, stub in (
        (clean, "clean_text", identity_clean),
        (clean, "text_signature", no_signature),
        (clean, "detect_language", identity_language),
        (stage_agents, "deduplicate", identity_dedup),
        (stage_agents, "enrich_or_dead_letter", identity_entities),
    ):
        if hasattr(module, name):
            setattr(module, name, stub)
            replaced.append(f"{module.__name__}.{name}")
    # Nothing to load: the stubs use no model.
    if hasattr(language, "warm_up"):
        language.warm_up = lambda *args, **kwargs: 0.0
        replaced.append("agents.language.warm_up")
    _ = LanguageTag  # the stub returns an object with LanguageTag's fields
    return replaced


def _passthrough(settings: Settings, hops: int = 1) -> None:
    """A Faust app with the worker's consumer/producer settings and ``hops`` agents in a row that copy
    each message on, decoded and encoded again with orjson (the same codec): one hop goes from the raw
    topic straight to the enriched one; three go raw -> clean -> unique -> enriched, the pipeline's
    topics, keyed as the pipeline keys them (the clean topic by a language-sized set of keys)."""
    import asyncio
    import logging

    from schemas.codec import decode, encode
    from streams.app import _topic, faust_app
    from streams.topics import ensure_topics
    from streams.worker import TunedWorker

    logging.basicConfig(level=settings.log_level)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(ensure_topics(settings))
    app = faust_app(settings, store="memory://")
    names = [settings.topic_raw, settings.topic_clean, settings.topic_unique, settings.topic_enriched]
    path = [*names[:hops], settings.topic_enriched]
    topics = [_topic(app, name, settings.partitions) for name in path]

    def first_hop(message: Any) -> tuple[bytes, bytes]:
        try:
            value: Any = decode(message.value)
        except ValueError:
            value = None
        record = {
            "payload": value,
            "source": {"topic": message.topic, "partition": message.partition, "offset": message.offset},
            "received_at": message.timestamp,
        }
        key = message.key or b""
        if hops > 1:  # the clean topic is keyed by language: a handful of keys
            key = b"lang-%d" % (message.offset % 5)
        return key, encode(record)

    def later_hop(message: Any) -> tuple[bytes, bytes]:
        record = decode(message.value)
        return (record.get("source") and str(record["source"]["offset"]).encode()) or b"", encode(record)

    def make_agent(index: int) -> None:
        source, target = topics[index], topics[index + 1]
        hop = first_hop if index == 0 else later_hop

        @app.agent(source, name=f"passthrough-{index}")
        async def copy(stream: Any) -> None:
            async for event in stream.events():
                key, value = hop(event.message)
                await target.send(key=key, value=value)

    for index in range(hops):
        make_agent(index)

    @app.page("/readyz")
    async def ready(web: Any, request: Any) -> Any:
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        return web.json({"ready": assigned > 0, "assigned_partitions": assigned}, status=200 if assigned else 503)

    worker = TunedWorker(
        app, loglevel=settings.log_level, quiet=True, loop=loop, fetch_max_wait_ms=settings.fetch_max_wait_ms
    )
    worker.execute_from_commandline()


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "pipeline"
    settings = Settings.from_env()
    print(f"launcher: mode={mode} pid={__import__('os').getpid()} at {time.time():.3f}", file=sys.stderr, flush=True)
    if mode in ("passthrough", "chain"):
        _passthrough(settings, hops=1 if mode == "passthrough" else 3)
        return 0
    if mode == "stubbed":
        replaced = _stub()
        print(f"launcher: stubbed {', '.join(replaced)}", file=sys.stderr, flush=True)
        if len(replaced) < 4:
            print("launcher: the stage functions moved; the stubbed mode no longer stubs every stage", file=sys.stderr)
            return 3
    elif mode != "pipeline":
        print(f"launcher: unknown mode {mode!r}", file=sys.stderr)
        return 2
    from streams.worker import run_worker

    run_worker(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

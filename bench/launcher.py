#!/usr/bin/env python3
"""Start one benchmark worker process: the real worker, the pipeline with its stages stubbed, or a
pass-through agent. Settings come from the ``WIRESTREAM_*`` variables, as for ``wirestream worker``.

    python bench/launcher.py pipeline      # exactly ``wirestream worker``
    python bench/launcher.py stubbed       # the same worker, every stage function replaced by identity
    python bench/launcher.py passthrough   # one Faust agent: raw -> the enriched topic, decode + encode
    python bench/launcher.py chain         # four such agents along the pipeline's topics: raw -> clean
                                           # -> unique -> tagged (1 partition) -> enriched (Faust's own
                                           # cost of the pipeline's shape)
    python bench/launcher.py chain3        # three: raw -> clean -> unique -> enriched (the pipeline's shape
                                           # before the thread stage, which issue #19 measured against)
    python bench/launcher.py faust-exactly-once   # the worker with Faust's processing_guarantee="exactly_once"
                                                  # (bench/worker_faults.py shows what it does under faults)

The stubbed mode hands the worker a :class:`streams.pipeline.Pipeline` whose stages are identity ones
(``_stubbed_pipeline``): the product code has no benchmark switch. Parsing the payload (the validate
step), the four Faust hops, the (de)serialisation of the records between them and the building of the
ninjs envelope stay: that is the plumbing this mode measures.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import _repo  # noqa: F401 (puts the checkout on sys.path)

from streams.pipeline import Pipeline, Stages
from streams.settings import Settings


def _stubbed_pipeline(settings: Settings) -> Pipeline:
    """The worker's pipeline with identity stages: stage 1 only parses (the validate step), dedup
    passes every story as new, the entity stage tags nothing, every story opens a thread of its own
    (and the state is left empty, so no summary is sent); no model is loaded."""
    from dataclasses import replace

    from agents.failures.dead_letter import dead_letter
    from agents.formats import parse_payload
    from agents.threads import Decision, thread_id
    from schemas.ninjs import build_enriched
    from schemas.records import CleanText, DedupTag, LanguageTag, StoryInFlight, StoryRef, ThreadTag

    def parse_only(payload: bytes, content_type: str | None, source: Any, received_at: float, *_: Any) -> list[Any]:
        try:
            stories = parse_payload(payload, content_type)
        except Exception as error:  # noqa: BLE001 - as the real stage: a dead letter
            return [dead_letter(error, "validate", payload, source, time.time())]
        return [
            StoryInFlight(
                replace(story, body=None),
                source,
                index,
                received_at,
                CleanText(story.headline or "", story.body or "", []),
                LanguageTag(story.language or "und", 1.0, story.language, False),
                None,
                {},
                None,
            )
            for index, story in enumerate(stories)
        ]

    def identity_dedup(story: StoryInFlight, *_: Any) -> StoryInFlight:
        story.dedup = DedupTag("", "new", None)
        return story

    def identity_entities(stories: Any, pipeline_version: str, enabled: bool, max_chars: int, ninjs: str) -> list[Any]:
        return [build_enriched(story, [], pipeline_version, ninjs_version=ninjs) for story in stories]

    def own_thread(story: Any, *_: Any) -> Decision:
        uri, version = story.item["uri"], story.item.get("version")
        return Decision(ThreadTag(thread_id(uri, version), StoryRef(uri, version), 1, [], 0.0), None)

    return Pipeline(settings, Stages(parse_only, identity_dedup, identity_entities, lambda _: {}, own_thread))


def _faust_exactly_once() -> None:
    """Make every Faust app of this process use Faust's own exactly-once mode (transactions)."""
    import faust

    class TransactionalApp(faust.App):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, processing_guarantee="exactly_once", **kwargs)

    faust.App = TransactionalApp  # type: ignore[misc]


def _passthrough(settings: Settings, hops: int = 1) -> None:
    """A Faust app with the worker's consumer/producer settings and ``hops`` agents in a row that copy
    each message on, decoded and encoded again with orjson (the same codec): one hop goes from the raw
    topic straight to the enriched one; four go raw -> clean -> unique -> tagged (one partition, as the
    thread stage's) -> enriched, the pipeline's topics, keyed as the pipeline keys them (the clean topic
    by a language-sized set of keys); three stop at unique and go on to enriched."""
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
    names = [settings.topic_raw, settings.topic_clean, settings.topic_unique, settings.topic_tagged]
    path = [*names[:hops], settings.topic_enriched]
    topics = [_topic(app, name, 1 if name == settings.topic_tagged else settings.partitions) for name in path]

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


HOPS = {"passthrough": 1, "chain3": 3, "chain": 4}


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "pipeline"
    settings = Settings.from_env()
    print(f"launcher: mode={mode} pid={__import__('os').getpid()} at {time.time():.3f}", file=sys.stderr, flush=True)
    if mode in HOPS:
        _passthrough(settings, hops=HOPS[mode])
        return 0
    if mode == "faust-exactly-once":
        _faust_exactly_once()
    elif mode not in ("pipeline", "stubbed"):
        print(f"launcher: unknown mode {mode!r}", file=sys.stderr)
        return 2
    from streams.worker import run_worker

    run_worker(settings, _stubbed_pipeline(settings) if mode == "stubbed" else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

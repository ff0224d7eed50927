"""The ``wirestream`` command line.

wirestream worker                 run the stream worker (settings from WIRESTREAM_* variables)
wirestream kafka start|stop|status|reset [--brokers N]
                                  a local Apache Kafka broker or cluster (jars from Maven Central)
wirestream topics                 create the pipeline's topics
wirestream produce FILES...       publish raw stories to the raw topic
wirestream consume [--topic T]    print records of the output topics
wirestream enrich FILES... --out DIR
                                  the same stages offline, to JSON Lines files
wirestream config [--markdown]    show the settings (or the README table)
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import orjson

from streams.settings import Settings, SettingsError, markdown_table

if TYPE_CHECKING:
    from streams.kafka_access import KafkaAccess

T = TypeVar("T")


def _settings() -> Settings:
    """The settings from the environment; an unusable one ends the command in :func:`main`."""
    return Settings.from_env()


def _run(coroutine: Awaitable[T]) -> T:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(coroutine)


def _say(line: str) -> None:
    print(f"wirestream: {line}", file=sys.stderr, flush=True)


def _require_inputs(paths: list[str]) -> None:
    """Fail before any work when an input file is missing (``-`` is stdin)."""
    for name in paths:
        if name != "-" and not Path(name).exists():
            raise FileNotFoundError(errno.ENOENT, "no such file or directory", name)


def _with_kafka(settings: Settings, work: Callable[[KafkaAccess], Awaitable[T]]) -> T:
    """Wait for Kafka as the worker does, then run ``work``; a Kafka that refuses the settings, or
    never answers, ends the command with one line and the exit code of :class:`KafkaAccessError`."""
    from aiokafka.errors import KafkaError

    from streams.kafka_access import KafkaAccess, KafkaAccessError, as_refusal, wait_for_kafka

    access = KafkaAccess.from_settings(settings)

    async def run() -> T:
        await wait_for_kafka(access, settings.broker_wait_seconds, _say)
        return await work(access)

    try:
        return _run(run())
    except KafkaAccessError as error:
        _say(f"error: {error}")
        raise SystemExit(error.exit_code) from None
    except KafkaError as error:
        refusal = as_refusal(error, access)
        _say(f"error: {refusal}" if refusal else f"Kafka error: {error}")
        raise SystemExit(refusal.exit_code if refusal else 1) from None


def cmd_worker(args: argparse.Namespace) -> int:
    """Create the topics, load the models, then run the Faust worker until SIGTERM/SIGINT."""
    from streams.faust_patches import FaustPatchError
    from streams.worker import run_worker

    try:
        run_worker(_settings())
    except FaustPatchError as error:
        print(f"wirestream: cannot start the worker: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_kafka(args: argparse.Namespace) -> int:
    """Delegate to the local broker manager."""
    from streams import kafka_local

    return kafka_local.run(args.action, args.brokers)


def cmd_topics(args: argparse.Namespace) -> int:
    """Create the pipeline's topics (those missing) and print them."""
    from streams.topics import ensure_topics, topic_specs

    settings = _settings()
    created = _with_kafka(settings, lambda _: ensure_topics(settings))
    for spec in topic_specs(settings):
        state = "created" if spec.name in created else "exists"
        print(f"{spec.name:32} partitions={spec.partitions} {state}")
    return 0


def cmd_produce(args: argparse.Namespace) -> int:
    """Publish every payload of the given files to the raw topic."""
    from streams.client import produce
    from streams.offline import read_inputs

    settings = _settings()
    _require_inputs(args.files)
    payloads = [payload for _, payload in read_inputs(args.files)]
    count = _with_kafka(
        settings, lambda kafka: produce(kafka, settings.topic_raw, payloads, args.partition, args.content_type)
    )
    print(f"published {count} stories to {settings.topic_raw}", file=sys.stderr)
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    """Print records of the output topics as JSON lines (topic, then the record)."""
    from streams.client import consume

    settings = _settings()
    topics = args.topic or [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    records = _with_kafka(settings, lambda kafka: consume(kafka, topics, args.expect, args.timeout, args.idle))
    if args.latest:
        records = list(
            {
                (topic, record.get("id", index)): (topic, record) for index, (topic, record) in enumerate(records)
            }.values()
        )
    for topic, record in records:
        if args.summary:
            print(_summary(topic, record))
        else:
            sys.stdout.write(orjson.dumps({"topic": topic, "record": record}).decode() + "\n")
    return 0


def _summary(topic: str, record: dict[str, object]) -> str:
    if "item" in record:
        item, enrichment = record["item"], record["enrichment"]
        assert isinstance(item, dict) and isinstance(enrichment, dict)
        headline = (item.get("headlines") or [{"value": ""}])[0]["value"]
        names = [e["name"] for key in ("people", "organisations", "places") for e in item.get(key, [])]
        status = enrichment["dedup"]["status"]
        thread = enrichment.get("thread") or {}
        translation = enrichment["dedup"].get("translation_of")
        translates = f"  translation of {translation['uri']}" if translation else ""
        return (
            f"[{topic}] {item.get('language', '?')} {status:6} {item['uri']}  {headline[:60]!r}  entities={names[:6]}"
            f"  {thread.get('id', 'no thread')} ({thread.get('size', 0)}: {','.join(thread.get('languages', []))})"
            f"{translates}"
        )
    if "members" in record:
        members = record["members"]
        languages = record["languages"]
        assert isinstance(members, list) and isinstance(languages, dict)
        uris = ", ".join(
            f"{m['uri']}{' v' + m['version'] if m.get('version') else ''} ({m['language']})" for m in members
        )
        return f"[{topic}] {record['id']} {record['size']} stories in {','.join(sorted(languages))}: {uris}"
    if "duplicate_of" in record:
        original = record["duplicate_of"]
        assert isinstance(original, dict)
        return f"[{topic}] {record['kind']:5} {record['uri']} -> {original['uri']} v{original.get('version')}"
    error = record.get("error", {})
    assert isinstance(error, dict)
    return f"[{topic}] {error.get('stage')}/{error.get('type')}: {str(error.get('message'))[:90]}"


def cmd_enrich(args: argparse.Namespace) -> int:
    """Run the stages offline over files (or stdin) into ``--out``."""
    from streams.offline import enrich_files

    settings = _settings()
    _require_inputs(args.files)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "--out is not a directory", str(out))
    counts = enrich_files(args.files or ["-"], out, settings)
    print(
        f"read {counts.read}: {counts.enriched} enriched, {counts.duplicates} duplicates, "
        f"{counts.dead_letters} dead letters, {counts.threads} threads -> {out}/",
        file=sys.stderr,
    )
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the effective settings, or the README's configuration table."""
    if args.markdown:
        print(markdown_table())
        return 0
    settings = _settings()
    for name in settings.__dataclass_fields__:
        print(f"{name} = {getattr(settings, name)!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="wirestream", description="Stream processor for news wire stories.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("worker", help="run the stream worker").set_defaults(func=cmd_worker)

    from streams import kafka_local

    kafka = sub.add_parser("kafka", help="manage a local Apache Kafka broker or cluster")
    kafka_local.build_parser(kafka).set_defaults(func=cmd_kafka)

    sub.add_parser("topics", help="create the pipeline's topics").set_defaults(func=cmd_topics)

    produce = sub.add_parser("produce", help="publish raw stories to the raw topic")
    produce.add_argument("files", nargs="+", help="JSON Lines files (one story a line), other files, directories, -")
    produce.add_argument("--partition", type=int, default=None, help="send every story to this partition")
    produce.add_argument("--content-type", default=None, help="content-type header for every message")
    produce.set_defaults(func=cmd_produce)

    consume = sub.add_parser("consume", help="print records of the output topics")
    consume.add_argument("--topic", action="append", help="topic to read (repeatable); default: the outputs")
    consume.add_argument("--expect", type=int, default=None, help="stop after this many records")
    consume.add_argument("--timeout", type=float, default=30.0, help="stop after this many seconds")
    consume.add_argument("--idle", type=float, default=5.0, help="stop after this many seconds with nothing new")
    consume.add_argument("--summary", action="store_true", help="one human-readable line per record")
    consume.add_argument(
        "--latest", action="store_true", help="only the last record of each thread (what stories.threads compacts to)"
    )
    consume.set_defaults(func=cmd_consume)

    enrich = sub.add_parser("enrich", help="run the pipeline offline over files")
    enrich.add_argument("files", nargs="*", help="JSON Lines files, other payload files, directories; - for stdin")
    enrich.add_argument("--out", required=True, help="output directory")
    enrich.set_defaults(func=cmd_enrich)

    config = sub.add_parser("config", help="show the settings")
    config.add_argument("--markdown", action="store_true", help="print the README configuration table")
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wirestream`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as error:
        print(f"wirestream: configuration error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a missing or unreadable input, an output that cannot be written
        where = f"{error.filename}: " if error.filename else ""
        _say(f"error: {where}{error.strerror or error}")
        return 66 if isinstance(error, FileNotFoundError) else 74


if __name__ == "__main__":
    raise SystemExit(main())

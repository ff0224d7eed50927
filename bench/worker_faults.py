#!/usr/bin/env python3
"""Worker faults on a real broker: every raw message traced to its output records.

Starts its own broker (``LocalKafka`` on ``--port``), fresh topics, and 2-3 ``wirestream worker``
processes (entities off, RocksDB store, 4 partitions), publishes stories at a steady rate while a
fault is applied, then reads every output topic and counts, per raw message (its coordinates, which
every output record carries): **lost** (no output record), **doubled** (more than one), and whether
its decision (new, update or exact duplicate) is the one an uninterrupted run makes. **Stall** is the
longest time no output record was written while stories were flowing: the time to recover.

Faults:

* ``none``: no fault (the baseline);
* ``crash-loop``: every ``--interval`` seconds a random ready worker is SIGKILLed and started again;
* ``storm``: every ``--interval`` seconds a worker joins or leaves (SIGTERM), 1 to 3 workers.

Each fault runs for ``--seconds`` and until ``--faults-min`` kills, joins or leaves were made (a worker
that is still loading its models is not killed: on a busy machine that takes minutes), stories
flowing all the while.

    python bench/worker_faults.py [--faults none,crash-loop,storm] [--seconds 60] [--faults-min 10] [--interval 4]
        [--rate 40] [--workers 2] [--session-timeout 10]
        [--faust-exactly-once] [--resend-lookback 0,300] [--port 19150]

With ``WIRESTREAM_FAULTS_KEEP=1`` set, each scenario's work dir (the workers' logs and data dirs) is
kept, and its path printed.

``--resend-lookback`` runs each fault once per value of ``WIRESTREAM_RESEND_LOOKBACK_SECONDS``, by
default 0 (no read-back of what an earlier worker already sent: the baseline) and the default.

``--faust-exactly-once`` runs the workers with Faust's own ``processing_guarantee="exactly_once"``
(``bench/launcher.py faust-exactly-once``) to show what it does; outputs are always read
``read_committed``.

The integration tests ``tests/integration/test_faults.py`` run short forms of the same scenarios.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import orjson  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from bench.fault_bench import chosen_faults, fault_parser, load, markdown_table  # noqa: E402
from streams.client import read_messages, story_key  # noqa: E402
from streams.kafka_local import LocalKafka  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.topics import ensure_topics  # noqa: E402
from tests.integration.conftest import free_port  # noqa: E402
from tests.integration.faults import wait_settled  # noqa: E402

FAULTS = ("none", "crash-loop", "storm")


# --------------------------------------------------------------------------- the stories


@dataclass(frozen=True, slots=True)
class Corpus:
    """Raw payloads and, for each, the decision an uninterrupted run makes (``new``, ``update``
    or ``exact``). Copies and updates repeat a uri, so they land on the same raw partition as
    their original, in order: their decisions do not depend on timing."""

    payloads: list[bytes]
    expected: list[str]


# Real English words, so that every story is detected as English and its copies and updates meet in
# one dedup partition (hex strings made a few stories `und`, whose update then passed as new).
VOCABULARY = [
    "harbour",
    "cargo",
    "river",
    "bridge",
    "council",
    "minister",
    "market",
    "farmer",
    "teacher",
    "doctor",
    "village",
    "station",
    "tunnel",
    "engine",
    "garden",
    "library",
    "museum",
    "theatre",
    "festival",
    "weather",
    "storm",
    "flood",
    "harvest",
    "wheat",
    "barley",
    "coffee",
    "copper",
    "silver",
    "timber",
    "cement",
    "railway",
    "airport",
    "runway",
    "ferry",
    "tanker",
    "convoy",
    "budget",
    "pension",
    "salary",
    "tenant",
    "landlord",
    "court",
    "judge",
    "lawyer",
    "witness",
    "police",
    "border",
    "customs",
    "export",
    "import",
    "factory",
    "worker",
    "union",
    "strike",
    "contract",
    "tender",
    "bidder",
    "auction",
    "museum",
    "painter",
    "singer",
    "orchestra",
    "stadium",
    "league",
    "season",
    "striker",
    "keeper",
    "referee",
    "hospital",
    "nurse",
    "patient",
    "vaccine",
    "clinic",
    "school",
    "student",
    "exam",
    "science",
    "research",
    "laboratory",
    "satellite",
    "rocket",
    "telescope",
    "planet",
    "island",
    "coast",
    "mountain",
    "valley",
]


def _words(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return " ".join(VOCABULARY[byte % len(VOCABULARY)] for byte in digest)


def _story(uri: str, version: int, text_seed: str) -> bytes:
    return orjson.dumps(
        {
            "uri": uri,
            "version": str(version),
            "headline": f"Harbour report {text_seed}",
            "body_text": f"Ship {text_seed} reached the port of Rotterdam on Wednesday, the harbour authority "
            f"said. Dock workers unloaded the cargo before the storm. {_words(text_seed)}.",
        }
    )


def make_corpus(n: int, run: str) -> Corpus:
    """``n`` stories: mostly new, every tenth an exact copy of an earlier one, every tenth an update."""
    payloads: list[bytes] = []
    expected: list[str] = []
    for i in range(n):
        if i >= 10 and i % 10 == 7:
            payloads.append(payloads[i - 5])
            expected.append("exact")
        elif i >= 10 and i % 10 == 3:
            payloads.append(_story(f"urn:fault:{run}:{i - 5}", 2, f"{run}-{i}-v2"))
            expected.append("update")
        else:
            payloads.append(_story(f"urn:fault:{run}:{i}", 1, f"{run}-{i}"))
            expected.append("new")
    return Corpus(payloads, expected)


# --------------------------------------------------------------------------- the workers


@dataclass
class Fleet:
    """Worker processes (``python -m streams.cli worker``), each in a slot with its own data dir."""

    settings: Settings
    workdir: Path
    command: list[str] = field(default_factory=lambda: ["-m", "streams.cli", "worker"])
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_at: dict[int, float] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)
    kills: int = 0
    joins: int = 0
    leaves: int = 0

    def start(self, slot: int) -> None:
        self.ports[slot] = free_port()
        settings = self.settings.with_overrides(
            web_port=self.ports[slot], data_dir=str(self.workdir / f"worker-{slot}")
        )
        log = (self.workdir / f"worker-{slot}.log").open("ab")
        self.processes[slot] = subprocess.Popen(
            [sys.executable, *self.command],
            env={**os.environ, **settings.environ()},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        log.close()
        self.started_at[slot] = time.monotonic()

    def alive(self) -> list[int]:
        return [slot for slot, process in self.processes.items() if process.poll() is None]

    def ready(self) -> list[int]:
        """The workers whose ``/readyz`` says ready: models loaded and partitions assigned."""
        found = []
        for slot in self.alive():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[slot]}/readyz", timeout=2) as response:
                    if orjson.loads(response.read())["ready"]:
                        found.append(slot)
            except (OSError, ValueError):
                pass
        return found

    def kill(self, slot: int) -> None:
        """SIGKILL a worker and start it again in the same slot."""
        self.processes[slot].kill()
        self.processes[slot].wait()
        self.kills += 1
        self.start(slot)

    def leave(self, slot: int) -> None:
        """SIGTERM a worker (it drains and leaves the group); does not wait for it."""
        self.processes[slot].send_signal(signal.SIGTERM)
        self.leaves += 1

    def join(self) -> None:
        slot = next(s for s in range(len(self.processes) + 1) if s not in self.alive())
        if slot in self.processes:
            self.processes[slot].wait()
        self.start(slot)
        self.joins += 1

    def stop(self) -> list[int]:
        """SIGTERM every worker and wait; returns the exit codes."""
        codes = []
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                codes.append(process.wait(60))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        return codes


def apply_fault(
    fault: str, fleet: Fleet, seconds: float, faults: int, interval: float, rng: random.Random, limit: float
) -> None:
    """Run ``fault`` on the fleet for ``seconds`` and until ``faults`` faults were made (a kill, a join
    or a leave), at most ``limit`` seconds. Kills and leaves pick a worker that is ready (one still
    loading its models has nothing to lose or hand over); with none ready, that turn is skipped."""
    began = time.monotonic()
    while True:
        elapsed = time.monotonic() - began
        done = fleet.kills + fleet.joins + fleet.leaves
        if fault == "none" or elapsed + interval > limit or (elapsed + interval > seconds and done >= faults):
            time.sleep(max(0.0, seconds - elapsed))
            return
        time.sleep(interval)
        alive, ready = fleet.alive(), fleet.ready()
        if fault == "crash-loop" and ready:
            fleet.kill(rng.choice(ready))
        elif fault == "storm":
            if ready and (len(alive) >= 3 or (len(alive) > 1 and rng.random() < 0.5)):
                fleet.leave(rng.choice(ready))
            elif len(alive) < 3:
                fleet.join()


# --------------------------------------------------------------------------- publish and count


async def publish(
    bootstrap: str, topic: str, payloads: list[bytes], rate: float, stop: threading.Event
) -> dict[tuple[int, int], int]:
    """Send the payloads at ``rate`` a second until ``stop`` is set or none is left; returns
    (partition, offset) -> index of the payload for every one sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    coordinates: dict[tuple[int, int], int] = {}
    try:
        started = time.monotonic()
        for index, payload in enumerate(payloads):
            if stop.is_set():
                break
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = await producer.send_and_wait(topic, payload, key=story_key(payload))
            coordinates[(sent.partition, sent.offset)] = index
    finally:
        await producer.stop()
    return coordinates


@dataclass(slots=True)
class Tally:
    """What came out, per raw message."""

    raw: int
    lost: int
    doubled: int
    most_copies: int
    wrong_decisions: int
    stall_seconds: float
    outputs: int

    @property
    def decisions_equal(self) -> bool:
        return self.wrong_decisions == 0


def decision_of(topic: str, record: dict[str, Any], settings: Settings) -> str:
    """``new``/``update`` for an enriched story, the duplicate kind for a notice, ``dead`` for a dead letter."""
    if topic == settings.topic_enriched:
        return str(record["enrichment"]["dedup"]["status"])
    if topic == settings.topic_duplicates:
        return str(record["kind"])
    return "dead"


def tally(
    settings: Settings,
    corpus: Corpus,
    coordinates: dict[tuple[int, int], int],
    messages: list[Any],
    flowing: tuple[float, float],
) -> Tally:
    """Count the output records of each raw message; ``flowing`` is the publishing interval (epoch s)."""
    decisions: dict[int, list[str]] = defaultdict(list)
    for message in messages:
        record = orjson.loads(message.value)
        source = record["enrichment"]["source"] if message.topic == settings.topic_enriched else record["source"]
        if source.get("topic") != settings.topic_raw:
            raise AssertionError(f"output record does not carry raw coordinates: {source}")
        index = coordinates[(int(source["partition"]), int(source["offset"]))]
        decisions[index].append(decision_of(message.topic, record, settings))
    copies = Counter(len(decisions.get(i, [])) for i in range(len(corpus.payloads)))
    wrong = {i: made for i, made in decisions.items() if set(made) != {corpus.expected[i]}}
    lost = [i for i in range(len(corpus.payloads)) if i not in decisions]
    where = {index: coordinate for coordinate, index in coordinates.items()}
    for i in lost[:10]:
        print(f"[faults] lost: story {i} at partition/offset {where.get(i)}", file=sys.stderr)
    for i, made in list(wrong.items())[:10]:
        print(f"[faults] story {i} at {where.get(i)}: expected {corpus.expected[i]}, got {made}", file=sys.stderr)
    times = sorted(m.timestamp / 1000 for m in messages)
    start, end = flowing
    inside = [start, *[t for t in times if start <= t <= end], end]
    stall = max((b - a for a, b in itertools.pairwise(inside)), default=0.0)
    return Tally(
        raw=len(corpus.payloads),
        lost=copies.get(0, 0),
        doubled=sum(n for k, n in copies.items() if k > 1),
        most_copies=max(copies),
        wrong_decisions=len(wrong),
        stall_seconds=stall,
        outputs=len(messages),
    )


@dataclass(slots=True)
class Outcome:
    """One scenario's result and the fleet's fault counts."""

    fault: str
    tally: Tally
    kills: int
    joins: int
    leaves: int
    exit_codes: list[int]
    seconds: float


def run_scenario(
    broker: LocalKafka,
    fault: str,
    seconds: float,
    interval: float,
    rate: float,
    workers: int = 2,
    seed: int = 1,
    workdir: Path | None = None,
    base: Settings | None = None,
    command: list[str] | None = None,
    faults: int = 0,
    limit: float = 900.0,
) -> Outcome:
    """Start ``workers`` workers and publish ``rate`` stories a second while applying ``fault`` for
    ``seconds`` and at least ``faults`` times (at most ``limit`` seconds), then count."""
    run = uuid.uuid4().hex[:8]
    workdir = workdir or REPO / ".local" / "faults" / run
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    settings = (
        (base or Settings())
        .with_overrides(
            broker=f"kafka://{broker.bootstrap}",
            entities_enabled=False,
            store="rocksdb://",
            language_short_text_model="off",
        )
        .isolated(run, prefix="f")
    )
    asyncio.run(ensure_topics(settings))
    corpus = make_corpus(int(max(seconds, limit) * rate) + 1, run)
    fleet = Fleet(settings, workdir) if command is None else Fleet(settings, workdir, command)
    for slot in range(workers):
        fleet.start(slot)
    wait_ready(fleet)
    began = time.monotonic()
    coordinates: dict[tuple[int, int], int] = {}

    stop = threading.Event()

    def publisher() -> None:
        sent = publish(settings.bootstrap_servers, settings.topic_raw, corpus.payloads, rate, stop)
        coordinates.update(asyncio.run(sent))

    flowing_from = time.time()
    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    apply_fault(fault, fleet, seconds, faults, interval, random.Random(seed), limit)
    stop.set()
    thread.join()
    flowing_to = time.time()
    corpus = Corpus(corpus.payloads[: len(coordinates)], corpus.expected[: len(coordinates)])
    if not fleet.alive():
        fleet.join()
    wait_ready(fleet)
    settled = asyncio.run(wait_settled(settings, timeout=300.0))
    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    messages = asyncio.run(
        read_messages(settings.bootstrap_servers, outputs, timeout=60.0, idle=3.0, isolation_level="read_committed")
    )
    if not settled:
        print(f"[faults] the group did not commit to the end of its input topics; logs in {workdir}", file=sys.stderr)
    exit_codes = fleet.stop()
    result = tally(settings, corpus, coordinates, messages, (flowing_from, flowing_to))
    if os.environ.get("WIRESTREAM_FAULTS_KEEP") is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"[faults] {fault}: worker logs kept in {workdir}", file=sys.stderr)
    return Outcome(fault, result, fleet.kills, fleet.joins, fleet.leaves, exit_codes, time.monotonic() - began)


def wait_ready(fleet: Fleet, timeout: float = 300.0) -> None:
    """Wait until a worker's ``/readyz`` says ready (every partition then has an owner)."""
    deadline = time.monotonic() + timeout
    while not fleet.ready():
        if not fleet.alive():
            raise RuntimeError(f"every worker exited; logs in {fleet.workdir}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no worker ready after {timeout}s; logs in {fleet.workdir}")
        time.sleep(0.5)


COLUMNS = (
    "fault | guarantee | raw messages | lost | doubled | most copies | decisions equal"
    " | kills / joins / leaves | longest stall (s)"
)


def table(outcomes: list[Outcome], guarantee: str) -> Iterator[str]:
    """The result table in Markdown."""
    return markdown_table(COLUMNS, (_row(outcome, guarantee) for outcome in outcomes))


def _row(outcome: Outcome, guarantee: str) -> tuple[object, ...]:
    t = outcome.tally
    decisions = "yes" if t.decisions_equal else f"no ({t.wrong_decisions})"
    faults = f"{outcome.kills} / {outcome.joins} / {outcome.leaves}"
    stall = f"{t.stall_seconds:.1f}"
    return (outcome.fault, guarantee, t.raw, t.lost, t.doubled, t.most_copies, decisions, faults, stall)


def main() -> None:
    port = int(os.environ.get("WIRESTREAM_FAULTS_KAFKA_PORT", "19150"))
    parser = fault_parser(__doc__.split("\n\n")[0], FAULTS, rate=40.0, port=port, port_help="port of its broker")
    parser.add_argument("--seconds", type=float, default=60.0, help="least time under the fault")
    parser.add_argument("--faults-min", type=int, default=10, help="least kills, joins or leaves per scenario")
    parser.add_argument("--limit", type=float, default=900.0, help="most time under the fault")
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between two faults")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faust-exactly-once", action="store_true", help="Faust's own exactly-once mode")
    parser.add_argument("--session-timeout", type=float, default=Settings().session_timeout_seconds)
    parser.add_argument(
        "--resend-lookback",
        default=f"0,{Settings().resend_lookback_seconds:g}",
        help="comma-separated WIRESTREAM_RESEND_LOOKBACK_SECONDS values, each fault run once with each "
        "(0: no read-back of what was already sent, the baseline)",
    )
    args = parser.parse_args()
    lookbacks = [float(value) for value in args.resend_lookback.split(",")]
    faults = chosen_faults(parser, args.faults, FAULTS)
    base = Settings().with_overrides(session_timeout_seconds=args.session_timeout)
    guarantee, command = "at-least-once", None
    if args.faust_exactly_once:
        guarantee, command = "Faust exactly_once", [str(REPO / "bench" / "launcher.py"), "faust-exactly-once"]
    broker = LocalKafka(port=args.port)
    broker.stop()
    broker.reset()
    broker.start()
    runs: list[tuple[Outcome, str]] = []
    try:
        for fault, lookback in itertools.product(faults, lookbacks):  # alternated: the machine drifts
            label = f"{guarantee}, read-back {lookback:g} s"
            outcome = run_scenario(
                broker,
                fault,
                args.seconds,
                args.interval,
                args.rate,
                args.workers,
                base=base.with_overrides(resend_lookback_seconds=lookback),
                command=command,
                faults=args.faults_min,
                limit=args.limit,
            )
            runs.append((outcome, label))
            print(*table([outcome], label), sep="\n", file=sys.stderr, flush=True)
    finally:
        broker.stop()
        broker.reset()
    print(f"{load()} at the end")
    print(*markdown_table(COLUMNS, (_row(outcome, label) for outcome, label in runs)), sep="\n")


if __name__ == "__main__":
    main()

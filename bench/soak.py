#!/usr/bin/env python3
"""Soak: one real worker, entities on, at half its measured maximum, for an hour (issue #16).

On a Kafka broker of its own (``bench/e2e_kafka.py``'s ``Bench``, ``--port``, default 20400):

1. **maximum**: a fresh worker is sent ``--max-stories`` stories of the corpus as fast as the producer
   goes (the ``on-1`` scenario of ``e2e_kafka.py``); its stories/s is the maximum, measured in this run.
2. **soak**: a second fresh worker gets ``--load`` (default 50 %) of that rate, steadily, for ``--minutes``
   (default 60), the corpus sent again and again. Every ``--report-minutes`` (default 5) a line: worker
   RSS, p50/p99 latency of the window's outputs, consumer lag (the worker's own gauge, all topics),
   dedup table entries and near-duplicate index stories, stories in and out, the machine's load average.
3. **drain and account**: once production stops, every raw message must come out on enriched,
   duplicates or the dead-letter topic: *lost* = raw messages with no output, *doubled* = with more.

The dedup window is set to ``--dedup-window`` seconds (default 300) so that it fills early in the run
and then stays full: entries expire as fast as new ones come. The corpus is sized so that one pass over
it takes longer than the window, so a story sent again is out of the window and comes out new again
(the mix of new stories, copies and bad records stays that of ``bench/corpus.py``).

At the end: the RSS slope after warm-up (``--warmup-minutes``, default twice the window, at least 10;
least squares over 10 s samples) in MiB an hour and in % of the RSS at warm-up's end, against the
target ≤ 2 %/hour; p99 of each window against the first window's, target no window more than 20 % above it; lost = 0.

    python bench/soak.py                          # an hour (plus ~5 min to build, measure, drain)
    python bench/soak.py --minutes 10 --report-minutes 1 --dedup-window 120 --json .local/bench/soak.json
    WIRESTREAM_SHARED=/path/to/shared python bench/soak.py ...    # the corpus's source texts (bench/corpus.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from corpus import build
from e2e_kafka import (
    MAX_BYTES,
    WORK,
    Bench,
    Worker,
    _percentile,
    _proc_cpu,
    _proc_mem,
    _source,
    limit_size,
    start_output_reader,
)
from prometheus_client.parser import text_string_to_metric_families

from streams.client import story_key
from streams.settings import Settings
from streams.topics import ensure_topics

RSS_SAMPLE_SECONDS = 10.0
RSS_TARGET_PCT_PER_HOUR = 2.0
P99_TARGET_DRIFT = 0.20


def say(line: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {line}", flush=True)


class SoakBench(Bench):
    """``Bench`` whose workers run with a short dedup window."""

    def __init__(self, port: int, partitions: int, timeout: float, dedup_window: float) -> None:
        super().__init__(port, partitions, timeout, keep_logs=False)
        self.dedup_window = dedup_window
        self.web_port = port + 50  # stay inside the caller's port range

    def settings(self, run_id: str, entities: bool) -> tuple[Settings, dict[str, str]]:
        _, env = super().settings(run_id, entities)
        env["WIRESTREAM_DEDUP_WINDOW_SECONDS"] = str(self.dedup_window)
        return Settings.from_env(env), env


@dataclass(slots=True)
class Window:
    index: int
    end_minute: float
    rss_mib: float
    p50_ms: float
    p99_ms: float
    lag: int
    dedup_entries: int
    index_stories: int
    stories_in: int
    stories_out: dict[str, int]
    load_average: tuple[float, float, float]
    worker_cpu_ms_per_story: float


@dataclass(slots=True)
class Soak:
    """What the soak phase saw: raw messages sent, outputs per raw coordinate, RSS samples."""

    sent: dict[tuple[int, int], int] = field(default_factory=dict)  # (partition, offset) -> raw timestamp ms
    outputs: list[tuple[str, int, int, int]] = field(default_factory=list)  # topic, out ts ms, raw partition, offset
    rss: list[tuple[float, float]] = field(default_factory=list)  # seconds since the soak began, MiB
    windows: list[Window] = field(default_factory=list)
    sent_by_window: Counter[int] = field(default_factory=Counter)


def worker_gauges(port: int) -> dict[str, float]:
    """Sum of each gauge we report from the worker's /metrics (NaN when it does not answer)."""
    wanted = {
        "wirestream_consumer_lag_messages": "lag",
        "wirestream_dedup_table_entries": "dedup_entries",
        "wirestream_dedup_index_stories": "index_stories",
    }
    sums = dict.fromkeys(wanted.values(), math.nan)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return sums
    for family in text_string_to_metric_families(text):
        if family.name in wanted:
            sums[wanted[family.name]] = sum(sample.value for sample in family.samples)
    return sums


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) samples, in value units an hour."""
    if len(samples) < 2:
        return math.nan
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return math.nan
    return 3600 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / var


async def run_soak(
    bench: SoakBench,
    settings: Settings,
    worker: Worker,
    payloads: list[bytes],
    rate: float,
    minutes: float,
    report_minutes: float,
) -> Soak:
    """Produce at ``rate`` for ``minutes``, report every ``report_minutes``, then drain."""
    soak = Soak()
    consumer = await start_output_reader(settings, bench.partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.bootstrap, acks="all", linger_ms=5, max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    began = time.monotonic()
    began_wall_ms = int(time.time() * 1000)
    window_seconds = 60 * report_minutes
    producing = True
    pending: set[asyncio.Future[Any]] = set()

    def acked(future: asyncio.Future[Any]) -> None:
        pending.discard(future)
        if not future.cancelled() and future.exception() is None:
            md = future.result()
            soak.sent[(md.partition, md.offset)] = md.timestamp

    async def produce() -> None:
        nonlocal producing
        i = 0
        while (elapsed := time.monotonic() - began) < 60 * minutes:
            delay = i / rate - elapsed
            if delay > 0:
                await asyncio.sleep(delay)
            payload = payloads[i % len(payloads)]
            future = await producer.send(settings.topic_raw, payload, key=story_key(payload))
            pending.add(future)
            future.add_done_callback(acked)
            soak.sent_by_window[int((time.monotonic() - began) // window_seconds)] += 1
            i += 1
        producing = False
        await producer.flush()

    async def collect() -> None:
        idle_since = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, messages in batches.items():
                for m in messages:
                    partition, offset = _source(m.value)
                    soak.outputs.append((tp.topic.rsplit(".", 1)[-1], m.timestamp, partition, offset))
                    idle_since = time.monotonic()
            if not producing and not pending:
                if len({(p, o) for _, _, p, o in soak.outputs}) >= len(soak.sent):
                    return
                if time.monotonic() - idle_since > bench.timeout:
                    say(f"drain: nothing new for {bench.timeout:.0f} s, stop waiting")
                    return

    async def sample() -> None:
        cpu_before, done_outputs = _proc_cpu(worker.proc.pid), 0
        next_report = window_seconds
        while producing:
            await asyncio.sleep(RSS_SAMPLE_SECONDS)
            now = time.monotonic() - began
            rss, _ = _proc_mem(worker.proc.pid)
            soak.rss.append((now, rss))
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {worker.proc.returncode}; log: {worker.log}")
            if now < next_report:
                continue
            index = len(soak.windows)
            end_ms = began_wall_ms + int(1000 * next_report)
            in_window = [o for o in soak.outputs[done_outputs:] if o[1] < end_ms]
            done_outputs += len(in_window)
            latencies = [ts - soak.sent[(p, o)] for _, ts, p, o in in_window if (p, o) in soak.sent]
            gauges = worker_gauges(worker.web_port)
            cpu = _proc_cpu(worker.proc.pid)
            sent = soak.sent_by_window[index]
            window = Window(
                index=index,
                end_minute=round(next_report / 60, 1),
                rss_mib=round(rss, 1),
                p50_ms=round(_percentile(latencies, 0.5), 1),
                p99_ms=round(_percentile(latencies, 0.99), 1),
                lag=int(gauges["lag"]) if not math.isnan(gauges["lag"]) else -1,
                dedup_entries=int(gauges["dedup_entries"]) if not math.isnan(gauges["dedup_entries"]) else -1,
                index_stories=int(gauges["index_stories"]) if not math.isnan(gauges["index_stories"]) else -1,
                stories_in=sent,
                stories_out=dict(Counter(topic for topic, *_ in in_window)),
                load_average=tuple(round(x, 2) for x in os.getloadavg()),  # type: ignore[arg-type]
                worker_cpu_ms_per_story=round(1000 * (cpu - cpu_before) / max(1, sent), 1),
            )
            cpu_before = cpu
            soak.windows.append(window)
            say(window_line(window))
            next_report += window_seconds

    try:
        await asyncio.gather(produce(), collect(), sample())
    finally:
        await producer.stop()
        await consumer.stop()
    return soak


def window_line(w: Window) -> str:
    out = "/".join(str(w.stories_out.get(t, 0)) for t in ("enriched", "duplicates", "deadletter"))
    load = " ".join(f"{x:.1f}" for x in w.load_average)
    return (
        f"min {w.end_minute:5.1f}: RSS {w.rss_mib:7.1f} MiB | p50/p99 {w.p50_ms:6.0f}/{w.p99_ms:6.0f} ms | "
        f"lag {w.lag:5d} | dedup entries {w.dedup_entries:6d}, index {w.index_stories:5d} | "
        f"in {w.stories_in:5d}, out enr/dup/dead {out} | worker CPU {w.worker_cpu_ms_per_story} ms/story | load {load}"
    )


def summarise(soak: Soak, warmup_minutes: float) -> dict[str, Any]:
    """Lost, doubled, RSS slope after warm-up and p99 drift against the first window."""
    per_raw = Counter((p, o) for _, _, p, o in soak.outputs)
    lost = sum(1 for coords in soak.sent if per_raw[coords] == 0)
    doubled = sum(1 for coords in soak.sent if per_raw[coords] > 1)
    stray = sum(n for coords, n in per_raw.items() if coords not in soak.sent)
    after = [(t, v) for t, v in soak.rss if t >= 60 * warmup_minutes]
    slope = slope_per_hour(after)
    base = after[0][1] if after else math.nan
    first_p99 = soak.windows[0].p99_ms if soak.windows else math.nan
    drifts = [w.p99_ms / first_p99 - 1 for w in soak.windows[1:]] if first_p99 else []
    latencies = [ts - soak.sent[(p, o)] for _, ts, p, o in soak.outputs if (p, o) in soak.sent]
    return {
        "raw_messages": len(soak.sent),
        "outputs": dict(Counter(topic for topic, *_ in soak.outputs)),
        "lost": lost,
        "doubled": doubled,
        "outputs_for_unknown_raw": stray,
        "rss_after_warmup_mib": round(base, 1),
        "rss_end_mib": round(soak.rss[-1][1], 1) if soak.rss else math.nan,
        "rss_slope_mib_per_hour": round(slope, 1),
        "rss_slope_pct_per_hour": round(100 * slope / base, 2) if after else math.nan,
        "rss_samples_after_warmup": len(after),
        "p99_first_window_ms": first_p99,
        "p99_last_window_ms": soak.windows[-1].p99_ms if soak.windows else math.nan,
        "p99_drift_up": round(max(drifts, default=math.nan), 3),
        "p99_drift_down": round(min(drifts, default=math.nan), 3),
        "latency_all_ms": {
            "p50": round(_percentile(latencies, 0.5), 1),
            "p99": round(_percentile(latencies, 0.99), 1),
            "max": max(latencies, default=math.nan),
        },
    }


def verdict(summary: dict[str, Any]) -> list[str]:
    pct, up, down = summary["rss_slope_pct_per_hour"], summary["p99_drift_up"], summary["p99_drift_down"]
    return [
        f"lost {summary['lost']} of {summary['raw_messages']} raw messages (target 0): "
        + ("met" if summary["lost"] == 0 else "MISSED"),
        f"doubled {summary['doubled']}, outputs for raw messages never sent {summary['outputs_for_unknown_raw']}",
        f"RSS after warm-up {summary['rss_after_warmup_mib']} MiB → end {summary['rss_end_mib']} MiB; slope "
        f"{summary['rss_slope_mib_per_hour']} MiB/h = {pct} %/h (target ≤ {RSS_TARGET_PCT_PER_HOUR}): "
        + ("met" if pct <= RSS_TARGET_PCT_PER_HOUR else "MISSED"),
        f"p99 first window {summary['p99_first_window_ms']} ms, last {summary['p99_last_window_ms']} ms; the other "
        f"windows from {100 * down:+.1f} % to {100 * up:+.1f} % of the first (target: none more than "
        f"{100 * P99_TARGET_DRIFT:.0f} % above it): " + ("met" if up <= P99_TARGET_DRIFT else "MISSED"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the soak (after the maximum)")
    parser.add_argument("--report-minutes", type=float, default=5.0)
    parser.add_argument("--load", type=float, default=0.5, help="offered load, share of the measured maximum")
    parser.add_argument("--dedup-window", type=float, default=300.0, help="WIRESTREAM_DEDUP_WINDOW_SECONDS")
    parser.add_argument("--warmup-minutes", type=float, default=None, help="default: 2 × window, at least 10")
    parser.add_argument("--max-stories", type=int, default=400, help="stories sent to measure the maximum")
    parser.add_argument("--corpus-records", type=int, default=0, help="default: one pass ≥ 1.25 × window")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=int(os.environ.get("WIRESTREAM_BENCH_KAFKA_PORT", "20400")))
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0, help="drain: give up after this many idle seconds")
    parser.add_argument("--json", type=Path, default=None, help="default: .local/bench/soak-<stamp>.json")
    args = parser.parse_args()
    warmup = args.warmup_minutes if args.warmup_minutes is not None else max(10.0, 2 * args.dedup_window / 60)
    out = args.json or WORK / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    say(f"load average at start {os.getloadavg()}, {os.cpu_count()} CPUs; results -> {out}")

    say(f"building {args.max_stories} corpus records to measure the maximum")
    records, _ = build(args.max_stories, args.seed)
    probe, _ = limit_size([r.payload for r in records], MAX_BYTES)
    bench = SoakBench(args.port, args.partitions, args.timeout, args.dedup_window)
    report: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "warmup_minutes": warmup}
    bench.start_broker()
    try:
        maximum = bench.scenario("on-1", probe)
        if not maximum.accounted or not maximum.stories_per_s:
            raise RuntimeError(f"the maximum run did not account for every story: {maximum.note}")
        rate = args.load * maximum.stories_per_s
        report["maximum"] = maximum.as_dict()
        size = args.corpus_records or math.ceil(1.25 * rate * args.dedup_window)
        size = max(size, args.max_stories)
        say(
            f"maximum {maximum.stories_per_s} stories/s (1 worker, entities on, {len(probe)} stories); soak at "
            f"{rate:.1f}/s for {args.minutes:g} min, dedup window {args.dedup_window:g} s (full after "
            f"{args.dedup_window / 60:g} min), warm-up {warmup:g} min; building a {size}-record corpus "
            f"(one pass {size / rate / 60:.1f} min)"
        )
        if size / rate < args.dedup_window:
            say("warning: one pass over the corpus is shorter than the dedup window: re-sent stories are duplicates")
        records, _ = build(size, args.seed)
        payloads, _ = limit_size([r.payload for r in records], MAX_BYTES)
        del records
        report["corpus_records"] = len(payloads)
        report["offered_per_s"] = round(rate, 2)
        run_id = f"soak-{uuid.uuid4().hex[:6]}"
        settings, env = bench.settings(run_id, entities=True)
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(ensure_topics(settings))
            (worker,) = bench.start_workers("pipeline", 1, run_id, env)
            try:
                ready = bench.wait_ready([worker])
                rss, _ = _proc_mem(worker.proc.pid)
                say(f"soak worker ready in {ready:.0f} s (pid {worker.proc.pid}, RSS {rss:.0f} MiB)")
                soak = loop.run_until_complete(
                    run_soak(bench, settings, worker, payloads, rate, args.minutes, args.report_minutes)
                )
            finally:
                bench.stop_workers([worker])
                shutil.rmtree(bench.run_dir / f"{run_id}-w0-data", ignore_errors=True)
        finally:
            loop.close()
        summary = summarise(soak, warmup)
        report["windows"] = [asdict(w) for w in soak.windows]
        report["summary"] = summary
        report["rss_samples"] = soak.rss
    finally:
        bench.stop_broker()
        shutil.rmtree(bench.run_dir, ignore_errors=True)
    report["load_average_end"] = os.getloadavg()
    for line in verdict(summary):
        say(line)
    say(f"load average at end {report['load_average_end']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return 0 if summary["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

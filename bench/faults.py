#!/usr/bin/env python3
"""Broker faults, long forms, with stories flowing at a steady rate; prints where every raw message ended.

Starts a local three-node KRaft cluster (``LocalKafkaCluster``, nodes on ``--port`` + 0, 4, 8) and a
single broker (``--single-port``), one worker on each (entity stage off), and runs, ``--runs`` times:

* ``none``     the baseline: the same flow and waits with no fault;
* ``rolling``  a rolling restart of the three brokers, one at a time (SIGTERM, start, wait in sync);
* ``leader``   the broker leading most raw partitions killed with SIGKILL, started ``--killed`` s later;
* ``cluster``  every broker killed at once, all started ``--outage`` s later;
* ``single``   the single broker stopped, started ``--outage`` s later.

Per fault: stories published, lost (a raw message with no output), doubled (outputs beyond one per
raw message: at-least-once), ``/readyz`` statuses seen during the fault, the recovery time: from
the end of the fault until every story published by the time the publisher caught up (the backlog it
held back during the fault) was in the outputs, and the bytes the worker logged during the fault. The helpers are the
integration tests' (``tests/integration/faults.py``); the short forms run in ``test_cluster.py``.

    python bench/faults.py [--runs 1] [--faults none,rolling,leader,cluster,single] [--rate 20]
"""

from __future__ import annotations

import functools
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _repo import REPO

from bench.fault_bench import chosen_faults, fault_parser, load, markdown_table
from streams.kafka_local import LocalKafka, LocalKafkaCluster
from tests.integration.conftest import WorkerProcess
from tests.integration.faults import (
    FaultRun,
    broker_down,
    fault_worker,
    kill_cluster,
    kill_leader,
    rolling_restart,
    run_fault,
    wait_fully_replicated,
)
from tests.integration.test_lifecycle import story

FAULTS = ("none", "rolling", "leader", "cluster", "single")
COLUMNS = "fault | runs | stories | lost | doubled | recovery time | /readyz during | worker log during (bytes, max)"


def _row(fault: str, runs: list[FaultRun]) -> tuple[object, ...]:
    stories = sum(r.accounting.stories for r in runs)
    lost = sum(len(r.accounting.lost) for r in runs)
    doubled = sum(r.accounting.doubled for r in runs)
    drains = [r.drain_seconds for r in runs]
    if any(d is None for d in drains):
        recovery = "not drained"
    else:
        values = [d for d in drains if d is not None]
        recovery = f"{statistics.median(values):.1f} s" + (f" (max {max(values):.1f})" if len(values) > 1 else "")
    ready = ",".join(str(s) for s in sorted(set().union(*(r.readiness_during for r in runs))))
    log_bytes = max(r.log_bytes_during for r in runs)
    return (fault, len(runs), stories, lost, doubled, recovery, ready, f"{log_bytes:,}")


def main() -> int:
    parser = fault_parser(
        __doc__, FAULTS, rate=10.0, port=19420, port_help="base port of the three-node cluster (12 ports)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--killed", type=float, default=60.0, help="seconds the killed leader stays down")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the whole cluster / the broker is down")
    parser.add_argument("--single-port", type=int, default=19440, help="port of the single broker (and +1)")
    parser.add_argument(
        "--worker-source",
        type=Path,
        default=REPO,
        help="run the worker from this checkout (e.g. `git worktree add /tmp/base <commit>`) for a before/after",
    )
    args = parser.parse_args()
    faults = chosen_faults(parser, args.faults, FAULTS)

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the publisher's retries are the point here
    logs = Path(tempfile.mkdtemp(prefix="wirestream-faults-"))
    cluster = LocalKafkaCluster(brokers=3, base_port=args.port, heap="384m")
    single = LocalKafka(port=args.single_port, heap="384m")
    results: dict[str, list[FaultRun]] = {fault: [] for fault in faults}
    started = time.monotonic()
    print(f"{load()} before; logs in {logs}", flush=True)
    try:
        for run in range(args.runs):
            cluster_faults: dict[str, Callable[[WorkerProcess], object]] = {
                "none": lambda _: time.sleep(args.outage),
                "rolling": lambda _: rolling_restart(cluster),
                "leader": lambda worker: kill_leader(cluster, worker.settings.topic_raw, args.killed),
                "cluster": lambda _: kill_cluster(cluster, args.outage),
            }
            if set(faults) & set(cluster_faults):
                cluster.reset()
                cluster.start()
                with fault_worker(cluster.bootstrap, logs / f"cluster-{run}.log", args.worker_source) as worker:
                    for index, fault in enumerate(f for f in faults if f in cluster_faults):
                        print(f"run {run + 1}: {fault} ...", flush=True)
                        first = (run * len(FAULTS) + index) * 1_000_000
                        inject = functools.partial(cluster_faults[fault], worker)
                        results[fault].append(run_fault(worker, story, first, args.rate, inject))
                        wait_fully_replicated(cluster)
                cluster.stop()
            if "single" in faults:
                single.reset()
                single.start()
                with fault_worker(single.bootstrap, logs / f"single-{run}.log", args.worker_source) as worker:
                    print(f"run {run + 1}: single ...", flush=True)
                    first = (run * len(FAULTS) + len(FAULTS)) * 1_000_000
                    outage = functools.partial(broker_down, single, args.outage)
                    results["single"].append(run_fault(worker, story, first, args.rate, outage))
                single.stop()
    finally:
        cluster.stop()
        cluster.reset()
        single.stop()
        single.reset()

    print(
        f"\n{args.rate:g} stories/s; leader down {args.killed:g} s, cluster/broker down {args.outage:g} s; "
        f"{time.monotonic() - started:.0f} s in all; {load()} after\n"
    )
    print(f"worker code: {args.worker_source}")
    print(*markdown_table(COLUMNS, (_row(fault, results[fault]) for fault in faults)), sep="\n")
    return 1 if any(r.accounting.lost for runs in results.values() for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())

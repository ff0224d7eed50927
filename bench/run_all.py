#!/usr/bin/env python3
"""Run every benchmark and write one results file: ``make bench``.

1. the corpus (``bench/corpus.py``: real article texts from ``../shared/eval``, generated at run time
   into a temporary directory, deleted at the end);
2. offline, per stage, ours beside the bare libraries (``bench/stages.py``), and the same for the stage
   code of a base revision (``--base``, a git worktree under ``.local/bench/``) interleaved with this
   tree's chunk by chunk, so the overhead before and after a change comes out of one run;
3. end to end on a local Kafka broker of its own (``bench/e2e_kafka.py``): pass-through baseline,
   stubbed pipeline, entities off and on, 1 and 2 workers, latency at 50 % of the maximum;
4. the dedup stage alone at 1M stories (``bench/bench_dedup.py``, when it is there).

Prints a table per part and a summary against the targets of issue #8, and writes
``.local/bench/results-<date>.json`` (and ``.md``, the README table). These are measurements, not
tests: nothing here fails on a missed target. The machine is shared: numbers carry its load average.

    python bench/run_all.py            # the whole run (≈ 16 min)
    python bench/run_all.py --quick    # a smaller corpus and fewer scenarios (≈ 4 min)
    python bench/run_all.py --skip e2e,dedup --base HEAD~3   # stage overheads, before and after
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
OUT = REPO / ".local" / "bench"
sys.path.insert(0, str(BENCH))

# The revision the stage overheads are compared with ("before"): main just before the hot-path cuts of
# issue #19 (part 6). ``--base REV`` picks another, ``--base ''`` runs this tree's stages alone.
DEFAULT_BASE = "649b10e"
CHUNK = 20  # items timed per request to a stage server, alternating between the two revisions
TARGETS = {
    "e2e_entities_on_stories_per_s": 150.0,
    "e2e_entities_off_stories_per_s": 1000.0,
    "overhead_ratio_max": 1.25,
    "p99_ms_at_half_load": 500.0,
    "stubbed_over_passthrough_min": 0.80,
    "stubbed_over_chain_min": 0.90,  # issue #19: our code's share of the plumbing
}


def say(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "git_commit": commit.stdout.strip(),
        "working_tree_dirty": bool(dirty.stdout.strip()),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _run(cmd: list[str], label: str, timeout: float) -> tuple[int, str]:
    """Run a part; its progress (stderr) goes to the terminal, its stdout is kept and echoed."""
    say(f"{label}: {' '.join(Path(c).name if c.endswith('.py') else c for c in cmd[1:])}")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as error:
        out = error.stdout if isinstance(error.stdout, str) else ""
        say(f"{label}: timed out after {timeout:.0f} s")
        return 124, out
    print(proc.stdout, flush=True)
    return proc.returncode, proc.stdout


def base_checkout(revision: str) -> Path:
    """A git worktree of ``revision`` under ``.local/bench/`` (made once, reused by later runs)."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"], cwd=REPO, capture_output=True, text=True
    )
    if found.returncode != 0:
        raise SystemExit(f"run_all: --base {revision!r} is not a commit of this repository")
    sha = found.stdout.strip()
    path = OUT / f"base-{sha[:12]}"
    if not (path / "agents").is_dir():
        say(f"base: git worktree of {sha[:12]} in {path}")
        subprocess.run(
            ["git", "worktree", "add", "--quiet", "--detach", "--force", str(path), sha], cwd=REPO, check=True
        )
    return path


class StageServer:
    """``bench/stages.py --serve`` on the stage code of one checkout (see its ``serve``)."""

    def __init__(self, python: str, root: Path, corpus: Path, records: int, entities: int) -> None:
        cmd = [python, str(BENCH / "stages.py"), "--serve", "--code-root", str(root), "--corpus", str(corpus)]
        cmd += ["--n", str(records), "--entities", str(entities)]
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self.root = root
        self.process = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the stage server of {self.root} ended (exit {self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def interleaved_stages(
    python: str, corpus: Path, records: int, entities: int, base: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """This tree's stages and the ``base`` checkout's, each in a process of its own, timed in turns of
    ``CHUNK`` items (who goes first alternates), so both see the same load. The entity stage runs in
    this tree only (its overhead is not what the base comparison is about, and it needs the models)."""
    current = StageServer(python, REPO, corpus, records, entities)
    before = StageServer(python, base, corpus, records, 0)
    try:
        cases = current.read()["cases"]
        base_cases = dict(before.read()["cases"])
        for stage, items in cases:
            servers = [current, before] if stage in base_cases else [current]
            say(f"stages: {stage}, {items} items{' (both revisions)' if len(servers) > 1 else ''}")
            for turn, start in enumerate(range(0, max(items, base_cases.get(stage, 0)), CHUNK)):
                for server in servers if turn % 2 == 0 else servers[::-1]:
                    server.ask({"run": stage, "start": start, "stop": start + CHUNK})
        return current.ask({"result": True}), before.ask({"result": True})
    finally:
        current.stop()
        before.stop()


def before_after(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per stage (and whole record, entities off): the floor, our CPU ms and overhead before and after."""
    after = {r["stage"]: r for r in results.get("stages", {}).get("rows", [])}
    before = {r["stage"]: r for r in results.get("stages_base", {}).get("rows", [])}
    rows = []
    for stage, now in after.items():
        then = before.get(stage)
        if then is None:
            continue
        rows.append(
            {
                "stage": stage,
                "floor": now["floor"],
                "floor_ms": (then["floor_cpu_ms_per_story"], now["floor_cpu_ms_per_story"]),
                "ours_ms": (then["ours_cpu_ms_per_story"], now["ours_cpu_ms_per_story"]),
                "ratio": (then["overhead_ratio"], now["overhead_ratio"]),
            }
        )
    now_record = results.get("stages", {}).get("per_story", {}).get("entities_off")
    then_record = results.get("stages_base", {}).get("per_story", {}).get("entities_off")
    if now_record and then_record:
        rows.append(
            {
                "stage": "whole record, entities off",
                "floor": "the libraries of every stage",
                "floor_ms": (then_record["floor_cpu_ms"], now_record["floor_cpu_ms"]),
                "ours_ms": (then_record["ours_cpu_ms"], now_record["ours_cpu_ms"]),
                "ratio": (then_record["ratio"], now_record["ratio"]),
            }
        )
    return rows


def summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Measured against the targets of issue #8."""
    rows: list[dict[str, Any]] = []
    e2e = results.get("e2e", {}).get("results", {})

    def best(kind: str) -> tuple[str, float] | None:
        found = [(k, v["stories_per_s"]) for k, v in e2e.items() if k.split("-")[0] == kind and v.get("accounted")]
        return max(found, key=lambda kv: kv[1]) if found else None

    for kind, key in (("on", "e2e_entities_on_stories_per_s"), ("off", "e2e_entities_off_stories_per_s")):
        got = best(kind)
        rows.append(
            {
                "target": f"end to end, entities {kind}, stories/s",
                "want": f">= {TARGETS[key]:.0f}",
                "measured": None if got is None else got[1],
                "where": None if got is None else got[0],
                "met": None if got is None else got[1] >= TARGETS[key],
            }
        )
    for name in ("lat-on-2", "lat-off-2", "lat-on-1", "lat-off-1"):
        if name in e2e and e2e[name].get("latency_ms"):
            p99 = e2e[name]["latency_ms"]["p99"]
            rows.append(
                {
                    "target": f"p99 latency at {results['e2e'].get('load_share', 0.5):.0%} of max ({name})",
                    "want": f"<= {TARGETS['p99_ms_at_half_load']:.0f} ms",
                    "measured": p99,
                    "where": f"offered {e2e[name]['offered_per_s']:.0f}/s",
                    "met": p99 <= TARGETS["p99_ms_at_half_load"],
                }
            )
    for key, value in results.get("e2e", {}).get("ratios", {}).items():
        if key.startswith("stubbed/chain"):
            shape = "3-hop chain, the shape issue #19 named" if key.startswith("stubbed/chain3") else "4-hop chain"
            rows.append(
                {
                    "target": f"stubbed pipeline / pass-through {shape} ({key.split()[-1]})",
                    "want": f">= {TARGETS['stubbed_over_chain_min']:.2f}",
                    "measured": value,
                    "where": "",
                    "met": value >= TARGETS["stubbed_over_chain_min"],
                }
            )
        if key.startswith("stubbed/passthrough"):
            rows.append(
                {
                    "target": f"stubbed pipeline / pass-through ({key.split()[-1]})",
                    "want": f">= {TARGETS['stubbed_over_passthrough_min']:.2f}",
                    "measured": value,
                    "where": "",
                    "met": value >= TARGETS["stubbed_over_passthrough_min"],
                }
            )
    for row in results.get("stages", {}).get("rows", []):
        if row.get("overhead_ratio") is not None:
            rows.append(
                {
                    "target": f"overhead, {row['stage']}",
                    "want": f"<= {TARGETS['overhead_ratio_max']}",
                    "measured": row["overhead_ratio"],
                    "where": f"{row['ours_cpu_ms_per_story']:.3f} vs {row['floor_cpu_ms_per_story']:.3f} CPU ms "
                    f"({row['floor']})",
                    "met": row["overhead_ratio"] <= TARGETS["overhead_ratio_max"],
                }
            )
    for key, value in results.get("stages", {}).get("per_story", {}).items():
        if isinstance(value, dict) and value.get("ratio") is not None:
            rows.append(
                {
                    "target": f"overhead, whole record, {key.replace('_', ' ')}",
                    "want": f"<= {TARGETS['overhead_ratio_max']}",
                    "measured": value["ratio"],
                    "where": f"{value['ours_cpu_ms']:.2f} vs {value['floor_cpu_ms']:.2f} CPU ms",
                    "met": value["ratio"] <= TARGETS["overhead_ratio_max"],
                }
            )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.0f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    """The README table: end to end, then targets."""
    m = results["machine"]
    lines = [
        f"Measured {m['date']} on {m['nproc']} × {m['cpu_model']} (shared with other agents: load average "
        f"{m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end), commit {m['git_commit']}"
        f"{' + uncommitted changes' if m['working_tree_dirty'] else ''}; corpus {results['corpus'].get('records')} "
        f"records (seed {results['corpus'].get('seed')}). Command: `{results['command']}`.",
        "",
        "| end to end (Kafka) | workers | stories/s | p50 / p95 / p99 ms | worker CPU ms/story | cores used "
        "| RSS MB (ready → end) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.get("e2e", {}).get("results", {}).items():
        lat = r.get("latency_ms") or {}
        lat_text = f"{_fmt(lat.get('p50'))} / {_fmt(lat.get('p95'))} / {_fmt(lat.get('p99'))}" if lat else "-"
        rate = f"{r['stories_per_s']:.0f}" + (f" (offered {r['offered_per_s']:.0f})" if r.get("offered_per_s") else "")
        if not r.get("accounted"):
            rate += " (not all accounted)"
        rss = ", ".join(f"{a:.0f} → {b:.0f}" for a, b in zip(r["rss_ready_mb"], r["rss_end_mb"], strict=False))
        cores = r["cpu_ms_per_story"] * r["stories_per_s"] / 1000
        lines.append(
            f"| {name} | {r['workers']} | {rate} | {lat_text} | {r['cpu_ms_per_story']:.1f} | {cores:.2f} | {rss} |"
        )
    compared = before_after(results)
    if compared:
        revision = results.get("stages_base", {}).get("revision", "?")
        lines += [
            "",
            f"| stage (before = {revision}, after = {m['git_commit']}) | floor | floor CPU ms before / after "
            "| ours CPU ms before / after | overhead before | overhead after |",
            "|---|---|---|---|---|---|",
        ]
        for row in compared:
            floor_ms, ours_ms, ratio = row["floor_ms"], row["ours_ms"], row["ratio"]
            floors = "-" if None in floor_ms else f"{floor_ms[0]:.3f} / {floor_ms[1]:.3f}"
            lines.append(
                f"| {row['stage']} | {row['floor']} | {floors} "
                f"| {ours_ms[0]:.3f} / {ours_ms[1]:.3f} | {_fmt(ratio[0])} | {_fmt(ratio[1])} |"
            )
    lines += ["", "| target (issue #8) | want | measured | met |", "|---|---|---|---|"]
    for row in results.get("summary", []):
        met = "n/a" if row["met"] is None else ("yes" if row["met"] else "**no**")
        where = f" ({row['where']})" if row.get("where") else ""
        lines.append(f"| {row['target']} | {row['want']} | {_fmt(row['measured'])}{where} | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small corpus, fewer scenarios (≈ 4 min)")
    parser.add_argument("--n", type=int, default=None, help="corpus records for the Kafka runs (default 1500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stage-records", type=int, default=None, help="records through the offline stages")
    parser.add_argument("--scenarios", default=None, help="Kafka scenarios (see bench/e2e_kafka.py)")
    parser.add_argument("--profile", default=None, help="Kafka scenarios to profile with py-spy")
    parser.add_argument("--port", type=int, default=int(os.environ.get("WIRESTREAM_BENCH_KAFKA_PORT", "19392")))
    parser.add_argument("--web-port", type=int, default=None, help="the Kafka workers' web ports start after it")
    parser.add_argument("--skip", default="", help="parts to skip: stages,e2e,dedup")
    parser.add_argument("--dedup-stories", type=int, default=None, help="stories in bench_dedup's index")
    parser.add_argument("--from-json", type=Path, default=None, help="only print the tables of a results file")
    parser.add_argument(
        "--base",
        default=DEFAULT_BASE,
        help=f"revision whose stages are timed beside this tree's (default {DEFAULT_BASE}; '' for none)",
    )
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        saved["summary"] = summary(saved)
        print(markdown(saved))
        return 0

    from corpus import build, write_jsonl
    from e2e_kafka import DEFAULT_SCENARIOS, QUICK_SCENARIOS

    n = args.n or (400 if args.quick else 1500)
    stage_records = args.stage_records or (200 if args.quick else 600)
    entity_stories = 60 if args.quick else 250
    scenarios = args.scenarios or (QUICK_SCENARIOS if args.quick else DEFAULT_SCENARIOS)
    profile = args.profile if args.profile is not None else ("" if args.quick else "on-1,off-1,stubbed-1")
    dedup_stories = args.dedup_stories or (100_000 if args.quick else 1_000_000)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(["python", "bench/run_all.py", *sys.argv[1:]])}
    m = results["machine"]
    say(f"machine: {m['nproc']} × {m['cpu_model']}, load {m['load_average_at_start']}")
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tmp = Path(tempfile.mkdtemp(prefix="wirestream-bench-"))
    try:
        say(f"corpus: {max(n, stage_records)} records, seed {args.seed}")
        records, info = build(max(n, stage_records), args.seed, text_pages=200 if args.quick else 400)
        corpus = tmp / "corpus.jsonl"
        write_jsonl(records, corpus)
        results["corpus"] = info
        say(f"corpus: {json.dumps(info, ensure_ascii=False)}")

        py = sys.executable
        if "stages" not in skip and args.base:
            base = base_checkout(args.base)
            say(f"stages: this tree and {args.base} ({base.name}) interleaved, {CHUNK} items a turn")
            results["stages"], results["stages_base"] = interleaved_stages(
                py, corpus, stage_records, entity_stories, base
            )
            results["stages_base"]["revision"] = args.base
        elif "stages" not in skip:
            out = tmp / "stages.json"
            code, _ = _run(
                [
                    py,
                    str(BENCH / "stages.py"),
                    "--corpus",
                    str(corpus),
                    "--n",
                    str(stage_records),
                    "--entities",
                    str(entity_stories),
                    "--json",
                    str(out),
                ],
                "stages",
                timeout=1200,
            )
            results["stages"] = json.loads(out.read_text()) if out.exists() else {"error": f"exit {code}"}
        if "e2e" not in skip:
            out = tmp / "e2e.json"
            cmd = [
                py,
                str(BENCH / "e2e_kafka.py"),
                "--corpus",
                str(corpus),
                "--n",
                str(n),
                "--scenarios",
                scenarios,
                "--port",
                str(args.port),
                "--json",
                str(out),
            ]
            if profile:
                cmd += ["--profile", profile]
            if args.web_port is not None:
                cmd += ["--web-port", str(args.web_port)]
            code, _ = _run(cmd, "e2e", timeout=2400)
            results["e2e"] = json.loads(out.read_text()) if out.exists() else {"error": f"exit {code}"}
        dedup_script = BENCH / "bench_dedup.py"
        if "dedup" in skip:
            pass
        elif dedup_script.exists():
            cmd = [py, str(dedup_script), "--stories", str(dedup_stories)]
            if args.quick:
                cmd += ["--stream", "10000", "--adds", "20000", "--baseline", "10000"]
            code, text = _run(cmd, "dedup at scale", timeout=1200)
            results["dedup_at_scale"] = {
                "command": " ".join(["python", "bench/bench_dedup.py", *cmd[2:]]),
                "exit": code,
                "output": text,
            }
        else:
            say("bench/bench_dedup.py is not there: no 1M-story dedup figure")
            results["dedup_at_scale"] = {"error": "bench/bench_dedup.py not found"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["summary"] = summary(results)
    text = markdown(results)
    (OUT / f"results-{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (OUT / f"results-{stamp}.md").write_text(text + "\n")
    print("\n" + text)
    say(f"done in {results['seconds']:.0f} s: {OUT / f'results-{stamp}.json'} (and .md)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

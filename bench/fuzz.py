#!/usr/bin/env python3
"""Coverage-guided fuzzing of stage 1 with atheris (libFuzzer for Python; issue #16).

Targets (``--targets``, default all):

* ``ninjs``, ``newsml-g2``, ``newsml-1.2``, ``nitf``, ``anpa-1312``, ``iptc-7901``: ``parse_payload`` with
  the format's ``content-type`` header, seeded with the shared samples of that format;
* ``cleaning``: ``clean_story`` (``clean_text`` and its empty-body rule) on a headline, a body and a
  declared body type taken from the input, seeded with the cleaning goldens and web pages;
* ``stage1``: the whole stage-1 function ``prepare`` (parse, clean, language, signature) with the
  header picked by the input's first byte (or none: sniffing), seeded with every format's samples.

The rule: no exception other than ``StageError`` (what becomes a dead letter with its own reason); for
``stage1``, which turns every exception into a dead letter, a dead letter made from any other exception
fails the input. Every input must finish within ``--time-limit`` seconds (libFuzzer's ``-timeout``).
A failing input is written under ``.local/fuzz/<target>/`` (``crash-*``, ``timeout-*``) and the target
stops there; the others go on.

Seeds are read at run time from ``$WIRESTREAM_SHARED/eval`` (default ``<repo>/../shared/eval``: the IPTC
NewsML-G2 and ninjs examples, the ninjs validation suite, the Superdesk ingest fixtures, the trafilatura
evaluation pages; see each folder's SOURCE.md) and ``tests/golden``; each target's working corpus lives in
``.local/fuzz/<target>/`` (ignored by git). Run it niced, it takes a core for as long as it runs:

    nice -n 10 python bench/fuzz.py                                 # 170,000 inputs per target
    nice -n 10 python bench/fuzz.py --runs 20000 --targets ninjs,stage1 --json .local/fuzz/report.json
    python bench/fuzz.py --reproduce stage1 .local/fuzz/stage1/crash-…    # run one input, show the exception
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _repo import REPO, shared_dir

WORK = REPO / ".local" / "fuzz"

#: parse_payload targets: the shared samples whose cheap format guess is this label, and the header sent.
FORMAT_TARGETS: dict[str, str] = {
    "ninjs": "application/ninjs+json",
    "newsml-g2": "application/vnd.iptc.g2.newsitem+xml",
    "newsml-1.2": "application/vnd.iptc.newsml+xml",
    "nitf": "application/nitf+xml",
    "anpa-1312": "text/vnd.iptc.anpa",
    "iptc-7901": "text/vnd.iptc.7901; charset=latin-1",
}
TARGETS = (*FORMAT_TARGETS, "cleaning", "stage1")
#: stage1: the input's first byte picks one of these headers (None: no header, the format is sniffed).
STAGE1_HEADERS: tuple[str | None, ...] = (None, *FORMAT_TARGETS.values(), "application/octet-stream")
#: cleaning: the input's first byte picks the declared body type.
BODY_TYPES: tuple[str | None, ...] = (None, "text/html", "text/plain", "application/xhtml+xml", "text/xml")
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
#: Largest seed and input per target: cleaning a page costs ~10 ms per kB, parsing ~1 ms.
MAX_LEN = {"cleaning": 16 * 1024, "stage1": 16 * 1024}
DEFAULT_MAX_LEN = 64 * 1024


def shared_eval() -> Path:
    return shared_dir() / "eval"


# -- seeds ---------------------------------------------------------------------------------------------
def _sample_files() -> Iterator[Path]:
    eval_dir = shared_eval()
    for folder in (
        "superdesk-fixtures/tests/io/fixtures",
        "iptc-newsml-g2/examples",
        "iptc-ninjs/examples",
        "iptc-ninjs/documentation/includes/examples",
        "iptc-ninjs/validation/test_suite",
    ):
        yield from sorted(p for p in (eval_dir / folder).rglob("*") if p.is_file() and p.suffix not in {".xsd", ".md"})
    yield from sorted((REPO / "tests" / "golden" / "formats").iterdir())


def format_seeds() -> dict[str, list[bytes]]:
    """The wire samples by format label (``format_label``'s guess from the first bytes), at most 64 kB each."""
    from agents.formats import format_label

    seeds: dict[str, list[bytes]] = {}
    for path in _sample_files():
        payload = path.read_bytes()
        if len(payload) <= DEFAULT_MAX_LEN:
            seeds.setdefault(format_label(payload), []).append(payload)
    return seeds


def cleaning_seeds() -> list[bytes]:
    """Cleaning goldens (their input and headline) and a share of the trafilatura evaluation's web pages."""
    golden = REPO / "tests" / "golden" / "cleaning"
    bodies: list[tuple[str, bytes]] = []
    for path in sorted(golden.glob("*.input.*")):
        name = path.name.split(".input.")[0]
        headline = golden / f"{name}.headline.txt"
        bodies.append((headline.read_text() if headline.exists() else "", path.read_bytes()))
    pages = 0
    for path in sorted((shared_eval() / "trafilatura-eval" / "tests").rglob("*.html.gz")):
        page = gzip.decompress(path.read_bytes())
        if len(page) <= MAX_LEN["cleaning"] and pages < 40:
            bodies.append(("", page))
            pages += 1
    seeds = []
    for i, (headline, body) in enumerate(bodies):
        selector = 0 if b"<" not in body else 1 + i % (len(BODY_TYPES) - 1)
        seeds.append(bytes([selector]) + headline.strip().encode() + b"\n" + body)
    return seeds


def seeds_for(target: str) -> list[bytes]:
    if target == "cleaning":
        return cleaning_seeds()
    by_format = format_seeds()
    if target == "stage1":
        header_of = {label: STAGE1_HEADERS.index(ct) for label, ct in FORMAT_TARGETS.items()}
        return [
            bytes([header_of.get(label, 0) if i % 2 else 0]) + payload
            for label, payloads in by_format.items()
            for i, payload in enumerate(payloads)
        ]
    return by_format.get(target, [])


# -- the functions under test (child process) -----------------------------------------------------------
def _split_cleaning_input(data: bytes) -> tuple[str | None, str, str]:
    if not data:
        return None, "", ""
    head, _, body = data[1:].partition(b"\n")
    return BODY_TYPES[data[0] % len(BODY_TYPES)], head.decode("utf-8", "replace"), body.decode("utf-8", "replace")


def make_target(name: str) -> Callable[[bytes], None]:
    """The function libFuzzer calls for ``name``: raises for an input that breaks the rule."""
    from agents import clean
    from agents.failures.errors import StageError
    from agents.formats import parse_payload
    from schemas.records import KafkaSource, RawStory

    if name in FORMAT_TARGETS:
        content_type = FORMAT_TARGETS[name]

        def parse(data: bytes) -> None:
            try:
                stories = parse_payload(data, content_type)
            except StageError:
                return
            if not stories:
                raise AssertionError("parse_payload returned no story and raised nothing")

        return parse

    if name == "cleaning":

        def clean_one(data: bytes) -> None:
            body_type, headline, body = _split_cleaning_input(data)
            story = RawStory(uri="urn:fuzz", headline=headline, body=body, body_type=body_type)
            try:
                clean.clean_story(story)
            except StageError:
                return

        return clean_one

    if name == "stage1":
        build_letter = clean.dead_letter

        def strict_dead_letter(error: BaseException, *args: Any) -> Any:
            if not isinstance(error, StageError):
                raise error
            return build_letter(error, *args)

        clean.dead_letter = strict_dead_letter  # type: ignore[assignment]
        source = KafkaSource("stories.raw", 0, 0)

        def stage1(data: bytes) -> None:
            header = STAGE1_HEADERS[data[0] % len(STAGE1_HEADERS)] if data else None
            outcomes = clean.prepare(data[1:], header, source, time.time(), MAX_PAYLOAD_BYTES)
            if not outcomes:
                raise AssertionError("prepare returned no outcome")

        return stage1

    raise SystemExit(f"unknown target {name!r}; the targets: {', '.join(TARGETS)}")


@dataclass(slots=True)
class Slowest:
    cpu_seconds: float = 0.0


def child(name: str, libfuzzer_args: list[str]) -> None:
    """Run libFuzzer on one target in this process (started by :func:`run_target`)."""
    import atheris

    with atheris.instrument_imports(include=["agents", "schemas"]):
        target = make_target(name)
    # The first story loads the language models (~10 s): not an input's time, so spent before the clock runs.
    warm_up = WORK / name / "seeds" / "seed-0000"
    if warm_up.exists():
        with contextlib.suppress(Exception):  # a seed that fails fails again under libFuzzer, which records it
            target(warm_up.read_bytes())
    stats_path = WORK / name / "stats.json"
    slowest = Slowest()

    def one_input(data: bytes) -> None:
        # CPU time ranks the inputs: on a shared machine the wall time says more about the neighbours.
        started, started_cpu = time.perf_counter(), time.thread_time()
        target(data)
        cpu = time.thread_time() - started_cpu
        if cpu > slowest.cpu_seconds:
            slowest.cpu_seconds = cpu
            wall = time.perf_counter() - started
            (WORK / name / "slowest-input").write_bytes(data)
            stats_path.write_text(json.dumps({"slowest_cpu_seconds": cpu, "wall_seconds": wall, "bytes": len(data)}))

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


# -- the driver --------------------------------------------------------------------------------------
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_COVERAGE = re.compile(r"#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+) corp: (\d+)")


def run_target(name: str, runs: int, max_seconds: int, time_limit: int) -> dict[str, Any]:
    """Fuzz one target in a child process; its inputs run, failures, slowest input and coverage."""
    work = WORK / name
    seeds_dir, corpus_dir = work / "seeds", work / "corpus"
    for folder in (seeds_dir, corpus_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for old in seeds_dir.iterdir():
        old.unlink()
    max_len = MAX_LEN.get(name, DEFAULT_MAX_LEN)
    for i, seed in enumerate(s for s in seeds_for(name) if len(s) <= max_len):
        (seeds_dir / f"seed-{i:04d}").write_bytes(seed)
    (work / "stats.json").unlink(missing_ok=True)
    before = {p.name for p in work.glob("crash-*")} | {p.name for p in work.glob("timeout-*")}
    cmd = [
        sys.executable, __file__, "--child", name,
        f"-runs={runs}", f"-max_total_time={max_seconds}", f"-timeout={time_limit}", f"-max_len={max_len}",
        f"-artifact_prefix={work}/", "-print_final_stats=1", str(corpus_dir), str(seeds_dir),
    ]  # fmt: skip
    log = work / "libfuzzer.log"
    started = time.monotonic()
    with log.open("w") as out:
        returncode = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, check=False).returncode
    text = log.read_text(errors="replace")
    done = _DONE.findall(text)
    coverage = _COVERAGE.findall(text)
    stats = json.loads((work / "stats.json").read_text()) if (work / "stats.json").exists() else {}
    failures = sorted(({p.name for p in work.glob("crash-*")} | {p.name for p in work.glob("timeout-*")}) - before)
    inputs = int(done[-1][0]) if done else int(coverage[-1][0]) if coverage else 0
    return {
        "target": name,
        "seeds": len(list(seeds_dir.iterdir())),
        "inputs": inputs,
        "seconds": round(time.monotonic() - started, 1),
        "exit_code": returncode,
        "failures": [str(work / f) for f in failures],
        "failure_excerpt": _failure_excerpt(text) if returncode else "",
        "slowest_cpu_seconds": round(stats.get("slowest_cpu_seconds", 0.0), 4),
        "slowest_wall_seconds": round(stats.get("wall_seconds", 0.0), 4),
        "slowest_bytes": stats.get("bytes", 0),
        "coverage": int(coverage[-1][1]) if coverage else 0,
        "corpus": len(list(corpus_dir.iterdir())),
        "log": str(log),
    }


def _failure_excerpt(text: str) -> str:
    start = max(text.find("=== Uncaught Python exception"), text.find("ALARM"), text.find("==ERROR"))
    return text[start : start + 3000] if start >= 0 else text[-3000:]


def reproduce(name: str, path: Path) -> int:
    """Run one input through a target outside libFuzzer: the exception and its traceback, or the time."""
    target = make_target(name)
    started = time.perf_counter()
    target(path.read_bytes())
    print(f"{name}: {path} passed in {time.perf_counter() - started:.3f} s")
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--runs", type=int, default=170_000, help="inputs per target")
    parser.add_argument("--max-minutes", type=float, default=60.0, help="per target, whatever its runs")
    parser.add_argument("--time-limit", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reproduce", nargs=2, metavar=("TARGET", "FILE"))
    args = parser.parse_args()
    if args.reproduce:
        return reproduce(args.reproduce[0], Path(args.reproduce[1]))
    print(f"[fuzz] load average {os.getloadavg()}, nice {os.nice(0)}", flush=True)
    results = []
    for name in [t.strip() for t in args.targets.split(",") if t.strip()]:
        print(f"[fuzz {time.strftime('%H:%M:%S')}] {name}: {args.runs} inputs at most", flush=True)
        result = run_target(name, args.runs, int(60 * args.max_minutes), args.time_limit)
        results.append(result)
        print(
            f"[fuzz {time.strftime('%H:%M:%S')}] {name}: {result['inputs']} inputs in {result['seconds']} s "
            f"({result['seeds']} seeds, corpus {result['corpus']}, coverage {result['coverage']}), "
            f"slowest {result['slowest_cpu_seconds']} s CPU ({result['slowest_wall_seconds']} s wall, "
            f"{result['slowest_bytes']} bytes), "
            f"failures {len(result['failures'])}",
            flush=True,
        )
        if result["exit_code"]:
            print(result["failure_excerpt"], flush=True)
    total = sum(r["inputs"] for r in results)
    failed = [r["target"] for r in results if r["failures"] or r["exit_code"]]
    print(f"{'target':12} {'inputs':>9} {'seconds':>8} {'inputs/s':>9} {'slowest CPU s':>14} {'failures':>9}")
    for r in results:
        rate = r["inputs"] / max(r["seconds"], 1e-9)
        print(
            f"{r['target']:12} {r['inputs']:>9,} {r['seconds']:>8.0f} {rate:>9.0f} {r['slowest_cpu_seconds']:>14.3f} "
            f"{len(r['failures']):>9}"
        )
    print(f"{'total':12} {total:>9,}   failures in: {', '.join(failed) or 'none'}; load average {os.getloadavg()}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"results": results, "total_inputs": total}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

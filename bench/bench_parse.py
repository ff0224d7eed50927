"""Parse speed per wire format (items/s), over the shared samples and our golden samples.

    .venv/bin/python bench/bench_parse.py [--seconds 1.0] [--shared ../shared]

Each format's payloads (every sample that parses, grouped by the ``format`` of the stories
it yields) are parsed in a loop for about ``--seconds``; the table gives stories per second,
payloads per second and input MB/s on one core. Printed, not asserted.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from _repo import REPO, shared_dir

from agents.failures.errors import StageError
from agents.formats import parse_payload

SAMPLE_DIRS = (
    "eval/superdesk-fixtures/tests/io/fixtures",
    "eval/iptc-newsml-g2/examples",
    "eval/iptc-ninjs/examples",
    "eval/iptc-ninjs/documentation/includes/examples",
)


def collect(shared: Path) -> dict[str, list[tuple[bytes, int]]]:
    """Payloads that parse, grouped by format: (payload, number of stories)."""
    paths = [p for p in sorted((REPO / "tests" / "golden" / "formats").iterdir()) if p.is_file()]
    for folder in SAMPLE_DIRS:
        root = shared / folder
        if root.is_dir():
            paths += [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix not in {".xsd", ".md"}]
    groups: dict[str, list[tuple[bytes, int]]] = defaultdict(list)
    for path in paths:
        payload = path.read_bytes()
        try:
            stories = parse_payload(payload)
        except StageError:
            continue
        groups[stories[0].format].append((payload, len(stories)))
    return groups


def bench(payloads: list[tuple[bytes, int]], seconds: float) -> tuple[float, float, float]:
    """(stories/s, payloads/s, MB/s) parsing ``payloads`` round-robin for ``seconds``."""
    stories = calls = size = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for payload, count in payloads:
            parse_payload(payload)
            stories += count
            calls += 1
            size += len(payload)
        elapsed = time.perf_counter() - start
    return stories / elapsed, calls / elapsed, size / elapsed / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per format")
    default_shared = str(shared_dir())
    parser.add_argument("--shared", type=Path, default=Path(default_shared))
    args = parser.parse_args()
    groups = collect(args.shared)
    print(f"{'format':<12} {'payloads':>8} {'stories':>8} {'stories/s':>10} {'payloads/s':>11} {'MB/s':>7}")
    for fmt in sorted(groups):
        payloads = groups[fmt]
        rate, calls, mbs = bench(payloads, args.seconds)
        n_stories = sum(c for _, c in payloads)
        print(f"{fmt:<12} {len(payloads):>8} {n_stories:>8} {rate:>10,.0f} {calls:>11,.0f} {mbs:>7.1f}")


if __name__ == "__main__":
    main()

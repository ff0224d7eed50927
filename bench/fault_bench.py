"""What the two fault benchmarks share: ``bench/faults.py`` (the brokers fail) and
``bench/worker_faults.py`` (the workers do) take the same ``--faults``, ``--rate`` and ``--port``
options, say the machine's load beside their numbers, and print their results as a Markdown table."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Iterator, Sequence


def fault_parser(doc: str, faults: Sequence[str], rate: float, port: int, port_help: str) -> argparse.ArgumentParser:
    """A command line with the options every fault benchmark takes; the caller adds its own."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", default=",".join(faults), help=f"comma-separated, of {','.join(faults)}")
    parser.add_argument("--rate", type=float, default=rate, help="stories published a second")
    parser.add_argument("--port", type=int, default=port, help=port_help)
    return parser


def chosen_faults(parser: argparse.ArgumentParser, value: str, faults: Sequence[str]) -> list[str]:
    """The faults ``--faults`` names, in its order; exits with a usage error on an unknown one."""
    chosen = [fault for fault in value.split(",") if fault]
    unknown = sorted(set(chosen) - set(faults))
    if unknown:
        parser.error(f"unknown faults {unknown}; choose from {', '.join(faults)}")
    return chosen


def load() -> str:
    """The 1-minute load average and the cores it is shared by."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def markdown_table(header: str, rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The lines of a Markdown table; ``header`` names the columns as Markdown writes them (``a | b``)."""
    yield f"| {header} |"
    yield "|---" * (header.count("|") + 1) + "|"
    for row in rows:
        yield "| " + " | ".join(str(cell) for cell in row) + " |"

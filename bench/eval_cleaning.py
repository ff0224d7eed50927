#!/usr/bin/env python3
"""Score the clean stage's HTML path against plain trafilatura, in the same run.

Data sets (read from ``$WIRESTREAM_SHARED/eval``, default ``<repo>/../shared/eval``):

* ``scrapinghub-aeb``: 181 pages with the article body as ground truth. Scored the way the
  benchmark scores: per page, true/false positives and negatives over 4-token shingles
  (tokens = ``\\w+``), normalised per page; precision and recall are means over pages, F1 is
  their harmonic mean.
* ``trafilatura-eval``: ~990 pages with snippets that must be in the text ("with") and
  snippets that must not ("without"). Reported: share of "with" snippets kept, share of
  "without" snippets removed, and the snippet F1 (TP = with kept, FP = without kept,
  FN = with lost). Snippet and text are compared after the same light normalisation
  (whitespace runs, NFC, apostrophes), applied to every system alike.

Systems: ``wirestream`` (``clean_text(..., "text/html")``), ``trafilatura`` (default
``extract``), ``trafilatura-fast`` (the extractor call the clean stage makes). Each page is
decoded once, and every system gets the same string.

Usage: ``python bench/eval_cleaning.py [--limit N] [--only aeb|traf]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura
from _repo import shared_dir
from corpus import trafilatura_eval_page
from trafilatura.utils import decode_file

from agents.cleaning import clean_text, warm_up

Extractor = Callable[[str], str]


def ours(html: str) -> str:
    return clean_text(None, html, "text/html").body


def baseline(html: str) -> str:
    return trafilatura.extract(html) or ""


def baseline_fast(html: str) -> str:
    return trafilatura.extract(html, fast=True, include_comments=False) or ""


SYSTEMS: dict[str, Extractor] = {"wirestream": ours, "trafilatura": baseline, "trafilatura-fast": baseline_fast}

# ----------------------------------------------------------------------------- AEB metric

_TOKEN = re.compile(r"\w+")


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_counts(true: str, pred: str) -> tuple[float, float, float]:
    """Per-page (tp, fp, fn) over 4-token shingles, normalised to sum to 1."""
    t, p = _shingles(true), _shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def aeb_metrics(counts: list[tuple[float, float, float]]) -> dict[str, float]:
    """Mean precision and recall over pages, and their F1 (the benchmark's definition)."""

    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


# ----------------------------------------------------------------------------- helpers


def _read_html(path: Path) -> str:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = decode_file(data)
    return text if isinstance(text, str) else data.decode("utf-8", "replace")


def _timed(extract: Extractor, html: str, times: list[float]) -> str:
    started = time.perf_counter()
    out = extract(html)
    times.append(time.perf_counter() - started)
    return out


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u00b4": "'", "\u00a0": " "})


def _match_form(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).translate(_APOSTROPHES).split())


# ----------------------------------------------------------------------------- runs


def run_aeb(root: Path, limit: int | None) -> dict[str, dict[str, float]]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[:limit]
    counts: dict[str, list[tuple[float, float, float]]] = {name: [] for name in SYSTEMS}
    times: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    for key in keys:
        html = _read_html(root / "html" / f"{key}.html.gz")
        expected = truth[key].get("articleBody", "")
        for name, extract in SYSTEMS.items():
            counts[name].append(shingle_counts(expected, _timed(extract, html, times[name])))
    return {
        name: {**aeb_metrics(counts[name]), "ms": 1000 * statistics.median(times[name]), "pages": len(keys)}
        for name in SYSTEMS
    }


def run_trafilatura_eval(root: Path, limit: int | None) -> dict[str, dict[str, float]]:
    tests = root / "tests"
    data = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    items = sorted(data.items())[:limit]
    score = {name: Counter[str]() for name in SYSTEMS}
    times: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    pages = 0
    for _url, item in items:
        path = trafilatura_eval_page(tests, item)
        if path is None:
            continue
        pages += 1
        html = _read_html(path)
        for name, extract in SYSTEMS.items():
            text = _match_form(_timed(extract, html, times[name]))
            for snippet in item.get("with", []):
                score[name]["tp" if _match_form(snippet) in text else "fn"] += 1
            for snippet in item.get("without", []):
                score[name]["fp" if _match_form(snippet) in text else "tn"] += 1
    results: dict[str, dict[str, float]] = {}
    for name, s in score.items():
        precision = s["tp"] / max(1, s["tp"] + s["fp"])
        recall = s["tp"] / max(1, s["tp"] + s["fn"])
        results[name] = {
            "with_kept": recall,
            "without_removed": s["tn"] / max(1, s["tn"] + s["fp"]),
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "accuracy": (s["tp"] + s["tn"]) / max(1, sum(s.values())),
            "ms": 1000 * statistics.median(times[name]),
            "pages": pages,
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages of each set")
    parser.add_argument("--only", choices=("aeb", "traf"), default=None)
    args = parser.parse_args()
    warm_up()
    eval_dir = shared_dir() / "eval"
    if args.only in (None, "aeb"):
        aeb = run_aeb(eval_dir / "scrapinghub-aeb", args.limit)
        print(f"\nscrapinghub-aeb ({next(iter(aeb.values()))['pages']:.0f} pages; 4-token shingles)")
        print(f"{'system':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'ms/page':>8}")
        for name, m in aeb.items():
            print(f"{name:<18} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>6.4f} {m['ms']:>8.1f}")
    if args.only in (None, "traf"):
        traf = run_trafilatura_eval(eval_dir / "trafilatura-eval", args.limit)
        print(f"\ntrafilatura-eval ({next(iter(traf.values()))['pages']:.0f} pages; snippets)")
        print(f"{'system':<18} {'with kept':>9} {'without removed':>15} {'F1':>6} {'accuracy':>8} {'ms/page':>8}")
        for name, m in traf.items():
            print(
                f"{name:<18} {m['with_kept']:>9.4f} {m['without_removed']:>15.4f} {m['f1']:>6.4f}"
                f" {m['accuracy']:>8.4f} {m['ms']:>8.1f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""How long the clean stage takes: per ~600-word plain-text story, and per web page against
the extractor alone on the same pages. Prints numbers; asserts nothing.

* Stories: the article bodies of ``scrapinghub-aeb`` cut to their first ~600 words at a
  paragraph end (the ones that long), plus the seed story and the repository's golden
  plain-text inputs, cleaned as ``text/plain``.
* Pages: the ``scrapinghub-aeb`` pages, cleaned as ``text/html``, against (a) the extractor
  step alone (``agents.cleaning.html.page_to_text``: trafilatura fast, with its fallback on a
  short result) and (b) a bare ``trafilatura.extract(fast=True)``.

Each item is timed ``--repeat`` times, interleaving the systems, and its median kept;
the table shows the median over items. Data from ``$WIRESTREAM_SHARED`` (default
``<repo>/../shared``). Usage: ``python bench/bench_clean_speed.py [--limit N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import time
from collections.abc import Callable

import trafilatura
from _repo import REPO, shared_dir
from trafilatura.utils import decode_file

from agents.cleaning import clean_text, warm_up
from agents.cleaning.html import page_to_text


def _first_words(text: str, words: int) -> str | None:
    out: list[str] = []
    count = 0
    for paragraph in text.split("\n"):
        out.append(paragraph)
        count += len(paragraph.split())
        if count >= words:
            return "\n\n".join(out)
    return None


def stories(limit: int | None) -> list[tuple[str, str]]:
    """(headline, body) pairs of ~600 words."""
    found: list[tuple[str, str]] = []
    truth = json.loads((shared_dir() / "eval" / "scrapinghub-aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        body = _first_words(truth[key].get("articleBody", ""), 600)
        if body is not None and len(body.split()) < 800:
            found.append(("", body))
    seed = shared_dir() / "seed" / "000_1d638f912a8ffb5e.txt"
    if seed.exists():
        headline, body = seed.read_text(encoding="utf-8").split("\n", 1)
        found.append((headline, body))
    golden = REPO / "tests" / "golden" / "cleaning"
    for path in sorted(golden.glob("*.input.txt")):
        found.append(("", path.read_text(encoding="utf-8")))
    return found[:limit]


def pages(limit: int | None) -> list[str]:
    folder = shared_dir() / "eval" / "scrapinghub-aeb" / "html"
    out: list[str] = []
    for path in sorted(folder.glob("*.html.gz"))[:limit]:
        data = gzip.decompress(path.read_bytes())
        text = decode_file(data)
        out.append(text if isinstance(text, str) else data.decode("utf-8", "replace"))
    return out


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"warm-up: {warm_up():.2f} s")
    gc.disable()  # collector pauses are noise at this scale; re-enabled between items
    try:
        story_ms = []
        words = []
        for headline, body in stories(args.limit):
            words.append(len(body.split()))
            story_ms.append(_median_ms(lambda h=headline, b=body: clean_text(h, b, "text/plain"), args.repeat))
            gc.collect()
        print(f"\nplain-text stories: {len(story_ms)} (median {statistics.median(words):.0f} words)")
        print(f"  clean_text median {statistics.median(story_ms):.2f} ms, p90 {_p90(story_ms):.2f} ms")

        ours, alone, bare = [], [], []
        for html in pages(args.limit):
            alone.append(_median_ms(lambda h=html: page_to_text(h), args.repeat))
            bare.append(_median_ms(lambda h=html: _bare(h), args.repeat))
            ours.append(_median_ms(lambda h=html: clean_text(None, h, "text/html"), args.repeat))
            gc.collect()
    finally:
        gc.enable()
    ratios = [o / a for o, a in zip(ours, alone, strict=True) if a > 0]
    print(f"\nweb pages: {len(ours)} (scrapinghub-aeb)")
    print(f"  {'':34} {'median ms':>9} {'p90 ms':>7}")
    print(f"  {'clean_text (text/html)':34} {statistics.median(ours):>9.2f} {_p90(ours):>7.2f}")
    print(f"  {'extractor step alone (page_to_text)':34} {statistics.median(alone):>9.2f} {_p90(alone):>7.2f}")
    print(f"  {'trafilatura.extract(fast=True)':34} {statistics.median(bare):>9.2f} {_p90(bare):>7.2f}")
    print(f"  ratio of medians clean/extractor: {statistics.median(ours) / statistics.median(alone):.3f}")
    print(f"  median per-page ratio clean/extractor: {statistics.median(ratios):.3f}")
    print(f"  ratio of medians clean/bare trafilatura: {statistics.median(ours) / statistics.median(bare):.3f}")
    return 0


def _bare(html: str) -> str | None:
    return trafilatura.extract(html, fast=True, include_comments=False)


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


if __name__ == "__main__":
    raise SystemExit(main())

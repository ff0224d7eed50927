#!/usr/bin/env python3
"""Run real scraped news through ``wirestream enrich`` and count what a wire desk would see.

Articles: the 2,419 distinct articles of ``$WIRESTREAM_SHARED/eval/semeval2022-task8/pairs.csv``
(default ``<repo>/../shared/eval``; ten languages, texts as scraped). Each becomes one raw ninjs
story (``urn:semeval:<id>``, the declared language of the pair file, the text before the first
double space or line break as headline when it is short, the rest as body); nothing of the data
is written into the repository.

Printed: stories enriched, dead-lettered by error type (``NotAnArticle`` by reason), articles
lost to cleaning (``EmptyAfterCleaning``), the share of body characters the cleaning kept,
duplicates found, and the false duplicates among the different-story pairs (Overall ≥ 3.5: two
articles the annotators call very dissimilar, one declared a copy of the other).

    python bench/eval_scraped.py [--out .local/eval_scraped] [--show NotAnArticle] [--show EmptyAfterCleaning]

``--show TYPE`` prints every dead letter of that type with the start of its text, for reading.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from _repo import REPO, shared_dir

_MAX_HEADLINE = 200


def pairs_file() -> Path:
    """``pairs.csv`` under ``$WIRESTREAM_SHARED/eval`` (or the ``shared`` folder beside the repository)."""
    shared = shared_dir()
    return shared / "eval" / "semeval2022-task8" / "pairs.csv"


def read_pairs(path: Path) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, float]]]:
    """The distinct articles (id → (language, text)) and the pairs (id1, id2, Overall)."""
    csv.field_size_limit(1 << 30)
    articles: dict[str, tuple[str, str]] = {}
    pairs: list[tuple[str, str, float]] = []
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            first, second = row["pair_id"].split("_")
            articles[first] = (row["lang1"], row["text1"])
            articles[second] = (row["lang2"], row["text2"])
            pairs.append((first, second, float(row["Overall"])))
    return articles, pairs


def raw_story(article_id: str, language: str, text: str) -> dict[str, Any]:
    """A ninjs story as a scraper feeding the pipeline would send it."""
    text = text.strip()
    cut = min((i for i in (text.find("  "), text.find("\n")) if i > 0), default=-1)
    headline, body = "", text
    if 0 < cut <= _MAX_HEADLINE:
        headline, body = text[:cut].strip(), text[cut:].strip()
    story: dict[str, Any] = {
        "uri": f"urn:semeval:{article_id}",
        "version": "1",
        "language": language,
        "bodies": [{"value": body, "contenttype": "text/plain"}],
    }
    if headline:
        story["headlines"] = [{"value": headline}]
    return story


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _reason(letter: dict[str, Any]) -> str:
    error = letter["error"]
    return str(error.get("reason") or "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO / ".local" / "eval_scraped"), help="working directory")
    parser.add_argument("--show", action="append", default=[], help="print every dead letter of this error type")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = parser.parse_args(argv)

    os.environ.setdefault("WIRESTREAM_ENTITIES_ENABLED", "false")
    from streams.offline import enrich_files
    from streams.settings import Settings

    articles, pairs = read_pairs(pairs_file())
    ids = sorted(articles)[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stories = {f"urn:semeval:{i}": raw_story(i, *articles[i]) for i in ids}
    inputs = out / "stories.jsonl"
    inputs.write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in stories.values()))
    counts = enrich_files([str(inputs)], out / "run", Settings.from_env(), progress=False)

    enriched = _read_jsonl(out / "run" / "enriched.jsonl")
    duplicates = _read_jsonl(out / "run" / "duplicates.jsonl")
    letters = _read_jsonl(out / "run" / "dead_letters.jsonl")
    kept = sum(len((e["item"].get("bodies") or [{"value": ""}])[0]["value"]) for e in enriched)
    raw_chars = sum(len(stories[e["item"]["uri"]]["bodies"][0]["value"]) for e in enriched)

    print(f"articles: {len(ids)} (read {counts.read})")
    print(f"enriched: {counts.enriched}   duplicates: {counts.duplicates}   dead letters: {counts.dead_letters}")
    by_type = Counter(letter["error"]["type"] for letter in letters)
    for error_type, n in by_type.most_common():
        print(f"  dead letter {error_type}: {n}")
    by_reason = Counter(_reason(letter) for letter in letters if letter["error"]["type"] == "NotAnArticle")
    for reason, n in sorted(by_reason.items()):
        print(f"    NotAnArticle/{reason}: {n}")
    print(f"articles lost to cleaning (EmptyAfterCleaning): {by_type.get('EmptyAfterCleaning', 0)}")
    if raw_chars:
        print(f"body characters kept by cleaning (enriched stories): {kept / raw_chars:.4f}")
    refused = Counter(r["reason"] for e in enriched for r in e["enrichment"]["cleaning"].get("refused", []))
    print(f"removals refused by the guard: {sum(refused.values())} {dict(sorted(refused.items()))}")

    duplicate_of = {d["uri"]: d["duplicate_of"]["uri"] for d in duplicates}
    different = [(a, b) for a, b, overall in pairs if overall >= 3.5]
    false = [
        (a, b)
        for a, b in different
        if duplicate_of.get(f"urn:semeval:{a}") == f"urn:semeval:{b}"
        or duplicate_of.get(f"urn:semeval:{b}") == f"urn:semeval:{a}"
    ]
    print(f"false duplicates on {len(different)} different-story pairs (Overall >= 3.5): {len(false)} {false}")
    for d in duplicates:
        print(f"  duplicate {d['kind']}: {d['uri']} -> {d['duplicate_of']['uri']} ({d['similarity']:.2f})")

    for error_type in args.show:
        print(f"\n== {error_type}")
        for letter in letters:
            if letter["error"]["type"] != error_type:
                continue
            story = orjson.loads(letter["payload"])
            text = " ".join(story.get("headlines", [{"value": ""}])[0]["value"].split())
            body = " ".join(story["bodies"][0]["value"].split())
            print(f"- {story['uri']} [{_reason(letter)}] {len(body)} chars: {text[:80]!r} | {body[:400]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

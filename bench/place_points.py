"""How many tagged places get a GeoJSON point: samples + seed, and a sample of SemEval articles.

    python bench/place_points.py [--articles 300]

Runs ``wirestream enrich`` (entities on, the default settings) on ``samples/stories.jsonl`` plus
the scraped seed story, and on the first ``--articles`` distinct articles of
``../shared/eval/semeval2022-task8/pairs.csv`` (file order; third-party texts, read here only).
Prints, per input and per language: places in ``item.places``, how many are linked (have a
``uri``), and how many carry a point. Baseline: before the places table had coordinates, none did.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _repo import REPO, shared_dir

SHARED = shared_dir()
PAIRS = SHARED / "eval" / "semeval2022-task8" / "pairs.csv"
WIRESTREAM = Path(sys.executable).with_name("wirestream")


def semeval_stories(limit: int) -> list[dict[str, str]]:
    """The first ``limit`` distinct articles of the pairs file as raw stories (its text is
    "headline  body": the first double space splits them)."""
    csv.field_size_limit(1 << 30)
    stories: dict[str, dict[str, str]] = {}
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for article_id, language, text in zip(
                row["pair_id"].split("_"), (row["lang1"], row["lang2"]), (row["text1"], row["text2"]), strict=True
            ):
                headline, _, body = text.strip().partition("  ")
                if len(stories) < limit and article_id not in stories and body.strip():
                    uri = f"urn:semeval2022:{article_id}"
                    stories[article_id] = {"uri": uri, "language": language, "headline": headline, "body_text": body}
    return list(stories.values())


def enrich(inputs: list[Path], out: Path) -> list[dict[str, object]]:
    """The enriched records ``wirestream enrich`` writes for ``inputs``."""
    subprocess.run([str(WIRESTREAM), "enrich", *map(str, inputs), "--out", str(out)], check=True, cwd=REPO)
    lines = (out / "enriched.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def report(name: str, records: list[dict[str, object]]) -> None:
    """Print places, linked places and places with a point, in all and per language."""
    counts: dict[str, Counter[str]] = {}
    for record in records:
        item = record["item"]
        assert isinstance(item, dict)
        tally = counts.setdefault(str(item.get("language", "und")), Counter())
        tally["stories"] += 1
        for place in item.get("places", []):
            tally["places"] += 1
            tally["linked"] += "uri" in place
            tally["points"] += "geojson" in place or "geoJSON" in place
    total = sum(counts.values(), Counter())
    print(f"\n{name}: {total['stories']} enriched stories")
    header = ("stories", "places", "linked", "points")
    print(f"{'language':>8} " + " ".join(f"{h:>7}" for h in header) + f" {'points/places':>13} {'points/linked':>13}")
    for language, tally in [*sorted(counts.items(), key=lambda kv: -kv[1]["places"]), ("all", total)]:
        share = tally["points"] / tally["places"] if tally["places"] else 0.0
        of_linked = tally["points"] / tally["linked"] if tally["linked"] else 0.0
        print(
            f"{language:>8} {tally['stories']:>7} {tally['places']:>7} {tally['linked']:>7} {tally['points']:>7}"
            f" {share:>13.1%} {of_linked:>13.1%}"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300, help="SemEval articles to enrich (default 300)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="place-points-") as folder:
        work = Path(folder)
        seed = work / "seed.jsonl"
        made = subprocess.run(
            [sys.executable, str(REPO / "samples" / "seed_story.py")], check=True, capture_output=True
        )
        seed.write_bytes(made.stdout)
        report("samples/stories.jsonl + seed", enrich([REPO / "samples" / "stories.jsonl", seed], work / "samples"))
        if not PAIRS.exists():
            print(f"\n{PAIRS} not found (set WIRESTREAM_SHARED): SemEval sample skipped", file=sys.stderr)
            return 1
        semeval = work / "semeval.jsonl"
        semeval.write_text("".join(json.dumps(s) + "\n" for s in semeval_stories(args.articles)), encoding="utf-8")
        report(f"first {args.articles} articles of {PAIRS.name}", enrich([semeval], work / "semeval"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

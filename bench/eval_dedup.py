#!/usr/bin/env python3
"""Score near-duplicate detection (``agents.near_duplicates``) on copies and distractors built from real articles.

Articles (read from ``$WIRESTREAM_SHARED/eval``, default ``<repo>/../shared/eval``):

* ``scrapinghub-aeb``: the ground-truth ``articleBody`` of its 181 pages;
* ``trafilatura-eval``: the text trafilatura extracts from its pages (``--pages``, default 300),
  many of them several pages of one site.

Articles under ``--min-words`` (default 60) words, and articles that are themselves near copies
of an earlier one (exact Jaccard ≥ 0.5 of word 3-shingles; boilerplate pages of one site), are
dropped. From each article, with a ``random.Random(seed)``, the script derives:

* copies that share ≥ 80 % of their text with the original (must be flagged, as a copy of it):
  ``chrome`` (headline, dateline, credits and "read more" lines added), ``sentence-added``,
  ``sentence-removed``, ``sentence-edited`` (words changed in ~10 % of sentences), ``truncated``
  (80-95 % kept), ``reordered`` (one or two paragraphs moved), ``mixed`` (chrome + an edit + a cut);
* informational copies, reported but not in the target: ``heavy-edit`` (40 % of sentences edited
  or dropped) and ``shuffled`` (every paragraph moved: its shingles across paragraph joins change);
* distractors that must not be flagged: ``other-article`` (every article queried against all
  the others: same site, same topic), ``half`` (the second half queried against the first
  halves), ``shared-chrome`` (an article wrapped in the chrome of another one's copy),
  ``background-reuse`` (a follow-up: the first 30-40 % of one article, then ≤ 40 % of another).

The index holds the originals (or first halves); each copy or distractor is queried. A copy is
a true positive when its original is among the hits; any other hit is a false positive.

Usage: ``python bench/eval_dedup.py [--seed N] [--pages N] [--no-sweep]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass

from _repo import shared_dir
from corpus import trafilatura_eval_page

from agents.near_duplicates.signatures import (
    NUM_PERM,
    SHINGLE_SIZE,
    THRESHOLD,
    LshIndex,
    shingles,
    signature,
)


class NearDuplicateIndex:
    """The pipeline's ``LshIndex`` with string keys (the index itself keys by increasing ints)."""

    def __init__(self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM, bands: tuple[int, int] | None = None):
        self.index = LshIndex(threshold, num_perm, bands)
        self.bands = self.index.bands
        self.keys: list[str] = []

    def add(self, key: str, sig: list[int]) -> None:
        self.index.add(len(self.keys), sig, 0.0)
        self.keys.append(key)

    def query(self, sig: list[int]) -> list[tuple[str, float]]:
        return [(self.keys[seq], similarity) for seq, similarity in self.index.query(sig)]

    def approx_bytes(self) -> int:
        return self.index.nbytes()


COPY_KINDS = (
    "chrome",
    "sentence-added",
    "sentence-removed",
    "sentence-edited",
    "truncated",
    "reordered",
    "mixed",
)
INFO_KINDS = ("heavy-edit", "shuffled")
DISTRACTOR_KINDS = ("other-article", "half", "shared-chrome", "background-reuse")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")


@dataclass(slots=True)
class Article:
    key: str
    site: str
    language: str
    text: str


def _language(text: str) -> str:
    """Only the shingling depends on the language: CJK texts get character shingles."""
    if len(_CJK.findall(text)) > len(text) / 4:
        return "ja" if _KANA.search(text) else "zh"
    return "und"


def load_articles(pages: int, min_words: int) -> tuple[list[Article], int]:
    """The articles kept, and how many near copies among them were dropped."""
    eval_dir = shared_dir() / "eval"
    articles = []
    truth = json.loads((eval_dir / "scrapinghub-aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for key, item in sorted(truth.items()):
        text = item["articleBody"].strip()
        articles.append(Article("aeb:" + key[:12], item["url"].split("/")[2], _language(text), text))
    if pages:
        import trafilatura
        from trafilatura.utils import decode_file

        root = eval_dir / "trafilatura-eval" / "tests"
        data = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
        for url, item in sorted(data.items())[:pages]:
            path = trafilatura_eval_page(root, item)
            if path is None:
                continue
            text = trafilatura.extract(decode_file(gzip.decompress(path.read_bytes())), fast=True) or ""
            articles.append(
                Article("traf:" + item["file"], url.split("//")[-1].split("/")[0], _language(text), text.strip())
            )
    articles = [
        a
        for a in articles
        if len(a.text.split()) >= min_words or (a.language != "und" and len(a.text) >= min_words * 2)
    ]
    kept: list[Article] = []
    kept_shingles: list[set[str]] = []
    for article in articles:
        mine = shingles(article.text, article.language, 3)
        if any(len(mine & other) / len(mine | other) >= 0.5 for other in kept_shingles):
            continue
        kept.append(article)
        kept_shingles.append(mine)
    return kept, len(articles) - len(kept)


# --------------------------------------------------------------------------- variants


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def _join(sentences: list[str], cjk: bool) -> str:
    return ("" if cjk else " ").join(sentences)


def _edit_sentence(sentence: str, rng: random.Random) -> str:
    words = sentence.split()
    if len(words) < 3:
        return sentence + (" today" if rng.random() < 0.5 else " again")
    i = rng.randrange(len(words))
    edits = [
        lambda w: str(rng.randint(2, 99)),
        lambda w: w + "s",
        lambda w: "reportedly " + w,
        lambda w: "",
    ]
    words[i] = rng.choice(edits)(words[i])
    return " ".join(w for w in words if w)


def _edit_cjk(sentence: str, rng: random.Random) -> str:
    if len(sentence) < 4:
        return sentence + "了"
    i = rng.randrange(len(sentence) - 1)
    return sentence[:i] + rng.choice(["据报道", "今天", "", "又"]) + sentence[i + 1 :]


def _chrome(article: Article, rng: random.Random) -> tuple[str, str]:
    """Headline/dateline lines before, credit/more lines after."""
    words = article.text.split()
    headline = " ".join(words[rng.randrange(0, 5) :][: rng.randint(6, 12)]).upper()
    before = f"{headline}\n\n{rng.choice(['LONDON', 'BERLIN', 'NEW YORK', 'PARIS'])}, {rng.randint(1, 28)} May (Wire) -"
    after = rng.choice(
        [
            "Reporting by Anna Smith; Editing by Mark Jones",
            "(c) 2026 Wire Service. All rights reserved. Share this article on social media.",
            "Read more: subscribe to our newsletter for the latest headlines.",
        ]
    )
    return before, after


def _drop_sentences(sentences: list[str], rng: random.Random, share: float = 0.12) -> list[str]:
    """Drop random sentences, at most ``share`` of the text (at least the shortest one)."""
    budget = share * sum(len(x) for x in sentences)
    order = list(range(len(sentences)))
    rng.shuffle(order)
    dropped: set[int] = set()
    used = 0
    for i in order:
        if used + len(sentences[i]) <= budget:
            dropped.add(i)
            used += len(sentences[i])
    if not dropped:
        dropped.add(min(range(len(sentences)), key=lambda i: len(sentences[i])))
    return [x for i, x in enumerate(sentences) if i not in dropped]


def _blocks(text: str, sentences: list[str], cjk: bool) -> list[str]:
    """Paragraphs; a text of many short lines (lists, tables) or of one paragraph is cut into ~5 blocks."""
    paragraphs = _paragraphs(text)
    if 3 <= len(paragraphs) <= 40:
        return paragraphs
    units = paragraphs if len(paragraphs) > 40 else sentences
    step = max(1, len(units) // 5)
    return [
        ("\n" if units is paragraphs else ("" if cjk else " ")).join(units[i : i + step])
        for i in range(0, len(units), step)
    ]


def make_copy(kind: str, article: Article, others: list[Article], rng: random.Random) -> str:
    cjk = article.language != "und"
    edit = _edit_cjk if cjk else _edit_sentence
    sentences = _sentences(article.text)
    n = len(sentences)
    if kind == "chrome":
        before, after = _chrome(article, rng)
        return f"{before}\n\n{article.text}\n\n{after}"
    if kind == "sentence-added":
        donor = _sentences(rng.choice(others).text)
        extra = rng.sample(donor, min(len(donor), max(1, n // 10)))
        out = list(sentences)
        for sentence in extra:
            out.insert(rng.randrange(len(out) + 1), sentence)
        return _join(out, cjk)
    if kind == "sentence-removed":
        return _join(_drop_sentences(sentences, rng), cjk)
    if kind == "sentence-edited":
        chosen = set(rng.sample(range(n), max(1, n // 10)))
        return _join([edit(s, rng) if i in chosen else s for i, s in enumerate(sentences)], cjk)
    if kind == "truncated":
        return article.text[: int(len(article.text) * rng.uniform(0.8, 0.95))]
    if kind in ("reordered", "shuffled"):
        blocks = _blocks(article.text, sentences, cjk)
        if kind == "shuffled":
            rng.shuffle(blocks)
        else:  # an editor moves one or two paragraphs
            for _ in range(rng.randint(1, 2)):
                blocks.insert(rng.randrange(len(blocks)), blocks.pop(rng.randrange(len(blocks))))
        return "\n\n".join(blocks)
    if kind == "mixed":
        before, after = _chrome(article, rng)
        chosen = rng.randrange(n)
        body = _join([edit(s, rng) if i == chosen else s for i, s in enumerate(sentences)], cjk)
        return f"{before}\n\n{body[: int(len(body) * 0.92)]}\n\n{after}"
    if kind == "heavy-edit":
        chosen = set(rng.sample(range(n), max(1, (n * 4) // 10)))
        out = [(edit(s, rng) if rng.random() < 0.5 else "") if i in chosen else s for i, s in enumerate(sentences)]
        return _join([s for s in out if s], cjk)
    raise ValueError(kind)


@dataclass(slots=True)
class Case:
    kind: str
    text: str
    language: str
    source: str | None  # the key that must be found (None: nothing may be found)
    ignore: str | None = None  # a key not to count (the article itself, for other-article)
    index: str = "originals"  # which index the case is queried against


def _background_reuse(article: Article, other: Article, rng: random.Random) -> str:
    """A new story re-using background: the first 30-40 % of ``article``'s text, then at most 40 %
    of ``other``'s (so it shares under half of either)."""
    cjk = article.language != "und"

    def prefix(sentences: list[str], budget: float) -> list[str]:
        out: list[str] = []
        for sentence in sentences:
            if sum(len(x) for x in out) + len(sentence) > budget:
                break
            out.append(sentence)
        return out

    head = prefix(_sentences(article.text), rng.uniform(0.3, 0.4) * len(article.text))
    tail = prefix(_sentences(other.text), min(0.65 * len(article.text), 0.4 * len(other.text)))
    return _join(head + tail, cjk)


def build_cases(articles: list[Article], seed: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for article in articles:
        others = [a for a in articles if a.key != article.key and a.language == article.language] or articles
        for kind in COPY_KINDS + INFO_KINDS:
            cases.append(Case(kind, make_copy(kind, article, others, rng), article.language, article.key))
        cases.append(Case("other-article", article.text, article.language, None, ignore=article.key))
        cut = len(article.text) // 2
        cases.append(Case("half", article.text[cut:], article.language, None, index="halves"))
        donor = rng.choice(others)
        before, after = _chrome(donor, rng)
        cases.append(Case("background-reuse", _background_reuse(article, donor, rng), article.language, None))
        cases.append(
            Case("shared-chrome", f"{before}\n\n{article.text}\n\n{after}", article.language, None, ignore=article.key)
        )
    return cases


# --------------------------------------------------------------------------- scoring


@dataclass(slots=True)
class Score:
    positives: int = 0
    found: int = 0
    flagged: int = 0  # queries with at least one counted hit
    wrong: int = 0  # queries whose hits include a wrong key


def evaluate(
    articles: list[Article], cases: list[Case], threshold: float, size: int, bands: tuple[int, int] | None = None
) -> dict[str, Score]:
    indexes = {
        "originals": NearDuplicateIndex(threshold, NUM_PERM, bands),
        "halves": NearDuplicateIndex(threshold, NUM_PERM, bands),
    }
    for article in articles:
        indexes["originals"].add(
            article.key, signature(article.text, article.language, num_perm=NUM_PERM, shingle_size=size)
        )
        first = article.text[: len(article.text) // 2]
        indexes["halves"].add(article.key, signature(first, article.language, num_perm=NUM_PERM, shingle_size=size))
    scores: dict[str, Score] = defaultdict(Score)
    for case in cases:
        sig = signature(case.text, case.language, num_perm=NUM_PERM, shingle_size=size)
        hits = [key for key, _ in indexes[case.index].query(sig) if key != case.ignore]
        score = scores[case.kind]
        if case.source is not None:
            score.positives += 1
            score.found += case.source in hits
        score.flagged += bool(hits)
        score.wrong += any(key != case.source for key in hits)
    return scores


def summary(scores: dict[str, Score]) -> tuple[float, float, float]:
    """Precision over all flagged queries (target kinds and distractors), recall over the
    ≥ 80 % copies, and the share of distractors flagged."""
    kinds = COPY_KINDS + DISTRACTOR_KINDS
    flagged = sum(scores[k].flagged for k in kinds)
    wrong = sum(scores[k].wrong for k in kinds)
    positives = sum(scores[k].positives for k in COPY_KINDS)
    found = sum(scores[k].found for k in COPY_KINDS)
    distractors = sum(scores[k].flagged for k in DISTRACTOR_KINDS)
    precision = 1.0 if flagged == 0 else (flagged - wrong) / flagged
    return precision, found / max(1, positives), float(distractors)


def print_table(scores: dict[str, Score], counts: dict[str, int]) -> None:
    print(f"{'kind':<18}{'n':>6}{'recall':>9}{'precision':>10}{'flagged':>9}{'wrong':>7}")
    for kind in COPY_KINDS + INFO_KINDS:
        s = scores[kind]
        precision = (s.flagged - s.wrong) / max(1, s.flagged)
        print(
            f"{kind:<18}{s.positives:>6}{s.found / max(1, s.positives):>9.3f}{precision:>10.4f}"
            f"{s.flagged:>9}{s.wrong:>7}"
        )
    for kind in DISTRACTOR_KINDS:
        s = scores[kind]
        print(f"{kind:<18}{counts[kind]:>6}{'-':>9}{'-':>10}{s.flagged:>9}{s.wrong:>7}")
    precision, recall, distractors = summary(scores)
    print(f"precision {precision:.4f}  recall (≥80 % copies) {recall:.4f}  distractors flagged {int(distractors)}")


def speed(articles: list[Article]) -> None:
    times = []
    for article in articles:
        started = time.perf_counter()
        signature(article.text, article.language)
        times.append(time.perf_counter() - started)
    words = statistics.median(len(a.text.split()) for a in articles)
    print(
        f"signature: median {statistics.median(times) * 1e6:.0f} µs, mean {statistics.fmean(times) * 1e6:.0f} µs "
        f"a story (median {words:.0f} words, num_perm {NUM_PERM}, {SHINGLE_SIZE}-shingles)"
    )
    rng = random.Random(7)
    n = 100_000
    sigs = [[rng.getrandbits(32) for _ in range(NUM_PERM)] for _ in range(n)]
    index = NearDuplicateIndex()
    started = time.perf_counter()
    for i, sig in enumerate(sigs):
        index.add(f"urn:story:{i:08d}", sig)
    insert = (time.perf_counter() - started) / n
    queries = [signature(a.text, a.language) for a in articles[:500]]
    started = time.perf_counter()
    for sig in queries:
        index.query(sig)
    query = (time.perf_counter() - started) / len(queries)
    print(
        f"index of {n} synthetic signatures (bands×rows {index.bands[0]}×{index.bands[1]}): "
        f"insert {insert * 1e6:.0f} µs, "
        f"query {query * 1e6:.0f} µs, {index.approx_bytes() / n:.0f} B a story in memory (LshIndex.nbytes); "
        f"stored signature ≈ {len(json.dumps(sigs[0]))} B as JSON"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--pages", type=int, default=300, help="trafilatura-eval pages to extract (0: none)")
    parser.add_argument("--min-words", type=int, default=60)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()

    articles, dropped = load_articles(args.pages, args.min_words)
    cases = build_cases(articles, args.seed)
    counts = defaultdict(int)
    for case in cases:
        counts[case.kind] += 1
    sites = len({a.site for a in articles})
    print(f"{len(articles)} articles from {sites} sites ({dropped} near copies among them dropped)")
    print(f"{len(cases)} cases, seed {args.seed}")
    print(f"\ndefaults: threshold {THRESHOLD}, num_perm {NUM_PERM}, {SHINGLE_SIZE}-shingles")
    print_table(evaluate(articles, cases, THRESHOLD, SHINGLE_SIZE), counts)

    if not args.no_sweep:
        print("\nsweep: precision / recall (≥80 % copies) / recall heavy-edit / distractors flagged")
        for size in (2, 3, 4, 5):
            for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
                scores = evaluate(articles, cases, threshold, size)
                precision, recall, distractors = summary(scores)
                heavy = scores["heavy-edit"].found / max(1, scores["heavy-edit"].positives)
                print(
                    f"  shingle {size}  threshold {threshold:.1f}: {precision:.4f} / {recall:.4f} / {heavy:.3f} / "
                    f"{int(distractors)}"
                )
        print("\nbands × rows at the defaults: precision / recall (≥80 % copies) / recall heavy-edit / in-memory bytes")
        for bands in ((64, 2), (42, 3), (32, 4), (25, 5)):
            scores = evaluate(articles, cases, THRESHOLD, SHINGLE_SIZE, bands)
            precision, recall, _ = summary(scores)
            heavy = scores["heavy-edit"].found / max(1, scores["heavy-edit"].positives)
            size = NearDuplicateIndex(THRESHOLD, NUM_PERM, bands)
            for i in range(16384):
                size.add(f"urn:story:{i:08d}", [i] * NUM_PERM)
            size.index.compact()
            print(
                f"  {bands[0]}×{bands[1]}: {precision:.4f} / {recall:.4f} / {heavy:.3f} / "
                f"{size.approx_bytes() / 16384:.0f} B a story"
            )
    if not args.no_speed:
        print()
        speed(articles)


if __name__ == "__main__":
    main()

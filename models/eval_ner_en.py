"""Evaluate an English spaCy NER pipeline on CoNLL-2003 (exact-span P/R/F1 and speed).

Data: CoNLL-2003 English (Reuters RCV1), research use only - see ``train_ner_en.py``.
Sentences are grouped into docs of ``--sents-per-doc`` consecutive sentences of the
same CoNLL document (as in training); no gold sentence boundaries are given to the model.

Reported metrics
----------------
* ``gold-tok``: exact-span precision / recall / F1 per type (PER/ORG/LOC/MISC) and
  micro-averaged overall, with the gold CoNLL tokenisation (the standard CoNLL number).
* ``raw-text``: the same on the detokenised raw text, run through the spaCy tokenizer;
  a predicted entity counts only if its character offsets equal a gold entity's.
* ``curly``: gold-tok F1 after rewriting ASCII quotes/apostrophes as typographic ones
  (``Putin’s``, ``“...”``), as in production wire text.
* words/s of ``nlp.pipe`` on the raw test text (tokenizer included), single process.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python models/eval_ner_en.py \
        --model models/en_wirestream_ner --data /work/shared/eval/ner/conll/en/test.conllu
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import spacy
from spacy.language import Language
from spacy.tokens import Doc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_ner_en import ENTITY_TYPES, conllu_to_docs

DEFAULT_MODEL = Path(__file__).resolve().parent / "en_wirestream_ner"
DEFAULT_DATA = Path("/work/shared/eval/ner/conll/en/test.conllu")

Span = tuple[int, int, str]
PerType = dict[str, dict[str, float]]


@dataclass
class EvalResult:
    """Scores for one data file."""

    per_type: PerType
    per_type_raw_text: PerType = field(default_factory=dict)
    per_type_curly: PerType = field(default_factory=dict)
    words_per_second: float = 0.0
    n_words: int = 0
    n_docs: int = 0


def prf(gold: Iterable[set[Span]], pred: Iterable[set[Span]], labels: Sequence[str]) -> PerType:
    """Exact-span micro P/R/F1 per label and overall (``ALL``)."""
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        for span in g:
            n_gold[span[2]] += 1
        for span in p:
            n_pred[span[2]] += 1
        for span in g & p:
            tp[span[2]] += 1
    out: PerType = {}
    for label in (*labels, "ALL"):
        if label == "ALL":
            t, ng, npred = sum(tp.values()), sum(n_gold.values()), sum(n_pred.values())
        else:
            t, ng, npred = tp[label], n_gold[label], n_pred[label]
        precision = t / npred if npred else 0.0
        recall = t / ng if ng else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"p": precision, "r": recall, "f": f1, "support": float(ng)}
    return out


def token_spans(doc: Doc) -> set[Span]:
    """Entities of ``doc`` as ``(start_token, end_token, label)``."""
    return {(e.start, e.end, e.label_) for e in doc.ents}


def char_spans(doc: Doc) -> set[Span]:
    """Entities of ``doc`` as ``(start_char, end_char, label)``."""
    return {(e.start_char, e.end_char, e.label_) for e in doc.ents}


def predict_gold_tokens(nlp: Language, gold_docs: Sequence[Doc]) -> list[Doc]:
    """Run the pipeline on unannotated copies of the gold docs (gold tokenisation)."""
    inputs = [Doc(nlp.vocab, words=[t.text for t in g], spaces=[bool(t.whitespace_) for t in g]) for g in gold_docs]
    return list(nlp.pipe(inputs, batch_size=64))


def words_per_second(nlp: Language, texts: Sequence[str], repeats: int = 2) -> tuple[float, int]:
    """Best-of-``repeats`` throughput of ``nlp.pipe`` on raw texts (tokenizer included)."""
    list(nlp.pipe(texts[:20]))  # warm-up
    best = 0.0
    n_words = 0
    for _ in range(repeats):
        start = time.perf_counter()
        n_words = sum(len(doc) for doc in nlp.pipe(texts, batch_size=64))
        best = max(best, n_words / (time.perf_counter() - start))
    return best, n_words


def evaluate_file(nlp: Language, path: Path, *, sents_per_doc: int = 10, full: bool = False) -> EvalResult:
    """Score ``nlp`` on a CoNLL file; ``full`` adds raw-text and curly-quote variants."""
    gold_docs = conllu_to_docs(nlp, path, sents_per_doc)
    labels = ENTITY_TYPES
    pred = predict_gold_tokens(nlp, gold_docs)
    result = EvalResult(
        per_type=prf(map(token_spans, gold_docs), map(token_spans, pred), labels),
        n_docs=len(gold_docs),
    )
    texts = [g.text for g in gold_docs]
    result.words_per_second, result.n_words = words_per_second(nlp, texts)
    if full:
        raw_pred = list(nlp.pipe(texts, batch_size=64))
        result.per_type_raw_text = prf(map(char_spans, gold_docs), map(char_spans, raw_pred), labels)
        curly_gold = conllu_to_docs(nlp, path, sents_per_doc, curly_prob=1.0)
        curly_pred = predict_gold_tokens(nlp, curly_gold)
        result.per_type_curly = prf(map(token_spans, curly_gold), map(token_spans, curly_pred), labels)
    return result


def format_table(name: str, per_type: PerType) -> str:
    """Plain-text table of one score set."""
    lines = [f"{name:<10} {'P':>7} {'R':>7} {'F1':>7} {'gold':>6}"]
    for label, row in per_type.items():
        lines.append(f"  {label:<8} {row['p']:7.4f} {row['r']:7.4f} {row['f']:7.4f} {int(row['support']):6d}")
    return "\n".join(lines)


def curly_smoke_test(nlp: Language) -> list[tuple[str, list[tuple[str, str]]]]:
    """Entities for ASCII vs typographic variants of the same sentences."""
    sentences = [
        "Putin's spokesman said Gazprom would meet EU officials in Brussels on Monday.",
        "Putin’s spokesman said Gazprom would meet EU officials in Brussels on Monday.",
        '"We will not accept this," Angela Merkel told reporters in Berlin.',
        "“We will not accept this,” Angela Merkel told reporters in Berlin.",
    ]
    return [(s, [(e.text, e.label_) for e in nlp(s).ents]) for s in sentences]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--sents-per-doc", type=int, default=10)
    p.add_argument("--json", type=Path, default=None, help="also write scores as JSON")
    args = p.parse_args(argv)

    nlp = spacy.load(args.model)
    result = evaluate_file(nlp, args.data, sents_per_doc=args.sents_per_doc, full=True)
    print(f"model: {args.model}  data: {args.data}  docs: {result.n_docs}  words: {result.n_words}")
    print(format_table("gold-tok", result.per_type))
    print(format_table("raw-text", result.per_type_raw_text))
    print(format_table("curly", result.per_type_curly))
    print(
        f"nlp.pipe speed: {result.words_per_second:,.0f} words/s "
        f"(raw text incl. tokenizer, 1 process, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
    )
    for text, ents in curly_smoke_test(nlp):
        print(f"  {text}\n    -> {ents}")
    if args.json:
        args.json.write_text(json.dumps(result.__dict__, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

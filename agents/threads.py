"""Story threads and translated copies: the coverage of one event across outlets and languages.

A story's **evidence** is a set of 64-bit keys (:func:`evidence`), most of them independent of its
language:

- ``E`` the Wikidata URIs of its linked people and organisations (``enrichment.merged_entities``);
- ``N`` its numbers, normalised (``1,500`` and ``1.500`` are 1500, ``3,5`` and ``3.5`` are 3.5);
- ``P`` its names: capitalised words that are not a sentence's first word nor seen in lower case
  in the same text, transliterated to ASCII (``anyascii``) and reduced to a consonant skeleton, so
  ``Poutine``, ``Путин`` and ``Putin`` are all ``ptn``;
- ``W`` words of its language (a sample of at most ``words`` of them, chosen by hash), which only
  ever match stories of the same language.

Two stories are compared by the cosine of their keys weighted by rarity in the window: each story
weighs its keys by their idf in the window when it arrived (from the index itself), keeps those
weights (journal and postings), and a shared key counts the product of its two stories' weights,
so a similarity is at most 1 and the same whichever story asks; across languages only the ``E``,
``N`` and ``P`` keys count. A story joins the
thread of its best match when the similarity reaches the threshold of its kind (same language, or
across languages with at least two keys shared); it is a **translation** of a story of another
language when the cross-language similarity and the structure the two texts share agree
(:func:`translation_evidence`): the same numbers, or the same count of sentences, which a machine
translation keeps.
Versions of a uri stay in its thread. The thresholds were chosen on ``bench/eval_threads.py``
(docs/threads.md); the window is 72 hours (the eval set has no times to choose it from).

:func:`assign` works on any ``MutableMapping`` (the changelog-backed table or a dict), like
``agents.dedup.deduplicate``; :class:`ThreadIndex` is its in-memory mirror, rebuilt from the
state's journal. State keys:

- ``m:<raw coordinates>#<uri>#<version>`` the decision for a message (a replay gets it back);
- ``u:<uri>`` the thread of a uri; ``t:<thread id>`` a thread's summary;
- ``j:<seq>`` the journal: one entry per story in decision order (time, keys and their weights,
  thread, language, sentences).
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from anyascii import anyascii

from agents.languages.scripts import CJK_LETTERS
from agents.multilingual import Encoder, Vector, VectorStore, from_text, to_text
from schemas.records import EnrichedStory, StoryRef, ThreadTag, TranslationRef

State = MutableMapping[str, Any]

#: Thresholds chosen on the tuning half of ``bench/eval_threads.py`` (docs/threads.md).
WINDOW_SECONDS = 72 * 3600.0
SAME_LANGUAGE_THRESHOLD = 0.20
CROSS_LANGUAGE_THRESHOLD = 0.15
#: Language-independent keys that a story of another language must share (among those looked up)
#: to join its thread: one (a country's name, a year) is chance, not one event.
CROSS_LANGUAGE_KEYS = 2
TRANSLATION_THRESHOLD = 0.35
WORD_SAMPLE = 64
#: Keys found in more than this share of the window's stories (at least ``MIN_LOOKED_UP`` and at
#: most ``MAX_LOOKED_UP`` stories) are not looked up; they still weigh in the norms. They are the
#: long lists and carry little weight; the ceiling bounds a query's cost whatever the window.
MAX_SHARE = 0.02
MIN_LOOKED_UP = 50
MAX_LOOKED_UP = 500
#: A translation states the same numbers (:func:`numbers_agree`) and keeps the count of sentences
#: (:func:`sentences_agree`); the most similar stories of other languages are checked in turn, up
#: to this many (:func:`translation_evidence` says how the three combine).
NUMBER_AGREEMENT = 0.5
SENTENCE_AGREEMENT = 0.15
STRUCTURED_TRANSLATION_THRESHOLD = 0.20
UNNUMBERED_TRANSLATION_THRESHOLD = 0.55
TRANSLATION_CANDIDATES = 4
#: Language-independent keys (looked up) a translation's original must share with it.
TRANSLATION_KEYS = 2
#: With the opt-in encoder (:mod:`agents.multilingual`): the cosine of two stories' vectors that a
#: match by keys must also reach (the vectors agree); the cosine that joins a thread its keys did
#: not find, within one language and across two; and the cosine of the nearest story of another
#: language that makes a story its translation when its keys did not (numbers must not disagree:
#: :func:`numbers_could_agree`).
ENCODER_AGREEMENT_THRESHOLD = 0.50
ENCODER_SAME_THRESHOLD = 0.60
ENCODER_CROSS_THRESHOLD = 0.50
ENCODER_TRANSLATION_THRESHOLD = 0.725
#: Journal entries expired per call (more than one story's worth, so a backlog drains).
EXPIRE_PER_CALL = 16
#: Members a thread summary lists (the newest); ``size`` counts them all.
SUMMARY_MEMBERS = 50
SUMMARY_ENTITIES = 8

#: Linked entities that count. Linked places joined different stories about one country across
#: languages (cross-language AUC 0.796 with them, 0.810 without, docs/threads.md); places count
#: by their names.
LINKED_TYPES = frozenset({"PER", "ORG"})
KIND_WORD, KIND_NUMBER, KIND_NAME, KIND_ENTITY = 0, 1, 2, 3
_KIND_SHIFT = 62
_SEQ_SHIFT = 32  # a posting: its story's seq above the float32 bits of the key's weight in it
_SEQ_HALF = 1 if sys.byteorder == "little" else 0  # which 32-bit half of a posting in memory is the seq
_VALUE_MASK = (1 << _KIND_SHIFT) - 1
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?:\n\"“”«»]\s*$")
_SENTENCE_BREAK = re.compile(r"[.!?。！？]+(?=\s|$)|[。！？]")
_CJK_RUN = re.compile(f"[{CJK_LETTERS}]+")
_NOT_ASCII_LETTER = re.compile(r"[^a-z]")
_VOWELS = frozenset("aeiouy")
_BIGRAM_LANGUAGES = frozenset({"zh", "ja", "ko"})


@dataclass(slots=True, frozen=True)
class ThreadSettings:
    """What :func:`assign` decides with."""

    window_seconds: float = WINDOW_SECONDS
    same_language: float = SAME_LANGUAGE_THRESHOLD
    cross_language: float = CROSS_LANGUAGE_THRESHOLD
    cross_language_keys: int = CROSS_LANGUAGE_KEYS
    translation: float = TRANSLATION_THRESHOLD
    structured_translation: float = STRUCTURED_TRANSLATION_THRESHOLD
    unnumbered_translation: float = UNNUMBERED_TRANSLATION_THRESHOLD
    words: int = WORD_SAMPLE
    encoder_same: float = ENCODER_SAME_THRESHOLD
    encoder_cross: float = ENCODER_CROSS_THRESHOLD
    encoder_translation: float = ENCODER_TRANSLATION_THRESHOLD
    encoder_agreement: float = ENCODER_AGREEMENT_THRESHOLD

    @property
    def lowest_translation(self) -> float:
        """The similarity below which no rule of :func:`translation_evidence` can accept."""
        return min(self.translation, self.structured_translation, self.unnumbered_translation)


# --------------------------------------------------------------------------- evidence


def _key(kind: int, value: str) -> int:
    digest = int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "little")
    return (kind << _KIND_SHIFT) | (digest & _VALUE_MASK)


def kind_of(key: int) -> int:
    """Which kind of evidence a key is (``KIND_WORD`` … ``KIND_ENTITY``)."""
    return key >> _KIND_SHIFT


def normal_number(text: str) -> str | None:
    """A number as written, normalised across conventions; None for a single digit.

    A separator followed by exactly three digits groups thousands (``1,500`` = ``1.500`` = 1500);
    the last other separator is the decimal point (``3,5`` = ``3.5``)."""
    parts = re.split(r"[.,]", text)
    if len(parts) > 1 and all(len(part) == 3 for part in parts[1:]):
        value = "".join(parts).lstrip("0") or "0"
    elif len(parts) == 1:
        value = text.lstrip("0") or "0"
    else:
        value = ("".join(parts[:-1]).lstrip("0") or "0") + "." + parts[-1]
    return value if len(value.replace(".", "")) >= 2 else None


@lru_cache(maxsize=1 << 16)  # names recur from story to story; anyascii is the cost
def name_skeleton(word: str) -> str | None:
    """A name in any script as an ASCII consonant skeleton (first letter, then consonants without
    repeats, at most five letters): ``Poutine``/``Путин``/``Putin`` → ``ptn``. None when the
    transliteration has fewer than three letters."""
    letters = _NOT_ASCII_LETTER.sub("", anyascii(word).lower())
    if len(letters) < 3:
        return None
    skeleton = letters[0]
    for letter in letters[1:]:
        if letter not in _VOWELS and letter != skeleton[-1]:
            skeleton += letter
    return skeleton[:5]


def _names(text: str) -> Iterator[str]:
    lower = {word for word in _WORD.findall(text) if word[0].islower()}
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or word.casefold() in lower:
            continue
        before = text[max(0, match.start() - 3) : match.start()]
        if match.start() == 0 or _SENTENCE_END.search(before):
            continue
        skeleton = name_skeleton(word)
        if skeleton is not None:
            yield skeleton


def _words(text: str, language: str) -> Iterator[str]:
    if language in _BIGRAM_LANGUAGES:
        for run in _CJK_RUN.findall(text):
            for start in range(len(run) - 1):
                yield run[start : start + 2]
        return
    for word in _WORD.findall(text.casefold()):
        if len(word) >= 4 and not word.isdigit():
            yield word[:6]


def evidence(text: str, language: str, entity_uris: Iterable[str] = (), words: int = WORD_SAMPLE) -> list[int]:
    """The keys of a story (see the module docstring), sorted and unique."""
    text = unicodedata.normalize("NFKC", text)
    keys = {_key(KIND_ENTITY, uri) for uri in entity_uris}
    keys.update(_key(KIND_NUMBER, n) for n in map(normal_number, _NUMBER.findall(text)) if n is not None)
    keys.update(_key(KIND_NAME, name) for name in set(_names(text)))
    language = language.split("-", 1)[0].casefold()
    sampled = sorted({_key(KIND_WORD, f"{language}:{word}") for word in set(_words(text, language))})
    keys.update(sampled[:words])
    return sorted(keys)


def story_evidence(story: EnrichedStory, words: int = WORD_SAMPLE) -> list[int]:
    """:func:`evidence` of an enriched story: its clean headline and body, language, and its linked
    people and organisations (:data:`LINKED_TYPES`)."""
    uris = [e.uri for e in story.enrichment.merged_entities if e.uri and e.type in LINKED_TYPES]
    return evidence(story_text(story), story.enrichment.language.code, uris, words)


def story_text(story: EnrichedStory) -> str:
    """The text the stage reads of a story: its clean headlines, then its bodies."""
    item = story.item
    parts = [h["value"] for h in item.get("headlines", [])] + [b["value"] for b in item.get("bodies", [])]
    return "\n\n".join(parts)


def sentence_count(text: str) -> int:
    """How many sentences ``text`` has: pieces ending in ``.``, ``!`` or ``?`` before a space (or
    the end), or in a CJK full stop. A machine translation keeps them; line breaks it may not."""
    pieces = _SENTENCE_BREAK.split(unicodedata.normalize("NFKC", text))
    return sum(1 for piece in pieces if piece.strip())


# --------------------------------------------------------------------------- in-memory index


@dataclass(slots=True)
class Candidates:
    """Stories sharing evidence with a query: their seqs (ascending), similarities and languages."""

    seqs: npt.NDArray[np.int64]
    same: npt.NDArray[np.float64]  # cosine over every key (meaningful within one language)
    cross: npt.NDArray[np.float64]  # cosine over the language-independent keys
    languages: npt.NDArray[np.uint16]
    shared: npt.NDArray[np.float64]  # how many language-independent keys each shares with the query

    @classmethod
    def none(cls) -> Candidates:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.uint16), np.zeros(0))


@dataclass
class ThreadIndex:
    """The in-memory side of :func:`assign`: postings from each key to the journal positions
    (``seq``) of the live stories that have it, each with the weight the key has in that story,
    and per story its thread, language, norms and time. It mirrors the ``j:`` entries of the
    state; :meth:`rebuild` makes it again from them.

    A posting is one integer, ``seq << 32`` or'ed with the bits of the key's weight in that story
    as a float32, so a key's postings ascend with ``seq``; a key of one story
    holds its posting as an ``int``, of more an ``array('Q')``. A story's weights are the idf of
    its keys when it arrived (:meth:`weights`), the ones its journal entry keeps (``w``): the
    similarity of two stories is the cosine of their two weight vectors, each as stored for its
    own story, so it is at most 1 and the same whichever of the two asks."""

    postings: dict[int, int | array[int]] = field(default_factory=dict)  # a key of one story: its posting
    first: int = 0  # seq of the oldest live story
    times: array[float] = field(default_factory=lambda: array("d"))
    norms: array[float] = field(default_factory=lambda: array("d"))  # over every key, then cross keys
    languages: array[int] = field(default_factory=lambda: array("H"))
    threads: array[int] = field(default_factory=lambda: array("I"))
    language_codes: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)
    vectors: VectorStore | None = None  # the encoder's, a row a story like the arrays above, when on
    _language_numbers: dict[str, int] = field(default_factory=dict)
    _thread_numbers: dict[str, int] = field(default_factory=dict)
    _dead_postings: int = 0
    _head: int = 0  # expired entries still at the front of the per-story arrays

    @property
    def next_seq(self) -> int:
        return self.first + len(self)

    def __len__(self) -> int:
        return len(self.times) - self._head

    def live(self, seq: int) -> bool:
        return self.first <= seq < self.next_seq

    def document_frequency(self, key: int) -> int:
        found = self.postings.get(key)
        if found is None:
            return 0
        if isinstance(found, int):
            return int(found >= self._floor)
        return len(found) - _count_below(found, self._floor)

    @property
    def _floor(self) -> int:
        """The smallest posting of a live story (its seq above the weight's bits)."""
        return self.first << _SEQ_SHIFT

    def weights(self, keys: Sequence[int]) -> list[float]:
        """Idf of each key in the live window (+1 smoothing, so a key no story has weighs most),
        rounded to six decimals: what the journal keeps, so a rebuilt index holds the very weights
        the live one used."""
        total = len(self) + 1
        frequencies = np.array([self.document_frequency(key) for key in keys], dtype=np.float64)
        weights: list[float] = np.round(np.log(total / (frequencies + 1.0)) + 1.0, 6).tolist()
        return weights

    def thread_of(self, seq: int) -> str:
        return self.thread_ids[self.threads[seq - self.first + self._head]]

    def add(
        self,
        keys: Sequence[int],
        weights: Sequence[float],
        at: float,
        language: str,
        thread: str,
        vector: Vector | None = None,
    ) -> int:
        """Index a story with the ``weights`` of its ``keys`` (stored with its postings) and, when
        the index keeps vectors, its ``vector``; returns its seq."""
        seq = self.next_seq
        stored = array("f", weights)
        for key, bits in zip(keys, array("I", stored.tobytes()), strict=True):
            posting = (seq << _SEQ_SHIFT) | bits
            found = self.postings.get(key)
            if found is None:
                self.postings[key] = posting
            elif isinstance(found, int):
                self.postings[key] = array("Q", (found, posting))
            else:
                found.append(posting)
        self.norms.extend(_norms(keys, stored))
        self.times.append(at)
        self.languages.append(self._number(self._language_numbers, self.language_codes, language))
        self.threads.append(self._number(self._thread_numbers, self.thread_ids, thread))
        if self.vectors is not None:
            self.vectors.append(vector)
        return seq

    @staticmethod
    def _number(numbers: dict[str, int], names: list[str], name: str) -> int:
        found = numbers.get(name)
        if found is None:
            found = numbers[name] = len(names)
            names.append(name)
        return found

    def candidates(self, keys: Sequence[int], weights: Sequence[float], not_before: float) -> Candidates:
        """Live stories at or after ``not_before`` sharing a looked-up key, with their cosine
        similarities to ``keys`` over every key and over the language-independent ones: a shared
        key counts the product of its weight in the query (``weights``) and in the candidate (its
        posting's), each side's norm is over its own weights, so a similarity is at most 1."""
        limit = min(MAX_LOOKED_UP, max(MIN_LOOKED_UP, int(MAX_SHARE * len(self))))
        postings = array("Q")
        lengths: list[int] = []
        mine: list[float] = []
        independent: list[float] = []
        stored = array("f", weights)  # the query's weights as its own postings will hold them
        floor = self._floor
        for key, weight in zip(keys, stored, strict=True):
            found = self.postings.get(key)
            if found is None:
                continue
            if isinstance(found, int):
                if found < floor:
                    continue
                postings.append(found)
                lengths.append(1)
            else:
                dead = _count_below(found, floor)
                if not 0 < len(found) - dead <= limit:
                    continue
                postings.extend(found[dead:] if dead else found)
                lengths.append(len(found) - dead)
            mine.append(weight)
            independent.append(0.0 if kind_of(key) == KIND_WORD else 1.0)
        if not lengths:
            return Candidates.none()
        halves = np.frombuffer(postings, dtype=np.uint32).reshape(-1, 2)  # a posting's two 32-bit halves
        unique, inverse = np.unique(halves[:, _SEQ_HALF], return_inverse=True)
        products = np.repeat(mine, lengths) * halves[:, 1 - _SEQ_HALF].view(np.float32)
        cross = np.repeat(independent, lengths)
        same_dot = np.bincount(inverse, weights=products)
        cross_dot = np.bincount(inverse, weights=products * cross)
        shared = np.bincount(inverse, weights=cross)
        positions = unique.astype(np.int64) - self.first + self._head
        norms = np.frombuffer(self.norms, dtype=np.float64).reshape(-1, 2)[positions]
        same_norm, cross_norm = _norms(keys, stored)
        keep = np.frombuffer(self.times, dtype=np.float64)[positions] >= not_before
        return Candidates(
            unique[keep].astype(np.int64),
            np.minimum(same_dot / np.maximum(norms[:, 0] * same_norm, 1e-9), 1.0)[keep],
            np.minimum(cross_dot / np.maximum(norms[:, 1] * cross_norm, 1e-9), 1.0)[keep],
            np.frombuffer(self.languages, dtype=np.uint16)[positions][keep],
            shared[keep].astype(np.float64),
        )

    def nearest(
        self, vector: Vector, not_before: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint16]]:
        """The live stories at or after ``not_before`` whose vectors are nearest ``vector``
        (:meth:`VectorStore.nearest`): their seqs (ascending), cosines and languages."""
        positions, cosines = self._vectors().nearest(vector, self._head)
        keep = np.frombuffer(self.times, dtype=np.float64)[positions] >= not_before
        languages = np.frombuffer(self.languages, dtype=np.uint16)[positions]
        return (positions - self._head + self.first)[keep], cosines[keep], languages[keep]

    def cosines(self, seqs: npt.NDArray[np.int64], vector: Vector) -> npt.NDArray[np.float64]:
        """The cosine of ``vector`` with the vector of each live story of ``seqs``."""
        return self._vectors().cosines(seqs - self.first + self._head, vector)

    def _vectors(self) -> VectorStore:
        if self.vectors is None:
            raise ValueError("this index keeps no vectors: build it with vectors=VectorStore()")
        return self.vectors

    def language_number(self, code: str) -> int | None:
        return self._language_numbers.get(code)

    def expire(self, cutoff: float, limit: int = EXPIRE_PER_CALL) -> list[int]:
        """Forget up to ``limit`` of the oldest stories older than ``cutoff``; returns their seqs."""
        gone: list[int] = []
        while len(gone) < limit and self._head < len(self.times) and self.times[self._head] < cutoff:
            gone.append(self.first)
            self.first += 1
            self._head += 1
        self._dead_postings += len(gone)
        if self._dead_postings > max(1024, len(self) // 4):
            self._compact()
        return gone

    def _compact(self) -> None:
        """Drop what expired: postings, the front of the per-story arrays, and the names of the
        threads and languages no live story has."""
        head = self._head
        del self.times[:head]
        del self.norms[: 2 * head]
        del self.languages[:head]
        del self.threads[:head]
        if self.vectors is not None:
            self.vectors.drop_front(head)
        self._head = 0
        self.thread_ids, self._thread_numbers, self.threads = _renumbered(self.thread_ids, self.threads)
        self.language_codes, self._language_numbers, self.languages = _renumbered(self.language_codes, self.languages)
        floor = self._floor
        for key in list(self.postings):
            found = self.postings[key]
            if isinstance(found, int):
                if found < floor:
                    del self.postings[key]
                continue
            dead = _count_below(found, floor)
            if dead == len(found):
                del self.postings[key]
            elif dead:
                del found[:dead]
        self._dead_postings = 0

    def nbytes(self) -> int:
        """Bytes held: postings (with the dict's share), per-story arrays, names."""
        postings = sum(
            64 + found.itemsize * found.buffer_info()[1] for found in self.postings.values() if isinstance(found, array)
        )
        table = 100 * len(self.postings)  # a dict entry with its share of free slots, and the key's int
        per_story = sum(a.itemsize * len(a) for a in (self.times, self.norms, self.languages, self.threads))
        names = sum(60 + len(name) for name in self.thread_ids)
        vectors = 0 if self.vectors is None else self.vectors.nbytes()
        return postings + table + per_story + names + vectors

    def rebuild(self, items: Iterable[tuple[Any, Any]]) -> None:
        """Forget everything and index the journal entries (``j:<seq>``) among ``items``, in order,
        each with the weights it keeps (``w``), so the postings and norms are the live index's. An
        entry without them (or with not one for each of its keys) gets the idf of its keys among the
        entries indexed before it, i.e. as if it arrived after the live ones before it."""
        journal = sorted(
            (int(key[2:]), value)
            for key, value in items
            if isinstance(key, str) and key.startswith("j:") and isinstance(value, dict)
        )
        fresh = ThreadIndex(vectors=None if self.vectors is None else VectorStore())
        if journal:
            fresh.first = journal[0][0]
        for seq, entry in journal:
            while fresh.next_seq < seq:  # a gap (a crash between writes): a story that expires at once
                fresh.add([], [], -math.inf, "", "")
            keys = [int(k) for k in entry["k"]]
            stored = entry.get("w")
            if isinstance(stored, list) and len(stored) == len(keys):
                weights = [float(w) for w in stored]
            else:
                weights = fresh.weights(keys)
            stored_vector = entry.get("e")
            vector = from_text(stored_vector) if isinstance(stored_vector, str) else None
            fresh.add(keys, weights, float(entry["at"]), entry["l"], entry["t"], vector)
        self.__dict__.update(fresh.__dict__)


def _renumbered(names: list[str], numbers: array[int]) -> tuple[list[str], dict[str, int], array[int]]:
    """``names`` cut to those ``numbers`` still use, in order, with the numbers redone to match."""
    used = sorted(set(numbers))
    renumber = {old: new for new, old in enumerate(used)}
    kept = [names[old] for old in used]
    return kept, {name: new for new, name in enumerate(kept)}, array(numbers.typecode, (renumber[n] for n in numbers))


def _norms(keys: Sequence[int], weights: array[float]) -> tuple[float, float]:
    """A story's norms: over the ``weights`` (float32, as its postings hold them) of every key, and
    of its language-independent keys."""
    same_sq = sum(w * w for w in weights)
    cross_sq = sum(w * w for k, w in zip(keys, weights, strict=True) if kind_of(k) != KIND_WORD)
    return math.sqrt(same_sq), math.sqrt(cross_sq)


def _count_below(found: array[int], seq: int) -> int:
    """How many of the ascending ``found`` are below ``seq``."""
    if not found or found[0] >= seq:
        return 0
    low, high = 0, len(found)
    while low < high:
        middle = (low + high) // 2
        if found[middle] < seq:
            low = middle + 1
        else:
            high = middle
    return low


# --------------------------------------------------------------------------- the decision


@dataclass(slots=True)
class Decision:
    """What :func:`assign` decided for a story; ``by_vectors`` when the encoder found its thread's
    match or its original where the keys did not (False for a replay's remembered decision)."""

    thread: ThreadTag
    translation_of: TranslationRef | None
    by_vectors: bool = False


def thread_id(uri: str, version: str | None) -> str:
    """A thread's id: derived from its first story, the same on every path and replay."""
    digest = hashlib.blake2b(f"{uri}\n{version or ''}".encode(), digest_size=8).hexdigest()
    return f"thread:{digest}"


def assign(
    story: EnrichedStory,
    state: State,
    settings: ThreadSettings,
    index: ThreadIndex,
    keys: Sequence[int] | None = None,
    encoder: Encoder | None = None,
    vector: Vector | None = None,
) -> Decision:
    """Put ``story`` in a thread (an earlier one it matches, else a new one) and say whether it
    is a translation of an earlier story; remember both. ``index`` must mirror ``state``; ``keys``
    defaults to :func:`story_evidence`. With an ``encoder`` (the index then keeps vectors), the
    story's vector also finds the thread and the original its keys did not; ``vector``, when
    given, is that vector computed earlier (``encoder(story_text(story))``) and saves encoding
    it here; without an encoder it is not used. Time is the story's arrival time, so a replay
    decides as the first pass did, and gets the very decision recorded then (without encoding the
    story again)."""
    identity = _identity(story)
    now = story.enrichment.received_at
    stored = state.get("m:" + identity)
    if isinstance(stored, dict) and now - float(stored["at"]) <= settings.window_seconds:
        return _decision_from(stored)
    if keys is None:
        keys = story_evidence(story, settings.words)
    if encoder is not None and index.vectors is None:
        raise ValueError("an encoder needs an index that keeps vectors: ThreadIndex(vectors=VectorStore())")
    if encoder is None:
        vector = None
    elif vector is None:
        vector = encoder(story_text(story))
    decision = _decide(story, state, settings, index, keys, vector, now, identity)
    _expire(state, index, now - settings.window_seconds)
    return decision


def _identity(story: EnrichedStory) -> str:
    # The enriched record does not carry the item's index in a multi-item packet; its uri and
    # version tell the items of one packet apart.
    return f"{story.enrichment.source.key}#{story.item['uri']}#{story.item.get('version') or ''}"


def _decide(
    story: EnrichedStory,
    state: State,
    settings: ThreadSettings,
    index: ThreadIndex,
    keys: Sequence[int],
    vector: Vector | None,
    now: float,
    identity: str,
) -> Decision:
    uri, version = story.item["uri"], story.item.get("version")
    language = story.enrichment.language.code
    weights = index.weights(keys)
    sentences = sentence_count(story_text(story))
    translation: TranslationRef | None = None
    similarity = 1.0
    by_vectors = False
    seen = state.get("u:" + uri)
    if isinstance(seen, dict) and index.live(int(seen["seq"])) and seen.get("m") != identity:
        thread = str(seen["thread"])
    else:
        found = index.candidates(keys, weights, now - settings.window_seconds)
        number = index.language_number(language)
        same_language = _of_language(found.languages, number)
        across = np.where(found.shared >= settings.cross_language_keys, found.cross, 0.0)
        scores = np.where(same_language, found.same, across)
        margins = scores - np.where(same_language, settings.same_language, settings.cross_language)
        # With an encoder, keys alone are not enough: the two stories' vectors must agree too
        # (asked of the candidates that could be chosen: a thread's match or a translation's original).
        agree = np.ones(len(scores), dtype=np.bool_)
        if vector is not None:
            could = (margins >= 0) | (
                ~same_language & (found.shared >= TRANSLATION_KEYS) & (found.cross >= settings.lowest_translation)
            )
            agree[could] = index.cosines(found.seqs[could], vector) >= settings.encoder_agreement
        margins = np.where(agree, margins, -1.0)
        if not len(margins) or margins.max() < 0:
            thread, similarity = thread_id(uri, version), 0.0
        else:
            best = int(np.argmax(margins))  # the first of equals: the earliest story
            thread, similarity = index.thread_of(int(found.seqs[best])), float(scores[best])
        translation, original_thread = _translation(found, same_language | ~agree, keys, sentences, state, settings)
        if vector is not None:
            near = _Near(*index.nearest(vector, now - settings.window_seconds), number)
            matched = near.thread(index, settings) if similarity == 0.0 else None
            if matched is not None:
                (thread, similarity), by_vectors = matched, True
            if translation is None:
                translation, original_thread = near.translation(keys, state, settings)
                by_vectors = by_vectors or translation is not None
        if translation is not None and similarity == 0.0:  # a translation is in its original's thread
            thread, similarity = original_thread, translation.similarity
    seq = index.add(keys, weights, now, language, thread, vector)
    entry = {
        "at": now,
        "m": identity,
        "u": uri,
        "v": version,
        "l": language,
        "t": thread,
        "k": list(keys),
        "w": list(weights),
        "s": sentences,
    }
    if vector is not None:
        entry["e"] = to_text(vector)
    state[f"j:{seq}"] = entry
    state["u:" + uri] = {"thread": thread, "seq": seq, "m": identity}
    summary = _summary_after(state.get("t:" + thread), thread, story, now)
    state["t:" + thread] = summary
    tag = ThreadTag(
        id=thread,
        first=StoryRef(summary["first"]["uri"], summary["first"]["version"]),
        size=int(summary["size"]),
        languages=sorted(summary["languages"]),
        similarity=round(similarity, 4),
    )
    decision = Decision(tag, translation, by_vectors)
    state["m:" + identity] = {"at": now, **_decision_record(decision)}
    return decision


def _translation(
    found: Candidates,
    ruled_out: npt.NDArray[np.bool_],
    keys: Sequence[int],
    sentences: int,
    state: State,
    settings: ThreadSettings,
) -> tuple[TranslationRef | None, str]:
    """The story of another language that ``keys`` translate, and its thread: the most similar
    one, among the best few not ``ruled_out`` (those of the story's language, and those whose
    vectors disagree), that :func:`translation_evidence` accepts."""
    similarity = np.where(ruled_out | (found.shared < TRANSLATION_KEYS), -1.0, found.cross)
    ranked = np.argsort(-similarity, kind="stable")[:TRANSLATION_CANDIDATES]
    for position in ranked.tolist():
        score = float(similarity[position])
        if score < settings.lowest_translation:
            break
        original = state.get(f"j:{int(found.seqs[position])}")
        if not isinstance(original, dict):
            continue
        # A journal entry written before sentences were counted has none: structure cannot vouch.
        other_sentences = original.get("s")
        structure = isinstance(other_sentences, int) and sentences_agree(sentences, other_sentences)
        if translation_evidence(score, keys, original["k"], structure, settings):
            ref = TranslationRef(str(original["u"]), original.get("v"), round(score, 4))
            return ref, str(original["t"])
    return None, ""


def _of_language(languages: npt.NDArray[np.uint16], number: int | None) -> npt.NDArray[np.bool_]:
    """Which of ``languages`` is language ``number`` (none when the index has not seen it)."""
    same: npt.NDArray[np.bool_] = languages == (-1 if number is None else number)
    return same


@dataclass(slots=True)
class _Near:
    """The stories nearest a story's vector (:meth:`ThreadIndex.nearest`), for :func:`_decide`."""

    seqs: npt.NDArray[np.int64]
    cosines: npt.NDArray[np.float64]
    languages: npt.NDArray[np.uint16]
    language: int | None  # the story's language number in the index, None when no live story has it

    def _same_language(self) -> npt.NDArray[np.bool_]:
        return _of_language(self.languages, self.language)

    def thread(self, index: ThreadIndex, settings: ThreadSettings) -> tuple[str, float] | None:
        """The thread of the nearest story past its language's threshold, by margin (the earliest
        of equals), with the cosine; None when none is."""
        thresholds = np.where(self._same_language(), settings.encoder_same, settings.encoder_cross)
        margins = self.cosines - thresholds
        if not len(margins) or margins.max() < 0:
            return None
        best = int(np.argmax(margins))
        return index.thread_of(int(self.seqs[best])), float(self.cosines[best])

    def translation(
        self, keys: Sequence[int], state: State, settings: ThreadSettings
    ) -> tuple[TranslationRef | None, str]:
        """The nearest story of another language at ``encoder_translation`` or more whose numbers
        could be the story's (:func:`numbers_could_agree`), and its thread."""
        cosines = np.where(self._same_language(), -1.0, self.cosines)
        for position in np.argsort(-cosines, kind="stable").tolist():
            cosine = float(cosines[position])
            if cosine < settings.encoder_translation:
                break
            original = state.get(f"j:{int(self.seqs[position])}")
            if isinstance(original, dict) and numbers_could_agree(keys, original["k"]):
                return TranslationRef(str(original["u"]), original.get("v"), round(cosine, 4)), str(original["t"])
        return None, ""


def numbers_could_agree(keys: Sequence[int], other: Sequence[int]) -> bool:
    """Whether a text and its translation could have these keys: neither states a number, or their
    numbers agree (:func:`numbers_agree`)."""
    if not _numbers(keys) and not _numbers(other):
        return True
    return numbers_agree(keys, other)


def translation_evidence(
    similarity: float, keys: Sequence[int], other: Sequence[int], same_structure: bool, settings: ThreadSettings
) -> bool:
    """Whether a story of another language with ``other`` keys, at cross-language ``similarity``,
    is the original ``keys`` translate. A translation repeats every number and keeps the sentences
    (``same_structure``: :func:`sentences_agree`), so the similarity needed falls with the
    structure shared: ``translation`` when the numbers agree (:func:`numbers_agree`);
    ``structured_translation`` when, besides, at least two numbers are shared and the sentences
    agree; ``unnumbered_translation`` for two texts without numbers whose sentences agree. Numbers
    that disagree rule a translation out."""
    mine, theirs = _numbers(keys), _numbers(other)
    if not mine and not theirs:
        return same_structure and similarity >= settings.unnumbered_translation
    if not numbers_agree(keys, other):
        return False
    if similarity >= settings.translation:
        return True
    return same_structure and len(mine & theirs) >= 2 and similarity >= settings.structured_translation


def sentences_agree(mine: int, theirs: int) -> bool:
    """Whether two sentence counts (:func:`sentence_count`) can be one text and its translation:
    within one sentence, or :data:`SENTENCE_AGREEMENT` of the longer one."""
    return abs(mine - theirs) <= max(1.0, SENTENCE_AGREEMENT * max(mine, theirs))


def _numbers(keys: Sequence[int]) -> set[int]:
    return {key for key in keys if kind_of(key) == KIND_NUMBER}


def numbers_agree(keys: Sequence[int], other: Sequence[int]) -> bool:
    """Whether two stories state the same numbers: at least one, and the Jaccard similarity of
    their number sets at least :data:`NUMBER_AGREEMENT`. Coverage of one event in two languages
    shares a few numbers; a translation repeats them all."""
    mine, theirs = _numbers(keys), _numbers(other)
    shared = len(mine & theirs)
    return shared > 0 and shared >= NUMBER_AGREEMENT * len(mine | theirs)


def _summary_after(summary: Any, thread: str, story: EnrichedStory, now: float) -> dict[str, Any]:
    member = {
        "uri": story.item["uri"],
        "version": story.item.get("version"),
        "language": story.enrichment.language.code,
    }
    if not isinstance(summary, dict):
        summary = {
            "id": thread,
            "first": {"uri": member["uri"], "version": member["version"]},
            "first_seen": now,
            "size": 0,
            "languages": {},
            "entities": {},
            "members": [],
        }
    else:
        summary = {**summary, "languages": dict(summary["languages"]), "entities": dict(summary["entities"])}
    summary["last_seen"] = now
    summary["size"] = int(summary["size"]) + 1
    language = str(member["language"])
    summary["languages"][language] = summary["languages"].get(language, 0) + 1
    for entity in story.enrichment.merged_entities[:SUMMARY_ENTITIES]:
        name = entity.uri or entity.name
        summary["entities"][name] = summary["entities"].get(name, 0) + 1
    ranked = sorted(summary["entities"].items(), key=lambda item: (-item[1], item[0]))
    summary["entities"] = dict(ranked[: 4 * SUMMARY_ENTITIES])
    summary["members"] = [*summary["members"], member][-SUMMARY_MEMBERS:]
    result: dict[str, Any] = summary
    return result


def _decision_record(decision: Decision) -> dict[str, Any]:
    tag, translation = decision.thread, decision.translation_of
    return {
        "thread": {
            "id": tag.id,
            "first": {"uri": tag.first.uri, "version": tag.first.version},
            "size": tag.size,
            "languages": tag.languages,
            "similarity": tag.similarity,
        },
        "translation_of": None
        if translation is None
        else {"uri": translation.uri, "version": translation.version, "similarity": translation.similarity},
    }


def _decision_from(stored: dict[str, Any]) -> Decision:
    translation = stored.get("translation_of")
    return Decision(
        ThreadTag.from_dict(stored["thread"]),
        None if translation is None else TranslationRef.from_dict(translation),
    )


def _expire(state: State, index: ThreadIndex, cutoff: float) -> None:
    """Delete the oldest journal entries out of the window, with the keys only they still own,
    and the summary of a thread whose last story they were."""
    for seq in index.expire(cutoff):
        entry = state.pop(f"j:{seq}", None)
        if not isinstance(entry, dict):
            continue
        state.pop("m:" + str(entry["m"]), None)
        written = state.get("u:" + str(entry["u"]))
        if isinstance(written, dict) and written.get("seq") == seq:
            del state["u:" + str(entry["u"])]
        summary = state.get("t:" + str(entry["t"]))
        if isinstance(summary, dict) and float(summary["last_seen"]) <= float(entry["at"]):
            del state["t:" + str(entry["t"])]


def thread_summary(state: State, thread: str) -> dict[str, Any] | None:
    """The current summary of a thread (what ``stories.threads`` carries), None once expired."""
    found = state.get("t:" + thread)
    return found if isinstance(found, dict) else None


__all__ = [
    "Decision",
    "ThreadIndex",
    "ThreadSettings",
    "assign",
    "evidence",
    "name_skeleton",
    "normal_number",
    "numbers_agree",
    "numbers_could_agree",
    "sentence_count",
    "sentences_agree",
    "story_evidence",
    "story_text",
    "thread_id",
    "thread_summary",
    "translation_evidence",
]

"""Near-duplicate detection: MinHash signatures of shingles and an LSH index per language.

A story is a near duplicate of an earlier one of the same language when the estimated Jaccard
similarity of their shingle sets is at least a threshold (DESIGN §3, docs/dedup.md). Shingles are
word n-grams of the normalised text (as ``agents.dedup.fingerprint`` normalises it), or character
n-grams for scripts written without spaces.

Signatures are computed with rensa's R-MinHash (fixed seed, FxHash of the tokens: the same text
gives the same signature in every process) and stored as a plain ``list[int]``, so they fit in a
JSON table. The in-memory index is datasketch's ``MinHashLSH`` over those values: it takes any
stored hash values back, has string keys and ``remove``, so a worker can rebuild it from the table
after a partition assignment.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable

from datasketch import LeanMinHash, MinHashLSH
from rensa import RMinHash

# Defaults measured with `python bench/eval_dedup.py` (466 real articles, 6,058 cases; docs/dedup.md):
# word 3-shingles at 0.5 give precision 0.9991 and recall 0.9991 on copies sharing ≥ 80 % of their
# text, and still find 98.7 % of heavy edits; 0.4 lets follow-ups that re-use background through
# (precision 0.995), 0.6 and up lose heavy edits (92.7 %), other shingle sizes are no better.
THRESHOLD = 0.5
NUM_PERM = 128
SHINGLE_SIZE = 3
SEED = 1729
# Store this with the signatures: signatures of different versions must not be compared. Rensa's
# algorithm version is part of it; bump the suffix when the shingling changes.
SIGNATURE_VERSION = f"rensa{RMinHash.ALGORITHM_VERSION}-seed{SEED}-perm{NUM_PERM}-w{SHINGLE_SIZE}-1"

CHAR_SHINGLE_LANGUAGES = frozenset({"zh", "ja", "th", "km", "lo", "my"})
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split()


def _base_language(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].casefold()


def shingles(text: str, language: str, size: int = SHINGLE_SIZE) -> set[str]:
    """The shingle set of ``text``: word ``size``-grams, or character ``size``-grams (spaces and
    punctuation dropped) for zh, ja, th, km, lo, my. A text shorter than one shingle is one
    shingle; a text without words has none."""
    size = max(1, size)
    words = _words(text)
    if _base_language(language) in CHAR_SHINGLE_LANGUAGES:
        chars = "".join(words)
        if len(chars) <= size:
            return {chars} if chars else set()
        return {chars[i : i + size] for i in range(len(chars) - size + 1)}
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def signature(text: str, language: str, *, num_perm: int = NUM_PERM, shingle_size: int = SHINGLE_SIZE) -> list[int]:
    """The MinHash signature of ``text``'s shingles: ``num_perm`` unsigned 32-bit ints,
    deterministic across processes. A text without words gets the signature of the empty set
    (every slot at its maximum), which matches nothing but another empty text."""
    minhash = RMinHash(num_perm, SEED)
    # R-MinHash is order-independent (a test checks it across hash seeds), so no sort is needed.
    minhash.update(list(shingles(text, language, shingle_size)))
    return [int(value) for value in minhash.digest()]


def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands × rows for ``num_perm``: the most rows (fewest buckets, least memory) that still find
    a pair at ``threshold + 0.1`` with 98 % chance. Copies sharing ≥ 80 % of their text sit well
    above the threshold; at the defaults this is 32 × 4, which scored the same as 64 × 2 in
    ``bench/eval_dedup.py`` with half the memory."""
    target = min(0.99, threshold + 0.1)
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if (1.0 - target**rows) ** bands <= 0.02:
            best = (bands, rows)
    return best


class NearDuplicateIndex:
    """An in-memory LSH index of the signatures of one language.

    ``query`` returns the stored keys whose estimated Jaccard similarity with a signature is at
    least ``threshold``, best first. The index holds nothing but the signatures it was given, so
    ``rebuild`` from stored signatures gives back the same answers.
    """

    def __init__(
        self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM, bands: tuple[int, int] | None = None
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands = bands or _bands(threshold, num_perm)
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=self.bands)
        self._hashes: dict[str, LeanMinHash] = {}

    @classmethod
    def rebuild(
        cls,
        entries: Iterable[tuple[str, list[int]]],
        threshold: float = THRESHOLD,
        num_perm: int = NUM_PERM,
        bands: tuple[int, int] | None = None,
    ) -> NearDuplicateIndex:
        """An index of ``(key, signature)`` pairs, e.g. read back from the dedup table."""
        index = cls(threshold, num_perm, bands)
        for key, sig in entries:
            index.add(key, sig)
        return index

    def _minhash(self, sig: list[int]) -> LeanMinHash:
        if len(sig) != self.num_perm:
            raise ValueError(f"signature has {len(sig)} values, the index expects {self.num_perm}")
        # The values are rensa's 32-bit slots; datasketch only uses the scheme label to refuse mixing
        # schemes in one index, and "affine32" is its 32-bit storage.
        return LeanMinHash(seed=SEED, hashvalues=sig, scheme="affine32")

    def add(self, key: str, sig: list[int]) -> None:
        """Store ``sig`` under ``key`` (replacing what ``key`` held)."""
        minhash = self._minhash(sig)
        self.remove(key)
        self._lsh.insert(key, minhash, check_duplication=False)
        self._hashes[key] = minhash

    def query(self, sig: list[int]) -> list[tuple[str, float]]:
        """Stored keys with estimated Jaccard ≥ threshold, best first (ties by key)."""
        minhash = self._minhash(sig)
        found = []
        for key in self._lsh.query(minhash):
            similarity = float(minhash.jaccard(self._hashes[key]))
            if similarity >= self.threshold:
                found.append((str(key), similarity))
        return sorted(found, key=lambda item: (-item[1], item[0]))

    def remove(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not stored)."""
        if self._hashes.pop(key, None) is not None:
            self._lsh.remove(key)

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, key: object) -> bool:
        return key in self._hashes

    def approx_bytes(self) -> int:
        """Rough bytes the index holds in memory: per story, the hash values, the key and, per band,
        datasketch's bucket (a set in a dict) and band hash. Calibrated on the process RSS growth
        over 50k inserts: 12.3 kB a story at 32 × 4 (this gives 12.9 kB), 22.5 kB at 64 × 2 (24.4 kB)."""
        if not self._hashes:
            return 0
        key, minhash = next(iter(self._hashes.items()))
        bands, rows = self.bands
        per_story = int(minhash.hashvalues.nbytes) + sys.getsizeof(key) + 250 + bands * (360 + rows * 4)
        return per_story * len(self._hashes)

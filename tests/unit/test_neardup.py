"""Near-duplicate signatures and the LSH index (agents/neardup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.neardup import NUM_PERM, SHINGLE_SIZE, THRESHOLD, NearDuplicateIndex, shingles, signature

STORY = (
    "The harbour authority said on Monday that the northern ferry terminal will close for repairs "
    "from the first of March. Passengers travelling to the islands should use the southern pier, "
    "where two extra crossings a day have been added. The works, budgeted at four million euros, "
    "are expected to last eleven weeks. A spokesperson said the old ramp had been damaged in the "
    "winter storms and could no longer carry lorries safely. Local shops near the terminal asked "
    "for compensation, saying the closure falls in their busiest season."
)
EDITED = (
    "HARBOUR TERMINAL TO CLOSE\n\n"
    + STORY.replace("on Monday", "on Tuesday").replace("eleven weeks", "twelve weeks")
    + "\n\nReporting by Jo Bloggs; editing by Sam Doe"
)
OTHER = (
    "The national football team lost two to one against its neighbours on Saturday evening, "
    "ending a run of seven matches without defeat. The coach blamed a tired defence and said he "
    "would rotate the squad before the qualifier next month. Supporters booed the late substitution "
    "of the captain, who had scored the only goal shortly after half time."
)
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
    index = NearDuplicateIndex()
    index.add("urn:story:1", sig(STORY))
    index.add("urn:story:2", sig(OTHER))
    hits = index.query(sig(EDITED))
    assert [key for key, _ in hits] == ["urn:story:1"]
    assert THRESHOLD <= hits[0][1] <= 1.0
    unrelated = "Parliament passed the pension reform late on Thursday after a night of debate and amendments."
    assert index.query(sig(unrelated)) == []


def test_chinese_light_edit_is_found() -> None:
    index = NearDuplicateIndex()
    index.add("zh:1", sig(CHINESE, "zh"))
    assert [k for k, _ in index.query(sig(CHINESE.replace("周一", "周二"), "zh"))] == ["zh:1"]


def test_signature_is_compact_json_and_deterministic_across_processes() -> None:
    value = sig(STORY)
    assert len(value) == NUM_PERM and all(isinstance(v, int) and 0 <= v < 2**32 for v in value)
    assert json.loads(json.dumps(value)) == value
    assert sig(STORY) == value
    code = "import json, sys; from agents.neardup import signature; print(json.dumps(signature(sys.argv[1], 'en')))"
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


def test_rebuilt_index_gives_the_same_answers() -> None:
    texts = {"a": STORY, "b": OTHER, "c": EDITED, "d": STORY[: len(STORY) // 2]}
    stored = {key: json.loads(json.dumps(sig(text))) for key, text in texts.items()}  # as read back from a table
    live = NearDuplicateIndex()
    for key, value in stored.items():
        live.add(key, value)
    rebuilt = NearDuplicateIndex.rebuild(stored.items())
    assert len(rebuilt) == len(live) == 4
    for text in [*texts.values(), "nothing like the others at all, really"]:
        assert rebuilt.query(sig(text)) == live.query(sig(text))
    assert rebuilt.approx_bytes() == live.approx_bytes() > 0


def test_remove_and_replace() -> None:
    index = NearDuplicateIndex()
    index.add("a", sig(STORY))
    index.add("a", sig(OTHER))  # a key stores one signature
    assert len(index) == 1 and index.query(sig(STORY)) == []
    index.remove("a")
    index.remove("missing")
    assert len(index) == 0 and index.query(sig(OTHER)) == [] and index.approx_bytes() == 0


def test_results_best_first() -> None:
    index = NearDuplicateIndex(threshold=0.3)
    index.add("full", sig(STORY))
    index.add("edited", sig(EDITED))
    hits = index.query(sig(STORY))
    assert hits[0] == ("full", 1.0) and [k for k, _ in hits] == ["full", "edited"]


def test_wrong_length_signature_is_refused() -> None:
    index = NearDuplicateIndex()
    try:
        index.add("a", [1, 2, 3])
    except ValueError:
        return
    raise AssertionError("a short signature was accepted")


@settings(max_examples=200, deadline=None)
@given(text=st.text(), language=st.sampled_from(["en", "zh", "ja", "th", "de", "und", "", "zh-Hans"]))
def test_signature_never_raises(text: str, language: str) -> None:
    value = signature(text, language, num_perm=16, shingle_size=3)
    assert len(value) == 16 and all(0 <= v < 2**32 for v in value)


def test_default_bands_are_the_measured_ones() -> None:
    assert NearDuplicateIndex().bands == (32, 4)
    assert NearDuplicateIndex(0.5, 128, (64, 2)).bands == (64, 2)

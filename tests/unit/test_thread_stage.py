"""The thread stage around ``assign``: the arrival-order buffer (``agents.ordering``), and the records
``Pipeline.thread`` writes (``schemas/threads.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from agents.ordering import OrderBuffer, arrival_order
from agents.threads import ThreadIndex
from schemas.codec import encode
from schemas.records import EnrichedStory, KafkaSource
from schemas.threads import ThreadOutcome
from streams.pipeline import Pipeline
from streams.settings import Settings
from tests.unit.test_threads import ENGLISH, FRENCH, OTHER, story

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def buffer(lanes: int = 2, wait: float = 1.0) -> OrderBuffer[str]:
    return OrderBuffer(lanes=lanes, wait_seconds=wait)


def test_a_story_waits_until_every_lane_has_shown_a_later_one() -> None:
    held = buffer()
    held.add("b", (2.0,), lane=0, now=0.1)
    assert held.release(now=0.1) == []  # lane 1 may still bring something earlier
    held.add("a", (1.0,), lane=1, now=0.2)
    assert held.release(now=0.2) == ["a"]  # lane 1 is at 1.0 now: "b" (2.0) must wait for it
    held.add("c", (3.0,), lane=1, now=0.3)
    assert held.release(now=0.3) == ["b"]
    assert held.release(now=0.3) == []
    assert len(held) == 1


def test_the_order_released_is_arrival_order_whatever_the_lanes_interleaving() -> None:
    """Each lane delivers in key order (a partition read in order); the lanes interleave at will."""
    lanes = [t % 3 for t in range(12)]
    for seed in range(20):
        shuffled = sorted(range(12), key=lambda t: hash((seed, t)))
        per_lane = {lane: sorted(t for t in shuffled if lanes[t] == lane) for lane in range(3)}
        sequence = [per_lane[lanes[t]].pop(0) for t in shuffled]
        held: OrderBuffer[int] = OrderBuffer(lanes=3, wait_seconds=5.0)
        out: list[int] = []
        for step, t in enumerate(sequence):
            held.add(t, (float(t),), lanes[t], now=0.01 * step)
            out += held.release(now=0.01 * step)
        out += held.release(now=10.0)  # the lanes fall silent: the rest goes after the wait
        assert out == list(range(12)), sequence
        assert held.late == 0


def test_a_silent_lane_holds_a_story_back_only_for_the_wait_from_its_arrival() -> None:
    held = buffer(wait=1.0)
    held.add("a", (1.0,), lane=0, now=5.0)
    held.add("b", (2.0,), lane=0, now=5.5)
    assert held.release(now=5.9) == []  # lane 1 never spoke: its story may be on its way
    assert held.release(now=6.0) == ["a"]  # held 1 s
    assert held.release(now=6.4) == []
    held.add("c", (3.0,), lane=1, now=6.45)
    assert held.release(now=6.45) == ["b"]  # lane 1 is past it now
    assert held.release(now=7.44) == []
    assert held.release(now=7.5) == ["c"] and len(held) == 0


def test_a_story_later_than_the_last_released_is_counted_late_and_goes_at_once() -> None:
    held = buffer(lanes=1)
    held.add("b", (2.0,), lane=0, now=0.0)
    assert held.release(now=0.0) == ["b"]
    held.add("a", (1.0,), lane=0, now=0.1)
    assert held.release(now=0.1) == ["a"] and held.late == 1


def test_the_buffer_never_holds_more_than_its_bound() -> None:
    held: OrderBuffer[int] = OrderBuffer(lanes=2, wait_seconds=60.0, max_held=3)
    for t in range(5):
        held.add(t, (float(t),), lane=0, now=0.0)
    assert held.release(now=0.0) == [0, 1] and len(held) == 3
    assert held.clear() == [2, 3, 4] and len(held) == 0


def test_arrival_order_is_time_then_raw_coordinates() -> None:
    first = story("urn:a", ENGLISH, "en", 5.0, 9)
    second = story("urn:b", ENGLISH, "en", 5.0, 10)
    assert arrival_order(first) < arrival_order(second)
    kafka = EnrichedStory(first.item, first.enrichment)
    kafka.enrichment.source = KafkaSource("stories.raw", 2, 41)
    kafka.enrichment.idempotency_key = "stories.raw:2:41#1"
    assert arrival_order(kafka) == (5.0, "stories.raw", 2, 41, 1)


def _schema(name: str, without_item: bool = False) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    if without_item:  # the ninjs item refers to the official schemas, not at hand in a unit test
        del schema["properties"]["item"]
        schema["required"].remove("item")
    return jsonschema.Draft202012Validator(schema)


def _assign_all(stories: list[EnrichedStory], translations: str) -> list[ThreadOutcome]:
    pipeline = Pipeline(Settings(translations=translations))
    state: dict[str, Any] = {}
    index = ThreadIndex()
    return [pipeline.thread(s, state, index) for s in stories]


def test_a_translation_carries_its_thread_and_original_and_can_be_routed_to_the_duplicates() -> None:
    stories = [story("urn:en:1", ENGLISH, "en", 1.0, 1), story("urn:en:2", OTHER, "en", 2.0, 2)]
    stories.append(story("urn:fr:1", FRENCH, "fr", 3.0, 3))
    passed = _assign_all(stories, "pass")
    english, _, french = passed
    assert french.notice is None
    assert french.story.enrichment.thread.id == english.story.enrichment.thread.id
    assert french.story.enrichment.dedup.translation_of.uri == "urn:en:1"
    assert english.story.enrichment.dedup.translation_of is None
    assert french.crosses_languages and not english.crosses_languages
    assert french.summary.size == 2 and french.summary.languages == {"en": 1, "fr": 1}
    assert [m.uri for m in french.summary.members] == ["urn:en:1", "urn:fr:1"]
    assert _schema("thread_summary.schema.json").is_valid(orjson.loads(encode(french.summary)))
    enriched = orjson.loads(encode(french.story))
    assert _schema("enriched_story.schema.json", without_item=True).is_valid({"enrichment": enriched["enrichment"]})

    routed = _assign_all(stories, "duplicate")
    assert [o.notice is None for o in routed] == [True, True, False]
    notice = routed[2].notice
    assert notice.kind == "translation" and notice.duplicate_of.uri == "urn:en:1"
    assert notice.idempotency_key == french.story.enrichment.idempotency_key
    assert _schema("duplicate_notice.schema.json").is_valid(orjson.loads(encode(notice)))

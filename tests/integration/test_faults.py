"""Worker faults on the real broker, short forms of ``bench/worker_faults.py``: a rebalance storm loses and
doubles nothing; a crash loop loses nothing, hardly doubles, and every decision is the uninterrupted run's."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agents.clean import prepare
from agents.dedup import NearDedup, deduplicate
from bench.worker_faults import Outcome, make_corpus, run_scenario, table
from schemas.records import DeadLetter, DuplicateNotice, KafkaSource
from streams.client import produce
from streams.kafka_local import LocalKafka
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.faults import group_lag

pytestmark = pytest.mark.integration


def report(outcome: Outcome) -> str:
    return "\n".join(table([outcome], "at_least_once"))


def test_rebalance_storm_loses_and_doubles_nothing(kafka: LocalKafka, tmp_path: Path) -> None:
    outcome = run_scenario(
        kafka, "storm", seconds=40, interval=4, rate=10, workers=2, workdir=tmp_path / "storm", faults=4, limit=120
    )
    assert outcome.joins + outcome.leaves >= 4, report(outcome)
    assert outcome.tally.lost == 0, report(outcome)
    assert outcome.tally.doubled == 0, report(outcome)
    assert outcome.tally.decisions_equal, report(outcome)


def test_crash_loop_loses_nothing(kafka: LocalKafka, tmp_path: Path) -> None:
    outcome = run_scenario(
        kafka, "crash-loop", seconds=40, interval=8, rate=10, workers=2, workdir=tmp_path / "crash", faults=3, limit=150
    )
    assert outcome.kills >= 3, report(outcome)
    assert outcome.tally.lost == 0, report(outcome)
    assert outcome.tally.decisions_equal, report(outcome)
    # A SIGKILL leaves what was handled since the last commit to be handled again; the next owner reads
    # back what was already sent and does not send it again (streams/resends.py). Without the read-back
    # each kill repeated ~13 stories at this rate; a repeat the read-back cannot see (docs/reliability.md)
    # is tolerated, once a kill at the most. Recovery takes the session timeout (10 s) and a rebalance,
    # not Faust's default minute (with 60 s every kill stalls the output for more than 60 s).
    assert outcome.tally.doubled <= outcome.kills, report(outcome)
    assert outcome.tally.stall_seconds < 45, report(outcome)
    if os.environ.get("WIRESTREAM_FAULTS_VERBOSE"):
        print(report(outcome))


def test_the_expected_decisions_are_those_of_the_offline_pipeline() -> None:
    """What the fault runs compare with: the decisions the pipeline makes when nothing goes wrong."""
    corpus, near = make_corpus(400, "offline"), NearDedup()
    state: dict[str, object] = {}
    made = []
    for offset, payload in enumerate(corpus.payloads):
        [story] = prepare(payload, None, KafkaSource("raw", 0, offset), 1000.0 + offset, 2**21)
        assert not isinstance(story, DeadLetter)
        outcome = deduplicate(story, state, 7 * 86400, near)
        assert isinstance(outcome, DuplicateNotice) or outcome.dedup is not None
        made.append(outcome.kind if isinstance(outcome, DuplicateNotice) else outcome.dedup.status)
    assert made == corpus.expected
    assert {"new", "update", "exact"} <= set(made)


def test_group_lag_counts_only_what_the_group_has_not_committed(settings: Settings) -> None:
    """The settled check of the fault runs: a partition the group never committed owes its records
    (Kafka reports its offset as -1), not one more, so a finished run reads 0."""
    asyncio.run(ensure_topics(settings))
    assert _lag(settings) == 0
    asyncio.run(produce(settings.bootstrap_servers, settings.topic_raw, [b'{"uri": "urn:test:lag"}']))
    assert _lag(settings) == 1
    # A story held by the thread stage is owed too, or a run would be called settled while it waits.
    asyncio.run(produce(settings.bootstrap_servers, settings.topic_tagged, [b'{"uri": "urn:test:lag"}']))
    assert _lag(settings) == 2


def _lag(settings: Settings) -> int:
    """``group_lag`` once the group coordinator answers (-1 until then: a fresh broker takes a moment)."""
    deadline = time.monotonic() + 60
    while (lag := asyncio.run(group_lag(settings))) == -1 and time.monotonic() < deadline:
        time.sleep(1)
    return lag

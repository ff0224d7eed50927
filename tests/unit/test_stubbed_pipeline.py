"""The benchmark's stubbed pipeline (``bench/launcher.py stubbed``) runs a story through all four
stages with identity functions of the real signatures: a renamed or re-shaped stage breaks this test
rather than the benchmark's figures."""

from __future__ import annotations

import orjson

from schemas.records import DeadLetter, EnrichedStory, FileSource
from streams.settings import Settings
from tests.bench_scripts import load_bench_script


def test_the_stubbed_pipeline_runs_every_stage_as_identity() -> None:
    launcher = load_bench_script("launcher")
    pipeline = launcher._stubbed_pipeline(Settings(entities_enabled=False))
    assert pipeline.warm_up() == {}
    payload = orjson.dumps({"uri": "urn:test:stub", "version": "2", "headline": "A headline", "body_text": "A body."})
    [story] = pipeline.prepare(payload, None, FileSource("stub.jsonl", 1), 1000.0)
    assert not isinstance(story, DeadLetter)
    assert story.clean.body == "A body."
    passed = pipeline.deduplicate(story, {}, pipeline.near_index())
    assert not isinstance(passed, DeadLetter) and passed is story and story.dedup is not None
    [tagged] = pipeline.enrich([story])
    assert isinstance(tagged, EnrichedStory)
    state: dict[str, object] = {}
    outcome = pipeline.thread(tagged, state, pipeline.thread_index())
    thread = outcome.story.enrichment.thread
    assert thread is not None and thread.first.uri == "urn:test:stub" and thread.size == 1
    assert state == {} and outcome.summary is None, "identity: nothing remembered, no summary sent"

"""Cost of the thread stage (``agents/threads.py``): CPU a story and memory a story at 100k in the window.

Targets (issue #18): ≤ 2 ms CPU a story with 100k stories in the window, ≤ 2 KiB a story of memory.

1. ``evidence`` and ``sentence_count`` on the sample stories (``samples/stories.jsonl``), beside
   stage 1's MinHash signature (``agents.dedup.text_signature``) on the same texts as the baseline
   of this machine and load.
2. ``assign`` on synthetic evidence: ``--stories`` stories (default 100,000) are assigned one by one
   (ten languages; per story the 64-word sample of 150 distinct words drawn from a Zipf law over
   200,000 words of its language, 8 numbers, 15 names, 2 linked entities from Zipf laws over their own
   vocabularies), then ``--measure`` more are timed (process CPU time) with the window full.
3. Memory: the index is rebuilt from the state under ``tracemalloc`` (what a worker holds in memory;
   the state itself is the changelog-backed table, on disk with RocksDB), beside dedup's LSH index
   of as many signatures built in the same run.

``--encoder`` measures the stage with the opt-in encoder (``agents.multilingual``, the
``multilingual`` extra) beside it: the encoder on the sample stories in step 1, and in steps 2 and 3
each synthetic story with a random unit vector of its own (the search costs the same whatever the
vectors hold).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_threads.py [--stories 100000] [--measure 2000] [--encoder]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from typing import Any

import numpy as np
from _repo import REPO

from agents.formats import parse_payload
from agents.multilingual import DIMENSIONS, ENCODED_CHARACTERS, VectorStore, load_encoder, quantised
from agents.near_duplicates.signatures import (
    NUM_PERM,
    LshIndex,
    text_signature,
)
from agents.threads import (
    KIND_ENTITY,
    KIND_NAME,
    KIND_NUMBER,
    KIND_WORD,
    ThreadIndex,
    ThreadSettings,
    assign,
    evidence,
    sentence_count,
)
from schemas.records import DedupTag, EnrichedStory, Enrichment, FileSource, LanguageTag

LANGUAGES = ["en", "de", "fr", "es", "it", "pl", "ru", "zh", "ar", "tr"]


def sample_texts() -> list[tuple[str, str]]:
    """Headline and body of each sample story that parses (the file also holds broken ones)."""
    texts = []
    for line in (REPO / "samples" / "stories.jsonl").read_bytes().splitlines():
        try:
            stories = parse_payload(line)
        except Exception:  # noqa: BLE001 - the samples include malformed payloads on purpose
            continue
        texts.extend((f"{s.headline or ''}\n\n{s.body or ''}", s.language or "en") for s in stories if s.body)
    return texts


def per_call(function: Any, texts: list[tuple[str, str]], rounds: int) -> float:
    started = time.process_time()
    for _ in range(rounds):
        for text, language in texts:
            function(text, language)
    return (time.process_time() - started) / (rounds * len(texts))


def text_evidence(text: str, language: str) -> tuple[list[int], int]:
    """What ``assign`` reads from a story's text: its keys and its count of sentences."""
    return evidence(text, language), sentence_count(text)


def synthetic_keys(rng: np.random.Generator, count: int) -> list[list[int]]:
    def zipf(size: int, vocabulary: int) -> np.ndarray[Any, Any]:
        return (rng.zipf(1.1, size) - 1) % vocabulary

    stories = []
    for position in range(count):
        language = position % len(LANGUAGES)
        words = np.unique(zipf(400, 200_000))[:150] + language * 200_000
        keys = {(KIND_WORD << 62) | int(w) for w in words}
        keys = set(sorted(keys, key=lambda k: (k * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFF)[:64])
        keys |= {(KIND_NUMBER << 62) | int(n) for n in zipf(8, 1_000_000)}
        keys |= {(KIND_NAME << 62) | int(n) for n in zipf(15, 300_000)}
        keys |= {(KIND_ENTITY << 62) | int(n) for n in zipf(2, 50_000)}
        stories.append(sorted(keys))
    return stories


def shell(position: int) -> EnrichedStory:
    enrichment = Enrichment(
        language=LanguageTag(LANGUAGES[position % len(LANGUAGES)], 1.0),
        entities=[],
        merged_entities=[],
        entities_model=None,
        entities_tagged_chars=None,
        dedup=DedupTag("", "new"),
        cleaning={},
        source=FileSource("bench", position),
        idempotency_key=f"{FileSource('bench', position).key}#0",
        received_at=float(position),
        timings={},
        pipeline_version="bench",
    )
    return EnrichedStory(item={"uri": f"urn:bench:{position}", "version": "1"}, enrichment=enrichment)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--measure", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--encoder", action="store_true", help="with the opt-in encoder (use-multilingual-v3)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")

    texts = sample_texts()
    rounds = max(1, 2000 // len(texts))
    cost_evidence = per_call(text_evidence, texts, rounds)
    cost_signature = per_call(text_signature, texts, rounds)
    print(f"\n1. evidence() and sentence_count(): {1000 * cost_evidence:.3f} ms a story", end=" ")
    print(f"({len(texts)} sample stories × {rounds})")
    print(f"   baseline, stage 1's text_signature() on the same texts: {1000 * cost_signature:.3f} ms a story")
    vector_of: Any = None
    if args.encoder:
        encoder = load_encoder("use-multilingual-v3")
        assert encoder is not None
        cost_encoder = per_call(lambda text, _language: encoder(text), texts, 1)
        cut = f"cut to {ENCODED_CHARACTERS:,} characters"
        print(f"   the encoder on the same texts ({cut}): {1000 * cost_encoder:.3f} ms a story")
        units = np.random.default_rng(args.seed + 1).standard_normal((args.stories + args.measure, DIMENSIONS))
        vectors = [quantised(row) for row in units]
        del units

        def vector_of(position: int) -> Any:
            return lambda _text: vectors[position]

    rng = np.random.default_rng(args.seed)
    keys = synthetic_keys(rng, args.stories + args.measure)
    settings = ThreadSettings(window_seconds=float(args.stories + args.measure + 1))
    state: dict[str, Any] = {}
    index = ThreadIndex(vectors=VectorStore() if args.encoder else None)
    started = time.process_time()
    for position in range(args.stories):
        encoder_of = None if vector_of is None else vector_of(position)
        assign(shell(position), state, settings, index, keys[position], encoder_of)
        if position and position % 20_000 == 0:
            print(f"   filled {position} ({time.process_time() - started:.0f} s CPU)", file=sys.stderr)
    fill = (time.process_time() - started) / args.stories
    started = time.process_time()
    joined = 0
    for position in range(args.stories, args.stories + args.measure):
        encoder_of = None if vector_of is None else vector_of(position)
        decision = assign(shell(position), state, settings, index, keys[position], encoder_of)
        joined += decision.thread.size > 1
    measured = (time.process_time() - started) / args.measure
    print(f"\n2. assign() with {len(index):,} stories in the window: {1000 * measured:.3f} ms CPU a story")
    print(f"   (mean over the fill to {args.stories:,}: {1000 * fill:.3f} ms; {joined} timed stories joined a thread)")

    items = list(state.items())
    del index
    tracemalloc.start()
    rebuilt = ThreadIndex(vectors=VectorStore() if args.encoder else None)
    rebuilt.rebuild(items)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stories = len(rebuilt)
    sigs = rng.integers(0, 2**32, size=(stories, NUM_PERM), dtype=np.uint64).astype(np.uint32)
    lsh = LshIndex.build(list(range(stories)), sigs, [0.0] * stories, 0.5, NUM_PERM, None)
    per_story, peak_per_story = current / stories, peak / stories
    print(f"\n3. thread index at {stories:,}, tracemalloc: {per_story:,.0f} B a story (peak {peak_per_story:,.0f} B)")
    print(f"   its own estimate (ThreadIndex.nbytes): {rebuilt.nbytes() / stories:,.0f} B a story")
    print(f"   baseline, dedup's LshIndex of {stories:,} signatures: {lsh.nbytes() / stories:,.0f} B a story")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Dedup stage speed and memory at scale: prints numbers, asserts nothing.

1. **Index memory and build**: ``LshIndex.build`` of ``--stories`` (default 1,000,000) synthetic
   signatures (random 32-bit slots: distinct texts' signatures look like that), measured with
   tracemalloc (numpy reports its buffers to it): build time, bytes per stored story, peak.
2. **Rebuild from the table**: ``NearDedup.rebuild`` from the same number of journal entries as the
   table holds them (dicts with the base64 signature): the work a worker does after an assignment.
3. **Throughput**: ``deduplicate()`` on one core with the signatures precomputed (as stage 1 sends
   them), against that index of 1M stories in the window: a stream of new stories, near copies of
   indexed ones, exact copies, re-sent uris and updates. Then the same with expiry at steady state
   (every new story pushes an old one out of the window, so each call also deletes).
4. **Baseline**, same run: datasketch's ``MinHashLSH`` with ``LeanMinHash`` (the index this replaced)
   at ``--baseline`` stories (default 50,000): insert, query, bytes per story.

Usage: ``OMP_NUM_THREADS=1 python bench/bench_dedup.py [--stories N] [--stream N] [--baseline N]``
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from typing import Any

import _repo  # noqa: F401 (puts the checkout on sys.path)
import numpy as np

from agents.dedup import NearDedup, deduplicate
from agents.near_duplicates.signatures import (
    NUM_PERM,
    SEED,
    THRESHOLD,
    LshIndex,
    choose_bands,
    encode_signature,
    text_signature,
)
from schemas.records import (
    CleanText,
    KafkaSource,
    LanguageTag,
    RawStory,
    StoryInFlight,
    TextSignature,
)

WEEK = 7 * 24 * 3600.0


def rss_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def synthetic(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, size=(n, NUM_PERM), dtype=np.uint64).astype(np.uint32)


def perturb(sig: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A near copy: ``share`` of the slots changed (estimated similarity ≈ 1 - share)."""
    out = sig.copy()
    changed = rng.random(NUM_PERM) < share
    out[changed] = rng.integers(0, 2**32, size=int(changed.sum()), dtype=np.uint64).astype(np.uint32)
    return out


def measure_build(sigs: np.ndarray) -> LshIndex:
    n = len(sigs)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    index = LshIndex.build(np.arange(n), sigs, np.full(n, 1000.0))
    seconds = time.perf_counter() - started
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    held = after - before
    print(
        f"index build of {n:,} signatures (bands×rows {index.bands[0]}×{index.bands[1]}): {seconds:.2f} s; "
        f"held {held / n:.0f} B a story (tracemalloc), nbytes() {index.nbytes() / n:.0f} B a story; "
        f"peak while building {(peak - before) / n:.0f} B a story"
    )
    return index


def measure_adds(sigs: np.ndarray) -> None:
    """Timed without tracemalloc (it slows every small allocation); memory from ``nbytes()``."""
    n = len(sigs)
    gc.collect()
    index = LshIndex()
    started = time.perf_counter()
    for i in range(n):
        index.add(i, sigs[i], 1000.0)
    seconds = time.perf_counter() - started
    print(
        f"index grown by add() to {n:,}: {seconds / n * 1e6:.1f} µs an insert (merges included); "
        f"nbytes() {index.nbytes() / n:.0f} B a story, {len(index._runs)} sorted runs"
    )


def measure_rebuild(sigs: np.ndarray) -> None:
    n = len(sigs)
    items = [
        (f"n:en:{i}", {"at": 1000.0, "m": f"raw:0:{i}#0", "u": f"urn:s:{i}", "v": "1", "f": f"{i:032x}", "s": s})
        for i, s in enumerate(encode_signature(row) for row in sigs)
    ]
    near = NearDedup()
    started = time.perf_counter()
    near.rebuild(items)
    seconds = time.perf_counter() - started
    print(
        f"NearDedup.rebuild from {n:,} journal entries (base64 signatures, as in the table): {seconds:.2f} s "
        f"({seconds / n * 1e6:.1f} µs a story)"
    )


def story(i: int, uri: str, version: str | None, sig: TextSignature, at: float) -> StoryInFlight:
    return StoryInFlight(
        story=RawStory(uri=uri, version=version, headline="H", body="-"),
        source=KafkaSource("stories.raw", 0, i),
        item_index=0,
        received_at=at,
        clean=CleanText(headline="H", body="-"),
        language=LanguageTag("en", 0.99),
        signature=sig,
    )


def stream(index_sigs: np.ndarray, count: int, seed: int, start_at: float, step: float) -> list[StoryInFlight]:
    """New stories (70 %), near copies of indexed ones (15 %), exact copies (5 %), re-sent uris
    (5 %) and updates (5 %), with their signatures precomputed."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    scheme = NearDedup().scheme
    out: list[StoryInFlight] = []
    fresh = synthetic(count, seed + 1)
    for i in range(count):
        at = start_at + i * step
        roll = pick.random()
        if roll < 0.15:
            j = pick.randrange(len(index_sigs))
            sig = TextSignature(scheme, f"near{i:028x}", encode_signature(perturb(index_sigs[j], 0.2, rng)))
            out.append(story(i, f"urn:near:{i}", "1", sig, at))
            continue
        sig = TextSignature(scheme, f"{i:032x}", encode_signature(fresh[i]))
        if roll < 0.20 and out:
            earlier = out[pick.randrange(len(out))]
            out.append(story(i, f"urn:copy:{i}", "1", earlier.signature or sig, at))
        elif roll < 0.25 and out:
            earlier = out[pick.randrange(len(out))]
            out.append(story(i, earlier.story.uri, earlier.story.version, sig, at))
        elif roll < 0.30 and out:
            earlier = out[pick.randrange(len(out))]
            out.append(story(i, earlier.story.uri, str(int(earlier.story.version or "1") + 1), sig, at))
        else:
            out.append(story(i, f"urn:new:{i}", "1", sig, at))
    return out


def prefilled(index_sigs: np.ndarray, at: float) -> tuple[dict[str, Any], NearDedup]:
    """A state with a journal entry per indexed story and a NearDedup whose index holds them.
    Only the journal entries are written (what a near hit reads); the u:/f:/m: keys of the 1M
    would only add dict entries the stream never looks up."""
    near = NearDedup()
    lang = near.language("en")
    n = len(index_sigs)
    lang.index = LshIndex.build(np.arange(n), index_sigs, np.full(n, at))
    for _ in range(n):
        lang.push(at)
    state: dict[str, Any] = {f"n:en:{i}": {"at": at, "m": f"old:{i}", "u": f"urn:old:{i}", "v": "1"} for i in range(n)}
    return state, near


def measure_throughput(index_sigs: np.ndarray, count: int, expire: bool) -> None:
    at0 = 1000.0
    state, near = prefilled(index_sigs, at0)
    step = 1e-3
    if expire:
        # the indexed stories are spread so that each new story pushes about one out of the window
        lang = near.language("en")
        n = len(index_sigs)
        times = np.arange(n, dtype=np.float64) * step
        lang.index = LshIndex.build(np.arange(n), index_sigs, times)
        for i in range(n):
            lang.times[i] = times[i]
        window = n * step
        start_at = n * step
    else:
        window = WEEK
        start_at = at0 + 1.0
    stories = stream(index_sigs, count, 7, start_at, step)
    kinds: dict[str, int] = {}
    gc.collect()
    started = time.perf_counter()
    for item in stories:
        outcome = deduplicate(item, state, window, near)
        kind = getattr(outcome, "kind", None) or (outcome.dedup.status if outcome.dedup else "?")  # type: ignore[union-attr]
        kinds[kind] = kinds.get(kind, 0) + 1
    seconds = time.perf_counter() - started
    label = "with expiry at steady state" if expire else "no expiry"
    print(
        f"deduplicate() on {count:,} stories, {len(near.language('en').index):,} in the index, {label}: "
        f"{count / seconds:,.0f} stories/s ({seconds / count * 1e6:.0f} µs a story); decisions {kinds}"
    )


def measure_baseline(n: int, queries: np.ndarray) -> None:
    from datasketch import LeanMinHash, MinHashLSH

    sigs = synthetic(n, 99)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=choose_bands(THRESHOLD, NUM_PERM))
    hashes = {}
    started = time.perf_counter()
    for i in range(n):
        minhash = LeanMinHash(seed=SEED, hashvalues=sigs[i], scheme="affine32")
        key = f"urn:story:{i:08d}"
        lsh.insert(key, minhash, check_duplication=False)
        hashes[key] = minhash
    insert = (time.perf_counter() - started) / n
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    for q in queries:
        minhash = LeanMinHash(seed=SEED, hashvalues=q, scheme="affine32")
        [key for key in lsh.query(minhash) if minhash.jaccard(hashes[key]) >= THRESHOLD]
    query = (time.perf_counter() - started) / len(queries)
    print(
        f"baseline datasketch MinHashLSH at {n:,}: insert {insert * 1e6:.0f} µs, query {query * 1e6:.0f} µs, "
        f"held {(after - before) / n:,.0f} B a story (tracemalloc)"
    )


def measure_queries(index: LshIndex, queries: np.ndarray) -> None:
    started = time.perf_counter()
    found = sum(bool(index.query(q)) for q in queries)
    seconds = (time.perf_counter() - started) / len(queries)
    print(f"LshIndex query at {len(index):,}: {seconds * 1e6:.0f} µs ({found}/{len(queries)} near copies found)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=1_000_000, help="stories in the index")
    parser.add_argument("--stream", type=int, default=50_000, help="stories run through deduplicate()")
    parser.add_argument("--adds", type=int, default=200_000, help="stories inserted one by one")
    parser.add_argument("--baseline", type=int, default=50_000, help="stories in the datasketch baseline")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pid {os.getpid()}, one thread")
    real = text_signature("The harbour authority said on Monday that the ferry terminal will close.", "en")
    print(f"a real signature, as carried on stories.clean: {len(real.minhash or '')} base64 characters")

    sigs = synthetic(args.stories, 1)
    rng = np.random.default_rng(5)
    queries = np.array([perturb(sigs[i], 0.2, rng) for i in rng.integers(0, len(sigs), 2000)])
    rss0 = rss_bytes()
    index = measure_build(sigs)
    print(f"process RSS grew {(rss_bytes() - rss0) / args.stories:.0f} B a story while building")
    measure_queries(index, queries)
    del index
    gc.collect()
    measure_adds(sigs[: args.adds])
    measure_rebuild(sigs)
    gc.collect()
    measure_throughput(sigs, args.stream, expire=False)
    gc.collect()
    measure_throughput(sigs, args.stream, expire=True)
    gc.collect()
    measure_baseline(args.baseline, queries[:500])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Offline, per stage: stories/s and CPU ms per story, ours beside the bare library on the same inputs.

For each stage, every input is run through our stage function and through the library it wraps
(the "floor"), interleaved item by item so the noise of a shared machine hits both alike. CPU time
is the process's (``time.process_time``); stories/s is items over wall time. The overhead ratio is
our CPU time over the floor's (target ≤ 1.25).

| stage | ours | floor |
|---|---|---|
| validate | ``parse_payload`` (ninjs to RawStory) | ``orjson.loads`` |
| clean, pages | ``clean_story`` | ``trafilatura.extract(fast=True)`` |
| clean, fragments | ``clean_story`` | lxml ``fragment_fromstring(...).text_content()`` |
| clean, plain text | ``clean_story`` | none (our own repair and boilerplate rules; no library) |
| language | ``tag_language`` | one fastText (lite) call on the same sample text |
| fingerprint | ``agents.near_duplicates.signatures.fingerprint`` | ``hashlib.blake2b`` of the body |
| MinHash signature | ``agents.near_duplicates.signatures.signature`` | rensa ``RMinHash.update(body.split())`` |
| near-dup index | ``LshIndex`` query + add | datasketch ``MinHashLSH`` query + insert |
| dedup | ``Pipeline.deduplicate`` on a dict, in corpus order | blake2b + one dict lookup and insert |
| entities | ``Pipeline.enrich``: 1 story a call (the worker) and batches of 16 | spaCy ``nlp.pipe`` on the same texts |
| serialisation | the three hops' ``encode`` / ``from_dict(decode)`` | ``orjson.dumps`` / ``loads`` of the same |

Usage: ``python bench/stages.py [--n 800] [--entities 300] [--corpus FILE] [--json OUT]``
(a corpus is generated with ``bench/corpus.py`` unless ``--corpus`` names a JSON Lines file).
``--code-root DIR`` times the stage code of another checkout (``bench/run_all.py --base``: a git
worktree of an earlier revision) with this harness and these floors; ``--serve`` times it chunk by
chunk on request, so that two revisions run interleaved (see :func:`serve`).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
BENCH = Path(__file__).resolve().parent


def _code_root(argv: list[str]) -> Path:
    """The checkout whose stages are timed: ``--code-root DIR``, else this one (read before the imports)."""
    if "--code-root" in argv[:-1]:
        return Path(argv[argv.index("--code-root") + 1]).resolve()
    return BENCH.parent


CODE = _code_root(sys.argv)
sys.path.insert(0, str(CODE))
sys.path.insert(0, str(BENCH))

import orjson  # noqa: E402

from agents import language  # noqa: E402
from agents.clean import clean_story, tag_language  # noqa: E402
from agents.formats import parse_payload  # noqa: E402
from schemas.codec import decode, encode  # noqa: E402
from schemas.records import KafkaSource, RawStory, StoryInFlight  # noqa: E402
from streams.pipeline import Pipeline  # noqa: E402
from streams.settings import Settings  # noqa: E402

try:
    from agents.near_duplicates import signatures as neardup
except ImportError:  # a --code-root of before the move of agents/ libraries into subpackages
    from agents import neardup  # type: ignore[no-redef]

TARGET_RATIO = 1.25


@dataclass(slots=True)
class Row:
    stage: str
    items: int
    ours_cpu_ms: float
    ours_per_s: float
    floor: str
    floor_cpu_ms: float | None
    floor_per_s: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.floor_cpu_ms:
            return None
        return self.ours_cpu_ms / self.floor_cpu_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "items": self.items,
            "ours_cpu_ms_per_story": round(self.ours_cpu_ms, 4),
            "ours_stories_per_s": round(self.ours_per_s, 1),
            "floor": self.floor,
            "floor_cpu_ms_per_story": None if self.floor_cpu_ms is None else round(self.floor_cpu_ms, 4),
            "floor_stories_per_s": None if self.floor_per_s is None else round(self.floor_per_s, 1),
            "overhead_ratio": None if self.ratio is None else round(self.ratio, 3),
            "target_ratio": TARGET_RATIO,
            "note": self.note,
        }


class Timer:
    """Accumulates CPU and wall time of the calls it wraps."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.calls = 0

    def run(self, fn: Callable[[], Any]) -> Any:
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        self.wall += time.perf_counter() - w0
        self.cpu += time.process_time() - c0
        self.calls += 1
        return result

    def ms(self, items: int | None = None) -> float:
        return 1000 * self.cpu / max(1, items if items is not None else self.calls)

    def per_s(self, items: int | None = None) -> float:
        return (items if items is not None else self.calls) / self.wall if self.wall else 0.0


@dataclass(slots=True)
class Case:
    """One stage's inputs, our function and the floor's, timed chunk by chunk (:meth:`run`)."""

    stage: str
    items: Sequence[Any]
    ours: Callable[[Any], Any]
    floor: Callable[[Any], Any] | None
    floor_name: str
    note: str = ""
    warm: bool = True  # run the first items once untimed (not for stateful cases: it would change them)
    stories_per_item: float = 1.0  # a batch of stories per item: the row is per story
    ours_timer: Timer = field(default_factory=Timer)
    floor_timer: Timer = field(default_factory=Timer)

    def run(self, start: int = 0, stop: int | None = None) -> None:
        """Time ``ours`` and ``floor`` on ``items[start:stop]``, interleaved (floor first on even items)."""
        if self.warm and start == 0:
            for item in self.items[:3]:  # warm caches and lazy imports
                self.ours(item)
                if self.floor is not None:
                    self.floor(item)
        gc.collect()
        stop = len(self.items) if stop is None else min(stop, len(self.items))
        for index in range(start, stop):
            item = self.items[index]
            if self.floor is not None and index % 2 == 0:
                self.floor_timer.run(partial(self.floor, item))
            self.ours_timer.run(partial(self.ours, item))
            if self.floor is not None and index % 2 == 1:
                self.floor_timer.run(partial(self.floor, item))

    def row(self) -> Row:
        stories = self.ours_timer.calls * self.stories_per_item
        floor = self.floor is not None
        return Row(
            self.stage,
            round(stories),
            self.ours_timer.ms(round(stories)),
            self.ours_timer.per_s(round(stories)),
            self.floor_name,
            self.floor_timer.ms(round(stories)) if floor else None,
            self.floor_timer.per_s(round(stories)) if floor else None,
            self.note,
        )


def _body_kind(story: RawStory) -> str:
    from agents.cleaning.html import looks_like_markup, looks_like_page

    body = story.body or ""
    declared = (story.body_type or "").lower()
    if "<" in body and ("html" in declared or looks_like_markup(body)):
        return "page" if looks_like_page(body) else "fragment"
    return "text"


CLEAN_CASES = ("clean: whole pages", "clean: HTML fragments", "clean: plain text")


@dataclass(slots=True)
class Bench:
    """Every stage's :class:`Case`, built from the corpus with the code under test (stage by stage:
    each stage's inputs are the previous stage's outputs), and what the results need besides."""

    cases: list[Case]
    records: int
    stories: int
    passed: int
    warm: dict[str, float]
    entity_info: dict[str, Any]
    started: float

    def case(self, stage: str) -> Case:
        return next(c for c in self.cases if c.stage == stage)

    def result(self) -> dict[str, Any]:
        """Rows, whole-record figures and the facts behind them (``--json``'s content)."""
        rows = [c.row() for c in self.cases]
        clean_rows = [r for r in rows if r.stage in CLEAN_CASES]
        total_items = sum(r.items for r in clean_rows)
        ours_ms = sum(r.ours_cpu_ms * r.items for r in clean_rows) / max(1, total_items)
        floor_ms = sum((r.floor_cpu_ms or 0.0) * r.items for r in clean_rows) / max(1, total_items)
        mix = Row(
            "clean: all (corpus mix)",
            total_items,
            ours_ms,
            1000 / ours_ms if ours_ms else 0.0,
            "library part only",
            floor_ms,
            1000 / floor_ms if floor_ms else None,
            "plain text counts 0 in the floor",
        )
        at = max((i for i, r in enumerate(rows) if r.stage in CLEAN_CASES), default=len(rows) - 1) + 1
        rows.insert(at, mix)
        return {
            "rows": [r.as_dict() for r in rows],
            "per_story": _per_story(rows, self.entity_info, self.records, self.stories, self.passed),
            "warm_up_seconds": {k: round(v, 2) for k, v in self.warm.items() if not k.startswith("ner-")},
            "entities": self.entity_info,
            "seconds": round(time.perf_counter() - self.started, 1),
        }


def build(payloads: list[bytes], entity_limit: int, progress: Callable[[str], None]) -> Bench:
    """The cases of every stage for ``payloads`` (``entity_limit`` 0: no entity stage, no NER model)."""
    from lxml import html as lxml_html

    started = time.perf_counter()
    # The worker's pipeline, with a week's window (the whole corpus is one window) and no freeze.
    settings = Settings(dedup_window_seconds=7 * 86400.0, entities_enabled=entity_limit > 0, gc_freeze=False)
    pipeline = Pipeline(settings)
    warm = pipeline.warm_up()
    cases: list[Case] = []

    # validate -------------------------------------------------------------------------------
    progress(f"validate: {len(payloads)} payloads")

    def parse(payload: bytes) -> list[RawStory]:
        try:
            return parse_payload(payload, None)
        except Exception:  # noqa: BLE001 - bad records are part of the corpus
            return []

    def loads(payload: bytes) -> Any:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None

    cases.append(Case("validate (parse ninjs)", payloads, parse, loads, "orjson.loads"))
    parsed = [story for payload in payloads for story in parse(payload)]

    # clean ------------------------------------------------------------------------------------
    by_kind: dict[str, list[RawStory]] = {"page": [], "fragment": [], "text": []}
    for story in parsed:
        if story.body is not None:
            by_kind[_body_kind(story)].append(story)
    progress(f"clean: {', '.join(f'{len(v)} {k}s' for k, v in by_kind.items())}")

    def trafilatura_alone(story: RawStory) -> Any:
        import trafilatura

        return trafilatura.extract(
            story.body, fast=True, include_comments=False, include_tables=True, output_format="txt"
        )

    def lxml_alone(story: RawStory) -> Any:
        return lxml_html.fragment_fromstring(story.body, create_parent="div").text_content()

    def clean_or_none(story: RawStory) -> Any:
        try:
            return clean_story(story)
        except Exception:  # noqa: BLE001 - EmptyAfterCleaning: a dead letter in the pipeline
            return None

    pages, fragments, texts = CLEAN_CASES
    cases.append(Case(pages, by_kind["page"], clean_or_none, trafilatura_alone, "trafilatura.extract(fast)"))
    cases.append(Case(fragments, by_kind["fragment"], clean_or_none, lxml_alone, "lxml text_content"))
    note = "our own repair + boilerplate rules: no library floor"
    cases.append(Case(texts, by_kind["text"], clean_or_none, None, "none (no library)", note))
    cleaned: list[tuple[RawStory, Any]] = []
    for story in parsed:
        result = clean_or_none(story)
        if result is not None:
            cleaned.append((story, result))

    # language ---------------------------------------------------------------------------------
    progress(f"language: {len(cleaned)} stories")
    detectors = language._detectors()
    samples = {id(p): language.build_sample(p[1].headline, p[1].body) for p in cleaned}

    def fasttext_on_sample(pair: tuple[RawStory, Any]) -> Any:
        sample = samples[id(pair)]
        return detectors.fasttext.detect(sample, model="lite", k=1) if sample else None

    def ours_language(pair: tuple[RawStory, Any]) -> Any:
        return tag_language(pair[0], pair[1])

    cases.append(Case("language", cleaned, ours_language, fasttext_on_sample, "fastText lite, 1 call on our sample"))
    tags = [tag_language(s, c) for s, c in cleaned]

    # fingerprint, MinHash, near-dup index -----------------------------------------------------
    progress("fingerprint, MinHash")
    bodies = [c.body for _, c in cleaned]

    def blake2b(body: str) -> str:
        return hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest()

    cases.append(Case("fingerprint (exact)", bodies, neardup.fingerprint, blake2b, "hashlib.blake2b"))
    from rensa import RMinHash

    pairs = [(c.body, t.code) for (_, c), t in zip(cleaned, tags, strict=True)]

    def rensa_alone(pair: tuple[str, str]) -> Any:
        mh = RMinHash(neardup.NUM_PERM, neardup.SEED)
        mh.update(pair[0].split())
        return mh.digest()

    def blake_and_rensa(pair: tuple[str, str]) -> Any:
        return blake2b(pair[0]), rensa_alone(pair)

    def ours_signature(pair: tuple[str, str]) -> Any:
        return neardup.text_signature(pair[0], pair[1])

    name = "blake2b + rensa RMinHash(body.split())"
    cases.append(Case("signature (fingerprint + MinHash)", pairs, ours_signature, blake_and_rensa, name))
    cases.append(_neardup_index([neardup.signature(b, code) for b, code in pairs]))

    # dedup ------------------------------------------------------------------------------------
    progress("dedup")
    # The stories as stage 1 hands them to dedup (with whatever it computes for dedup).
    stories: list[StoryInFlight] = []
    for i, payload in enumerate(payloads):
        for outcome in pipeline.prepare(payload, None, KafkaSource("stories.raw", 0, i), 1_790_000_000.0 + i):
            if isinstance(outcome, StoryInFlight):
                stories.append(outcome)

    def fresh(story: StoryInFlight) -> StoryInFlight:  # a copy as the next hop decodes it: dedup mutates it
        return StoryInFlight.from_dict(decode(encode(story)))

    dedup_inputs = [fresh(s) for s in stories]
    state: dict[str, Any] = {}
    near = pipeline.near_index()
    floor_state: dict[str, Any] = {}

    def dedup_floor(story: StoryInFlight) -> Any:
        fp = blake2b(story.clean.body)
        seen = floor_state.get(fp)
        if seen is None:
            floor_state[fp] = story.story.uri
        return seen

    def ours_dedup(story: StoryInFlight) -> Any:
        return pipeline.deduplicate(story, state, near)

    again, again_near = {}, pipeline.near_index()
    outcomes = [pipeline.deduplicate(fresh(s), again, again_near) for s in stories]
    passed = [o for o in outcomes if isinstance(o, StoryInFlight)]
    kinds: dict[str, int] = {}
    for o in outcomes:
        kind = "pass" if isinstance(o, StoryInFlight) else getattr(o, "kind", "?")
        kinds[kind] = kinds.get(kind, 0) + 1
    note = f"near-dup on; outcomes {kinds}"
    cases.append(
        Case("dedup (decision + table)", dedup_inputs[3:], ours_dedup, dedup_floor, "blake2b + dict get/set", note)
    )

    # entities ---------------------------------------------------------------------------------
    entity_info: dict[str, Any] = {}
    if entity_limit > 0:
        entity_cases, entity_info = _entities(pipeline, warm, passed, entity_limit, progress)
        cases.extend(entity_cases)

    # serialisation ----------------------------------------------------------------------------
    progress("serialisation")
    untagged = Pipeline(replace(settings, entities_enabled=False))
    hops = [(flight, untagged.enrich([fresh(flight)])[0]) for flight in passed[: max(200, entity_limit)]]

    def ours_serialise(index: int) -> Any:
        story, enriched = hops[index]
        first = StoryInFlight.from_dict(decode(encode(story)))  # clean -> dedup
        second = StoryInFlight.from_dict(decode(encode(first)))  # dedup -> entities
        return encode(enriched), second

    plain = [(orjson.loads(encode(s)), orjson.loads(encode(e))) for s, e in hops]

    def floor_serialise(index: int) -> Any:
        story, enriched = plain[index]
        first = orjson.loads(orjson.dumps(story))
        second = orjson.loads(orjson.dumps(first))
        return orjson.dumps(enriched), second

    name = "orjson dumps/loads of the same dicts"
    cases.append(Case("serialisation (3 hops)", list(range(len(hops))), ours_serialise, floor_serialise, name))
    return Bench(cases, len(payloads), len(stories), len(passed), warm, entity_info, started)


def run(payloads: list[bytes], entity_limit: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Every case of :func:`build`, one after the other; the results."""
    bench = build(payloads, entity_limit, progress)
    for case in bench.cases:
        progress(f"timing {case.stage}: {len(case.items)} items")
        case.run()
    return bench.result()


def serve(payloads: list[bytes], entity_limit: int, progress: Callable[[str], None]) -> int:
    """``--serve``: build the cases, then time what the driver asks for (``bench/run_all.py`` runs the
    code of two revisions side by side this way, chunk by chunk, so the machine's load hits both alike).

    Protocol, one JSON object a line: out ``{"cases": [[stage, items], ...]}`` once ready; in
    ``{"run": stage, "start": i, "stop": j}`` → out ``{"ok": true}``; in ``{"result": true}`` → out the
    results (as ``--json`` writes them), then exit. Anything the code under test prints goes to stderr.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)

    def say(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False) + "\n")
        channel.flush()

    bench = build(payloads, entity_limit, progress)
    say({"cases": [[c.stage, len(c.items)] for c in bench.cases], "code_root": str(CODE)})
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            bench.case(request["run"]).run(request["start"], request["stop"])
            say({"ok": True})
        elif request.get("result"):
            say(bench.result())
            return 0
    return 1


def _per_story(rows: list[Row], entity_info: dict[str, Any], records: int, stories: int, passed: int) -> dict[str, Any]:
    """Our CPU ms and the libraries' for one corpus record through every stage (entities on and off):
    each stage's ms weighted by the share of records that reach it."""
    by = {r.stage: r for r in rows}
    reach = {"validate": 1.0, "clean": stories / max(1, records), "after": passed / max(1, records)}
    with_model = entity_info.get("share_with_model", 0.0) * reach["after"]
    parts = [("validate (parse ninjs)", 1.0), ("clean: all (corpus mix)", reach["clean"]), ("language", reach["clean"])]
    parts += [
        (name, reach["clean"]) for name in ("signature (fingerprint + MinHash)", "MinHash signature") if name in by
    ]
    parts += [("dedup (decision + table)", reach["clean"]), ("serialisation (3 hops)", reach["after"])]
    ours = sum(by[n].ours_cpu_ms * w for n, w in parts if n in by)
    floor = sum((by[n].floor_cpu_ms or 0.0) * w for n, w in parts if n in by)
    entity = by.get("entities, worker path (1 story a call)")
    ours_on = ours + (entity.ours_cpu_ms * with_model if entity else 0.0)
    floor_on = floor + ((entity.floor_cpu_ms or 0.0) * with_model if entity else 0.0)
    return {
        "entities_off": {
            "ours_cpu_ms": round(ours, 3),
            "floor_cpu_ms": round(floor, 3),
            "ratio": round(ours / floor, 3) if floor else None,
            "one_core_stories_per_s": round(1000 / ours, 1) if ours else None,
        },
        "entities_on": {
            "ours_cpu_ms": round(ours_on, 3),
            "floor_cpu_ms": round(floor_on, 3),
            "ratio": round(ours_on / floor_on, 3) if floor_on else None,
            "one_core_stories_per_s": round(1000 / ours_on, 1) if ours_on else None,
        },
        "share_reaching_entities_with_a_model": round(with_model, 3),
    }


def _neardup_index(signatures: list[list[int]]) -> Case:
    from datasketch import LeanMinHash, MinHashLSH

    index = neardup.LshIndex()
    lsh = MinHashLSH(threshold=neardup.THRESHOLD, num_perm=neardup.NUM_PERM, params=index.bands)
    lean = [LeanMinHash(seed=neardup.SEED, hashvalues=sig, scheme="affine32") for sig in signatures]

    def ours(i: int) -> Any:
        hits = index.query(signatures[i])
        index.add(i, signatures[i], 0.0)
        return hits

    def floor(i: int) -> Any:
        hits = lsh.query(lean[i])
        lsh.insert(f"k{i}", lean[i])
        return hits

    return Case(
        "near-dup index (query+add)",
        list(range(len(signatures))),
        ours,
        floor,
        "datasketch MinHashLSH query+insert",
        "signatures given (time to sign: the MinHash row)",
        warm=False,
    )


def _entities(
    pipeline: Pipeline,
    warm: dict[str, float],
    passed: list[StoryInFlight],
    limit: int,
    progress: Callable[[str], None],
) -> tuple[list[Case], dict[str, Any]]:
    from agents import entities

    loaded = {key.removeprefix("ner-"): seconds for key, seconds in warm.items() if key.startswith("ner-")}
    usable: dict[str, bool] = {}

    def has_model(code: str) -> bool:
        if code not in usable:
            try:
                usable[code] = entities.model_for(code) is not None
            except Exception:  # noqa: BLE001
                usable[code] = False
        return usable[code]

    tagged = [s for s in passed if has_model(s.language.code)][:limit]
    languages = statistics.multimode([s.language.code for s in passed]) if passed else []
    counts: dict[str, int] = {}
    for s in passed:
        counts[s.language.code] = counts.get(s.language.code, 0) + 1
    progress(f"entities: {len(tagged)} stories with a model (of {len(passed)} passing dedup; languages {counts})")
    fresh = [StoryInFlight.from_dict(decode(encode(s))) for s in tagged]

    def ours_one(story: StoryInFlight) -> Any:
        return pipeline.enrich([story])

    def floor_one(story: StoryInFlight) -> Any:
        nlp = entities.model_for(story.language.code)
        assert nlp is not None
        return list(nlp.pipe([story.clean.headline, story.clean.body], batch_size=32))

    name = "spaCy nlp.pipe on the same 2 texts"
    cases = [Case("entities, worker path (1 story a call)", fresh, ours_one, floor_one, name)]
    # Batched: the offline path's batches of 16, against nlp.pipe over the same 32 texts.
    batches = [fresh[i : i + 16] for i in range(0, len(fresh), 16)]

    def ours_batch(batch: list[StoryInFlight]) -> Any:
        return pipeline.enrich(batch)

    def floor_batch(batch: list[StoryInFlight]) -> Any:
        out: list[Any] = []
        by_lang: dict[str, list[str]] = {}
        for s in batch:
            by_lang.setdefault(s.language.code, []).extend((s.clean.headline, s.clean.body))
        for code, texts in by_lang.items():
            nlp = entities.model_for(code)
            assert nlp is not None
            out.extend(nlp.pipe(texts, batch_size=32))
        return out

    per_batch = max(1, len(fresh)) / max(1, len(batches))
    name = "spaCy nlp.pipe, same batches"
    cases.append(Case("entities, batches of 16", batches, ours_batch, floor_batch, name, stories_per_item=per_batch))
    words = [len(s.clean.body.split()) for s in fresh]
    info = {
        "load_seconds": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in loaded.items()},
        "languages_with_model": sorted(k for k, v in usable.items() if v),
        "stories_tagged": len(fresh),
        "passing_dedup_by_language": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "most_common_language": languages,
        "median_words_tagged": statistics.median(words) if words else 0,
        "share_with_model": round(sum(1 for s in passed if has_model(s.language.code)) / max(1, len(passed)), 3),
    }
    return cases, info


def table(result: dict[str, Any]) -> str:
    lines = [f"{'stage':40} {'n':>5} {'ours ms':>9} {'ours /s':>9}  {'floor':38} {'floor ms':>9} {'ratio':>6}"]
    for r in result["rows"]:
        floor_ms = "-" if r["floor_cpu_ms_per_story"] is None else f"{r['floor_cpu_ms_per_story']:.3f}"
        ratio = "-" if r["overhead_ratio"] is None else f"{r['overhead_ratio']:.2f}"
        flag = "" if r["overhead_ratio"] is None or r["overhead_ratio"] <= TARGET_RATIO else " > target"
        lines.append(
            f"{r['stage']:40} {r['items']:>5} {r['ours_cpu_ms_per_story']:>9.3f} {r['ours_stories_per_s']:>9.1f}  "
            f"{r['floor'][:38]:38} {floor_ms:>9} {ratio:>6}{flag}"
        )
    for key, value in result.get("per_story", {}).items():
        if isinstance(value, dict):
            lines.append(
                f"whole record, {key.replace('_', ' ')}: ours {value['ours_cpu_ms']:.2f} CPU ms, libraries "
                f"{value['floor_cpu_ms']:.2f} ms, ratio {value['ratio']}, one core ≈ "
                f"{value['one_core_stories_per_s']} records/s"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=800, help="corpus records to run through the stages")
    parser.add_argument("--entities", type=int, default=300, help="stories through the entity stage")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=None, help="a JSON Lines corpus (else generated)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--code-root", type=Path, default=None, help="time the stages of this checkout")
    parser.add_argument("--serve", action="store_true", help="time chunks on request (bench/run_all.py)")
    args = parser.parse_args()

    label = f" {args.code_root.name}" if args.code_root else ""

    def progress(line: str) -> None:
        print(f"[stages{label} {time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    if args.corpus:
        from corpus import iter_payloads

        payloads = list(iter_payloads(args.corpus))[: args.n]
    else:
        from corpus import build

        records, _ = build(args.n, args.seed)
        payloads = [r.payload for r in records]
    if args.serve:
        return serve(payloads, args.entities, progress)
    result = run(payloads, args.entities, progress)
    print(table(result))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, ensure_ascii=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

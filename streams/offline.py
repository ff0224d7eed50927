"""The offline path, ``wirestream enrich``: the worker's :class:`Pipeline`, without Kafka.

Runs ``prepare`` → ``deduplicate`` → ``enrich`` → ``thread`` in that order on every input record,
through the very object the agents call, and writes ``enriched.jsonl``, ``duplicates.jsonl``,
``dead_letters.jsonl`` and ``threads.jsonl`` (each thread's last summary, as the compacted
``stories.threads`` topic keeps it). Input order is arrival order: the thread stage decides in it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from schemas.codec import encode
from schemas.records import DeadLetter, DuplicateNotice, EnrichedStory, FileSource, StoryInFlight, ThreadSummary
from streams.pipeline import Pipeline
from streams.settings import Settings

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(slots=True)
class Counts:
    """How many records went where."""

    read: int = 0
    enriched: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    threads: int = 0


def read_inputs(paths: Iterable[str]) -> Iterator[tuple[FileSource, bytes]]:
    """Raw payloads with their file and line: each line of a JSON Lines file (or stdin, ``-``)
    is one payload; any other file is one payload; a directory is read file by file."""
    for name in paths:
        path = Path(name)
        if name == "-":
            yield from _lines("-", sys.stdin.buffer)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                yield from read_inputs([str(child)])
        elif path.suffix in JSON_LINES_SUFFIXES:
            with path.open("rb") as stream:
                yield from _lines(name, stream)
        else:
            yield FileSource(name, 1), path.read_bytes()


def _lines(name: str, stream: IO[bytes]) -> Iterator[tuple[FileSource, bytes]]:
    for number, line in enumerate(stream, start=1):
        payload = line.rstrip(b"\r\n")
        if payload.strip():
            yield FileSource(name, number), payload


class OfflineRun:
    """One ``enrich`` run: dedup and thread state in memory, outputs appended to JSON Lines files."""

    def __init__(self, settings: Settings, out_dir: Path) -> None:
        self.pipeline = Pipeline(settings)
        self.pipeline.warm_up()
        self.settings = settings
        self.state: dict[str, Any] = {}
        self.near = self.pipeline.near_index()
        self.thread_state: dict[str, Any] = {}
        self.thread_index = self.pipeline.thread_index()
        self.threads: dict[str, ThreadSummary] = {}
        self.counts = Counts()
        self._pending: list[StoryInFlight] = []
        out_dir.mkdir(parents=True, exist_ok=True)
        self._files = {
            kind: (out_dir / f"{kind}.jsonl").open("wb")
            for kind in ("enriched", "duplicates", "dead_letters", "threads")
        }

    def process(self, source: FileSource, payload: bytes) -> None:
        """Run one raw payload through every stage."""
        self.counts.read += 1
        for outcome in self.pipeline.prepare(payload, None, source, time.time()):
            if isinstance(outcome, DeadLetter):
                self._write(outcome)
                continue
            decided = self.pipeline.deduplicate(outcome, self.state, self.near)
            if isinstance(decided, DuplicateNotice):
                self._write(decided)
            else:
                self._pending.append(decided)
                if len(self._pending) >= self.settings.entities_batch_size:
                    self.flush()

    def flush(self) -> None:
        """Tag the stories waiting for the entity stage, thread them in input order, write them."""
        batch, self._pending = self._pending, []
        for tagged in self.pipeline.enrich(batch):
            if isinstance(tagged, DeadLetter):
                self._write(tagged)
                continue
            vector = self.pipeline.vector(tagged)
            outcome = self.pipeline.thread(tagged, self.thread_state, self.thread_index, vector)
            self._write(outcome.story if outcome.notice is None else outcome.notice)
            if outcome.summary is not None:
                self.threads[outcome.summary.id] = outcome.summary

    def close(self) -> Counts:
        """Flush, write each thread's last summary, and close the output files."""
        self.flush()
        for summary in self.threads.values():
            self._files["threads"].write(encode(summary) + b"\n")
        self.counts.threads = len(self.threads)
        for stream in self._files.values():
            stream.close()
        return self.counts

    def _write(self, record: EnrichedStory | DuplicateNotice | DeadLetter) -> None:
        if isinstance(record, EnrichedStory):
            kind = "enriched"
            self.counts.enriched += 1
        elif isinstance(record, DuplicateNotice):
            kind = "duplicates"
            self.counts.duplicates += 1
        else:
            kind = "dead_letters"
            self.counts.dead_letters += 1
        self._files[kind].write(encode(record) + b"\n")


def enrich_files(paths: list[str], out_dir: Path, settings: Settings, progress: bool | None = None) -> Counts:
    """Enrich every record of ``paths`` into ``out_dir``; a progress bar when on a terminal."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    run = OfflineRun(settings, out_dir)
    try:
        for source, payload in tqdm(read_inputs(paths), unit=" stories", disable=not show):
            run.process(source, payload)
    finally:
        counts = run.close()
    return counts

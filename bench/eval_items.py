#!/usr/bin/env python3
"""Run the agencies' real sample files through ``wirestream enrich`` and show where every item went.

Folders (under ``$WIRESTREAM_SHARED/eval``, default ``<repo>/../shared/eval``): the Superdesk ingest
fixtures (AP, AFP, Reuters, dpa, ANSA, STT, NTB… in every format) and the IPTC NewsML-G2 examples;
every file of each is one payload (schemas and read-me files too: they must give a dead letter).

Printed per folder: files read; enriched items by ninjs ``type``, text or metadata-only; duplicates
by kind; dead letters by error type; each enriched ``item`` checked against the official ninjs
schema of its version; then every dead letter (file, type, message), to be read: a dead letter
should only be an item that is really broken or not news at all.

    python bench/eval_items.py [--out .local/eval_items] [folder ...]

Set ``WIRESTREAM_NINJS_VERSION=3.0`` to write (and check) ninjs 3.0 items. Entities are off (they do
not decide where an item goes).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from _repo import REPO, shared_dir

FOLDERS = ("superdesk-fixtures/tests/io/fixtures", "iptc-newsml-g2/examples")


def eval_dir() -> Path:
    """``$WIRESTREAM_SHARED/eval`` (or the ``shared`` folder beside the repository)."""
    return shared_dir() / "eval"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _kind(item: dict[str, Any]) -> str:
    return f"{item.get('type', '(no type)')} {'text' if 'bodies' in item else 'metadata-only'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", default=list(FOLDERS), help="folders under the shared eval folder")
    parser.add_argument("--out", default=str(REPO / ".local" / "eval_items"), help="working directory")
    args = parser.parse_args(argv)

    os.environ.setdefault("WIRESTREAM_ENTITIES_ENABLED", "false")
    from bench.check_ninjs import validator
    from streams.offline import enrich_files
    from streams.settings import Settings

    settings = Settings.from_env()
    schema = validator(settings.ninjs_version)
    for folder in args.folders:
        out = Path(args.out) / folder.replace("/", "_")
        counts = enrich_files([str(eval_dir() / folder)], out, settings, progress=False)
        enriched = _read_jsonl(out / "enriched.jsonl")
        duplicates = _read_jsonl(out / "duplicates.jsonl")
        letters = _read_jsonl(out / "dead_letters.jsonl")
        invalid = [e["item"]["uri"] for e in enriched if any(True for _ in schema.iter_errors(e["item"]))]
        print(f"== {folder}: {counts.read} files")
        print(f"enriched: {counts.enriched}   duplicates: {counts.duplicates}   dead letters: {counts.dead_letters}")
        for kind, n in sorted(Counter(_kind(e["item"]) for e in enriched).items()):
            print(f"  enriched {kind}: {n}")
        for kind, n in sorted(Counter(d["kind"] for d in duplicates).items()):
            print(f"  duplicate {kind}: {n}")
        for error_type, n in Counter(letter["error"]["type"] for letter in letters).most_common():
            print(f"  dead letter {error_type}: {n}")
        print(f"  items invalid in ninjs {settings.ninjs_version}: {len(invalid)} {invalid}")
        for letter in letters:
            name = Path(letter["source"]["file"]).name
            print(f"  - {name}: {letter['error']['type']}: {letter['error']['message'][:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

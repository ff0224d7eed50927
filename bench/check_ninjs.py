"""CI check: every enriched record in a JSON Lines file has an ``item`` valid against ninjs 2.2.

    python bench/check_ninjs.py .local/test-output/enriched.jsonl

The schema is the official IPTC file in ``../shared/eval/iptc-ninjs/specification/``
(override the shared folder with ``WIRESTREAM_SHARED``). Exits non-zero if the file is
missing or empty, or if any record is invalid.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WIRESTREAM_SHARED", REPO.parent / "shared"))
SCHEMA = SHARED / "eval" / "iptc-ninjs" / "specification" / "ninjs-schema_2.2.json"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[0])
    if not path.exists():
        print(f"check_ninjs: {path} does not exist (did the integration tests run?)", file=sys.stderr)
        return 1
    validator = jsonschema.Draft202012Validator(
        json.loads(SCHEMA.read_text(encoding="utf-8")), format_checker=jsonschema.FormatChecker()
    )
    checked = invalid = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        checked += 1
        errors = sorted(validator.iter_errors(record["item"]), key=lambda e: list(e.path))
        for error in errors:
            print(f"{path}:{number}: {record['item'].get('uri')}: {error.message}", file=sys.stderr)
        invalid += bool(errors)
    print(f"check_ninjs: {checked} enriched records checked against {SCHEMA.name}: {invalid} invalid")
    if checked == 0:
        print("check_ninjs: no records to check", file=sys.stderr)
        return 1
    return 1 if invalid else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Turn the scraped seed stories of ``../shared/seed/`` into raw stories, one JSON line each.

The seed is a French story scraped with its English page chrome, so its declared language
is the page's, ``en``. Prints nothing when the folder is not there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson

SEED = Path(os.environ.get("WIRESTREAM_SHARED") or Path(__file__).resolve().parents[2] / "shared") / "seed"


def main() -> int:
    for path in sorted(SEED.glob("*.txt")) if SEED.is_dir() else []:
        headline, _, body = path.read_text(encoding="utf-8").partition("\n")
        story = {"uri": f"urn:wirestream:seed:{path.stem}", "language": "en", "headline": headline, "body_text": body}
        sys.stdout.write(orjson.dumps(story).decode("utf-8") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the shared data folder is: the evaluation sets, scraped seed stories and official schemas
that the tests and the benchmark scripts read but the repository does not hold.

The one place that says it: the tests import :func:`shared_dir` from here, the benchmark scripts
through ``bench/_repo.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``$WIRESTREAM_SHARED``, or the ``shared`` folder beside the checkout (``<repo>/../shared``).

    An empty ``WIRESTREAM_SHARED`` counts as unset (the default folder, not the current one)."""
    return Path(os.environ.get("WIRESTREAM_SHARED") or REPO.parent / "shared")

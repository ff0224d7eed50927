"""The checkout the benchmark scripts belong to, put on ``sys.path`` so that they import its packages
(``agents``, ``schemas``, ``streams``, ``tests``): a script imports this module before those.

A script runs as ``python bench/<script>.py``, which puts this folder on the path (so ``_repo`` and the
other bench modules, ``corpus`` and the like, are found); ``tests/bench_scripts.py`` does the same when
a test loads a script.

:func:`shared_dir` is the shared data folder beside the checkout (``$WIRESTREAM_SHARED``, an empty value
counting as unset), as the tests find it (``tests/shared_folder.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.shared_folder import shared_dir  # noqa: E402  (needs the checkout on the path)

__all__ = ["REPO", "shared_dir"]

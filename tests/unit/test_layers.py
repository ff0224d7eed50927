"""The offline path (``wirestream enrich``) runs without Faust or the metrics library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_offline_path_imports_neither_faust_nor_prometheus_client() -> None:
    code = (
        "import sys, streams.offline, streams.pipeline; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'faust', 'mode', 'aiokafka', 'prometheus_client'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

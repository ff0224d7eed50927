"""Load a script of ``bench/`` as a module, so a test can hold the numbers it prints to the stage code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_bench_script(name: str) -> ModuleType:
    """Import ``bench/<name>.py`` under the module name ``name``, with ``bench/`` on ``sys.path`` as when
    the script runs (``python bench/<name>.py``): it imports ``_repo`` and its other neighbours by name."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

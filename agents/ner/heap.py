"""Keep what a worker loads at start-up out of the garbage collector's way.

A warm worker holds ~1.4 million Python objects that live as long as the process: the NER
models, the language detectors, the linking tables. Every full collection of the cyclic
garbage collector walks all of them: ~235 ms measured (``docs/operations.md``), a stall that
lands on whichever story is being processed. Freezing them after warm-up (:func:`gc.freeze`)
takes them out of every later collection; reference counting still frees them as usual.
"""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["collect_frozen", "freeze_startup_objects"]

log = logging.getLogger(__name__)


def freeze_startup_objects() -> int:
    """Collect once, then freeze every object alive now; returns how many are frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("start-up objects frozen", extra={"objects": frozen, "seconds": round(time.perf_counter() - started, 3)})
    return frozen


def collect_frozen() -> None:
    """After dropping something that was frozen (a model loaded afresh): let the collector free
    its reference cycles, then freeze what is left again. No-op when nothing is frozen."""
    if gc.get_freeze_count() == 0:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()

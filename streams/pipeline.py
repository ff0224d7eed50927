"""What both paths, the worker and ``wirestream enrich``, need around the stage functions.

Free of Faust and of ``prometheus_client``, so the offline path imports neither.
"""

from __future__ import annotations

import logging
import time
from importlib import metadata

from agents.heap import freeze_startup_objects
from streams.settings import Settings

log = logging.getLogger("wirestream.pipeline")


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``unknown``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def warm_up(settings: Settings) -> dict[str, float]:
    """Load everything the stages load lazily (the cleaning tables, the language detectors and, when
    entities are on, every NER model), then freeze it out of the garbage collector when
    ``WIRESTREAM_GC_FREEZE`` says so. Returns the seconds each took: ``cleaning``, ``language``,
    ``ner-<code>``."""
    from agents import cleaning, entity_models, language

    started = time.perf_counter()
    seconds = {"cleaning": cleaning.warm_up(), "language": language.warm_up(settings.language_short_text_model)}
    if settings.entities_enabled:
        seconds.update({f"ner-{code}": load for code, load in entity_models.warm_up().items()})
    log.info("models loaded", extra={"seconds": round(time.perf_counter() - started, 3)})
    if settings.gc_freeze:
        freeze_startup_objects()
    return seconds

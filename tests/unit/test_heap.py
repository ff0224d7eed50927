"""agents.ner.heap: start-up objects frozen out of the collector, and freed again when dropped."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from agents.ner.heap import collect_frozen, freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


@pytest.fixture
def unfrozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_frozen_objects_are_left_alone_by_collections(unfrozen_after: None) -> None:
    node = _Node()
    alive = weakref.ref(node)
    assert freeze_startup_objects() > 0
    del node
    gc.collect()
    assert alive() is not None  # frozen: the collector does not see the dropped cycle


def test_collect_frozen_frees_dropped_cycles_and_freezes_the_rest(unfrozen_after: None) -> None:
    node, kept = _Node(), _Node()
    alive, kept_alive = weakref.ref(node), weakref.ref(kept)
    freeze_startup_objects()
    del node
    collect_frozen()
    assert alive() is None
    assert kept_alive() is not None
    assert gc.get_freeze_count() > 0


def test_collect_frozen_does_nothing_when_nothing_is_frozen() -> None:
    gc.unfreeze()
    collect_frozen()
    assert gc.get_freeze_count() == 0

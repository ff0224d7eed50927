"""Arrival order across the lanes that feed one partition.

The thread stage sees every language, so it reads one partition that the entity agents of every
``stories.unique`` partition (its **lanes**) write to. Lanes finish their stories at their own pace,
so :class:`OrderBuffer` puts the stories back in arrival order (:func:`arrival_order`) before they
are decided: a story is released once every lane has delivered a story that comes after it, or after
a bounded wait (docs/architecture.md, "Threads").
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from schemas.records import EnrichedStory, FileSource

T = TypeVar("T")
#: A story's place in arrival order: its arrival time, then its raw coordinates (topic or file,
#: partition and offset or line, item), which break ties the same way on every path.
OrderKey = tuple[float, str, int, int, int]
#: Stories held at most; past it the earliest is released whatever the lanes say (a lane far
#: behind the others must not make the stage hold the whole backlog in memory).
MAX_HELD = 10_000


def arrival_order(story: EnrichedStory) -> OrderKey:
    """Where ``story`` stands in arrival order (:data:`OrderKey`)."""
    enrichment = story.enrichment
    source = enrichment.source
    item = int(enrichment.idempotency_key.rpartition("#")[2] or 0)
    if isinstance(source, FileSource):
        return (enrichment.received_at, source.file, 0, source.line, item)
    return (enrichment.received_at, source.topic, source.partition, source.offset, item)


@dataclass
class OrderBuffer(Generic[T]):
    """Holds what arrives from ``lanes`` lanes and releases it in key order.

    Each lane is expected to deliver in key order (a ``stories.unique`` partition is read in order
    by one entity agent). An item is released when every lane has delivered an item with a key at
    least its own, so no lane can still bring an earlier one, or once it has been held
    ``wait_seconds`` (by the ``now`` the caller passes, a monotonic clock): a silent lane holds
    nothing back longer than that. Only past that wait, when a lane delivers out of key order, or
    past ``max_held`` items, can the order released depend on timing. An item whose key is below
    the last one released comes out at once and is counted in ``late``."""

    lanes: int
    wait_seconds: float
    max_held: int = MAX_HELD
    late: int = 0
    _held: list[tuple[Any, int, float, T]] = field(default_factory=list)  # key, arrival count, held since, item
    _latest: dict[int, Any] = field(default_factory=dict)  # the newest key each lane delivered
    _count: int = 0
    _released: Any = None

    def __len__(self) -> int:
        return len(self._held)

    def add(self, item: T, key: Any, lane: int, now: float) -> None:
        """Hold ``item`` (key ``key``) from ``lane``, delivered at ``now``."""
        latest = self._latest.get(lane)
        if latest is None or key > latest:
            self._latest[lane] = key
        self._count += 1
        heapq.heappush(self._held, (key, self._count, now, item))

    def release(self, now: float) -> list[T]:
        """The held items that can go now, in key order."""
        released: list[T] = []
        while self._held:
            key, _, since, _ = self._held[0]
            if not (len(self._held) > self.max_held or self._clear(key, since, now)):
                break
            if self._released is not None and key < self._released:
                self.late += 1
            else:
                self._released = key
            released.append(heapq.heappop(self._held)[3])
        return released

    def _clear(self, key: Any, since: float, now: float) -> bool:
        """Whether the item of ``key``, held since ``since``, can go: no lane can still bring an
        earlier one, or it waited long enough, or a later one went already."""
        if now - since >= self.wait_seconds or (self._released is not None and key < self._released):
            return True
        return all((latest := self._latest.get(lane)) is not None and latest >= key for lane in range(self.lanes))

    def clear(self) -> list[T]:
        """Forget every held item and lane (partition revoked); returns what was held, in key order."""
        held = [entry[3] for entry in sorted(self._held, key=lambda entry: entry[:2])]
        self._held.clear()
        self._latest.clear()
        return held

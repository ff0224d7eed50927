"""Putting what several partitions deliver back in one order (the thread stage's arrival order)."""

from agents.ordering.buffer import MAX_HELD, OrderBuffer, OrderKey, arrival_order

__all__ = ["MAX_HELD", "OrderBuffer", "OrderKey", "arrival_order"]

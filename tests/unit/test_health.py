"""The stall watchdog's bookkeeping and the filter that keeps a broker outage from flooding the log."""

from __future__ import annotations

import logging

from streams.health import StallDetector
from streams.logs import RepeatFilter


def test_a_partition_with_lag_and_no_progress_stalls_after_the_period() -> None:
    detector = StallDetector(stall_seconds=10)
    raw0, raw1 = ("stories.raw", 0), ("stories.raw", 1)
    assert detector.observe(0, {raw0: (5, 100), raw1: (0, 40)}) == set()
    assert detector.observe(9.9, {raw0: (7, 100), raw1: (0, 40)}) == set()
    assert detector.observe(10, {raw0: (9, 100), raw1: (0, 40)}) == {raw0}  # idle raw1 never stalls
    assert detector.observe(11, {raw0: (9, 101), raw1: (0, 40)}) == set()  # it moved: a new period starts
    assert detector.observe(20.9, {raw0: (9, 101)}) == set()
    assert detector.observe(21, {raw0: (9, 101)}) == {raw0}


def test_lag_reaching_zero_or_a_reset_starts_a_new_period() -> None:
    detector = StallDetector(stall_seconds=10)
    tp = ("stories.clean", 2)
    detector.observe(0, {tp: (3, 7)})
    detector.observe(5, {tp: (0, 7)})
    assert detector.observe(14, {tp: (2, 7)}) == set()
    detector.reset()
    assert detector.observe(20, {tp: (2, 7)}) == set()
    assert detector.observe(30, {tp: (2, 7)}) == {tp}


def _record(name: str, msg: str, level: int = logging.ERROR, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_a_repeated_client_error_passes_once_per_interval_with_the_count_held_back() -> None:
    now = [0.0]
    repeats = RepeatFilter(interval=30, clock=lambda: now[0])
    template = "Unable connect to node with id %s: %s"
    assert repeats.filter(_record("aiokafka", template, logging.ERROR, 1, "refused"))
    passed = 0
    for i in range(4000):
        now[0] = i * 0.005  # 4,000 in 20 s
        passed += repeats.filter(_record("aiokafka", template, logging.ERROR, i % 3, "refused"))
    assert passed == 0
    now[0] = 30.0
    again = _record("aiokafka", template, logging.ERROR, 2, "refused")
    assert repeats.filter(again)
    assert again.repeats_suppressed == 4000  # type: ignore[attr-defined]


def test_other_messages_and_other_loggers_are_never_held_back() -> None:
    repeats = RepeatFilter(interval=30, clock=lambda: 0.0)
    assert repeats.filter(_record("aiokafka", "Unable to update metadata from %s"))
    assert repeats.filter(_record("aiokafka", "Heartbeat failed: %r"))  # another template
    assert repeats.filter(_record("aiokafka", "Unable to update metadata from %s", logging.INFO))
    for _ in range(3):
        assert repeats.filter(_record("wirestream.agents", "story failed outside its stage, dead-lettering it"))

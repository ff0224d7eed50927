"""Which offset a partition may commit: never past a story that was not handled."""

from __future__ import annotations

from streams.faust_patches import committable_offset


def test_commits_the_run_that_starts_at_the_committed_offset() -> None:
    acked = [13, 11, 12, 20]
    assert committable_offset(acked, 11) == 14
    assert acked == [20]


def test_a_hole_one_offset_wide_at_the_head_stops_the_commit() -> None:
    # Faust's own check (min(acked) - committed > 1) lets this through and loses offset 11.
    acked = [12, 13, 14]
    assert committable_offset(acked, 11) is None
    assert acked == [12, 13, 14]


def test_a_hole_further_on_commits_up_to_the_hole() -> None:
    acked = [5, 6, 8, 9]
    assert committable_offset(acked, 5) == 7
    assert committable_offset(acked, 7) is None
    acked.append(7)
    assert committable_offset(acked, 7) == 10


def test_nothing_committed_yet_takes_the_first_run() -> None:
    acked = [0, 1, 2, 4]
    assert committable_offset(acked, None) == 3
    assert committable_offset([], None) is None
    # a partition whose committed offset is 0 is checked like any other (Faust skips the check on 0)
    assert committable_offset([1, 2], 0) is None

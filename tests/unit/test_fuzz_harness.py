"""bench/fuzz.py's targets fail on what the fuzzing rule forbids, and only on that (issue #16)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from agents import clean
from agents.formats import ninjs
from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    return load_bench_script("fuzz")


def raises(error: Exception) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def test_a_payload_the_parser_refuses_passes(fuzz: ModuleType) -> None:
    fuzz.make_target("ninjs")(b'{"uri": ')


def test_a_parser_bug_fails_the_input(fuzz: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ninjs, "parse_ninjs", raises(KeyError("body")))
    with pytest.raises(KeyError):
        fuzz.make_target("ninjs")(b'{"uri": "a"}')


def test_a_parser_that_returns_no_story_fails_the_input(fuzz: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ninjs, "parse_ninjs", lambda payload: [])
    with pytest.raises(AssertionError):
        fuzz.make_target("ninjs")(b'{"uri": "a"}')


def test_stage1_fails_on_a_dead_letter_made_from_a_bug(fuzz: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clean, "dead_letter", clean.dead_letter)  # the target replaces it; put it back after
    target = fuzz.make_target("stage1")
    target(b"\x00not a wire format")  # a StageError: a dead letter, as in the worker
    monkeypatch.setattr(clean, "parse_payload", raises(IndexError("bug")))
    with pytest.raises(IndexError):
        target(b"\x00{}")


def test_cleaning_input_split(fuzz: ModuleType) -> None:
    assert fuzz._split_cleaning_input(b"\x01Head\n<p>Body</p>") == ("text/html", "Head", "<p>Body</p>")
    assert fuzz._split_cleaning_input(b"") == (None, "", "")

"""The fence around Faust's private API: the worker refuses to start on a Faust it was not written for."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from faust.transport.consumer import Consumer

from streams import cli
from streams.faust_patches import PINNED, FaustPatchError, check_faust
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_the_installed_faust_passes_the_check() -> None:
    check_faust()


def test_the_versions_checked_are_the_ones_pinned() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = dict(requirement.split("==") for requirement in project["dependencies"])
    assert {package: pins[package] for package in PINNED} == PINNED


def test_another_faust_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.99.0" if name == "faust-streaming" else installed(name))
    with pytest.raises(FaustPatchError, match=r"faust-streaming 0\.99\.0 is installed but wirestream patches"):
        check_faust()


def test_a_patched_method_gone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(Consumer, "_add_gap")
    with pytest.raises(FaustPatchError, match=r"Consumer\._add_gap is gone"):
        check_faust()


def test_the_worker_command_says_why_in_one_line_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delattr(Consumer, "perform_seek")
    monkeypatch.setattr(cli, "_settings", lambda: Settings(broker="kafka://127.0.0.1:1"))
    assert cli.main(["worker"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(
        "wirestream: cannot start the worker: faust.transport.consumer.Consumer.perform_seek is gone"
    )

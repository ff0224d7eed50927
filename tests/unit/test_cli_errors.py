"""Common mistakes at the command line end in one line naming the cause and a non-zero exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from streams import cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("command", ["enrich", "produce"])
def test_a_missing_input_file_is_named(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "out")] if command == "enrich" else []
    argv = [command, str(tmp_path / "missing.jsonl"), *out]
    assert cli.main(argv) == 66
    assert _last_line(capsys) == f"wirestream: error: {tmp_path / 'missing.jsonl'}: no such file or directory"
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = tmp_path / "in.jsonl"
    story.write_text('{"uri": "urn:x", "headline": "H", "body_text": "Text."}\n', encoding="utf-8")
    (tmp_path / "out").write_text("", encoding="utf-8")
    assert cli.main(["enrich", str(story), "--out", str(tmp_path / "out")]) == 74
    assert _last_line(capsys) == f"wirestream: error: {tmp_path / 'out'}: --out is not a directory"


@pytest.mark.parametrize("argv", [["topics"], ["produce", "samples/stories.jsonl"], ["consume", "--timeout", "1"]])
def test_a_broker_that_does_not_answer_is_named(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _closed_port()
    monkeypatch.setenv("WIRESTREAM_BROKER", f"kafka://127.0.0.1:{port}")
    monkeypatch.setenv("WIRESTREAM_BROKER_WAIT_SECONDS", "1")
    with pytest.raises(SystemExit) as ended:
        cli.main(argv)
    assert ended.value.code not in (0, None)
    line = _last_line(capsys)
    assert line.startswith("wirestream: error: ") and f"127.0.0.1:{port}" in line

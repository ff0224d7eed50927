from __future__ import annotations

from pathlib import Path
from typing import get_args

from agents.failures.dead_letter import dead_letter, original_payload
from agents.failures.errors import ERROR_TYPES, StageError, error_table
from schemas.records import ErrorType, KafkaSource


def test_stage_error_keeps_its_reason_and_utf8_payload() -> None:
    payload = '{"uri": "x", "headline": "Café"}'.encode()
    letter = dead_letter(StageError("validate", "EmptyBody", "no body"), "clean", payload, KafkaSource("t", 1, 7), 1.0)
    assert (letter.error.stage, letter.error.type, letter.error.message) == ("validate", "EmptyBody", "no body")
    assert letter.payload_encoding == "utf-8"
    assert original_payload(letter) == payload


def test_invalid_utf8_is_kept_as_base64() -> None:
    payload = b"\xff\xfe not text \x00"
    letter = dead_letter(ValueError("boom"), "dedup", payload, KafkaSource("t", 0, 0), 1.0)
    assert letter.payload_encoding == "base64"
    assert original_payload(letter) == payload
    assert letter.error.stage == "dedup"
    assert letter.error.type == "ValueError"
    assert "boom" in letter.error.message


def test_every_error_type_is_described_and_the_docs_table_is_current() -> None:
    assert list(ERROR_TYPES) == list(get_args(ErrorType))
    formats = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
    assert error_table() in formats, "docs/formats.md error table is stale: paste agents.failures.errors.error_table()"

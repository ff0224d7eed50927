"""What the format tests share: the golden samples and the calls that parse one payload."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.failures.errors import StageError
from agents.formats import parse_payload
from schemas.records import RawStory

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "formats"


def golden(name: str) -> bytes:
    """The bytes of ``tests/golden/formats/<name>``."""
    return (GOLDEN / name).read_bytes()


def one(payload: bytes, content_type: str | None = None) -> RawStory:
    """The one story ``payload`` holds."""
    stories = parse_payload(payload, content_type)
    assert len(stories) == 1
    return stories[0]


def error(payload: bytes, content_type: str | None = None) -> StageError:
    """The validate-stage error ``payload`` is refused with."""
    with pytest.raises(StageError) as info:
        parse_payload(payload, content_type)
    assert info.value.stage == "validate"
    return info.value

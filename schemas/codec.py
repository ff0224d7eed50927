"""UTF-8 JSON on the wire, encoded with orjson."""

from __future__ import annotations

from typing import Any

import orjson


def encode(record: Any) -> bytes:
    """Encode a record (a dataclass, dict or list) as UTF-8 JSON bytes."""
    return orjson.dumps(record)


def decode(payload: bytes | str) -> Any:
    """Decode UTF-8 JSON bytes; raises ``orjson.JSONDecodeError`` (a ``ValueError``)."""
    return orjson.loads(payload)

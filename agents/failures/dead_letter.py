"""Dead letters: a failed message with its reason and its original bytes, kept whole."""

from __future__ import annotations

import base64

from agents.failures.errors import StageError
from schemas.records import DeadLetter, ErrorInfo, Source, Stage

_MAX_MESSAGE_CHARS = 500


def dead_letter(error: BaseException, stage: Stage, payload: bytes, source: Source, failed_at: float) -> DeadLetter:
    """Build the dead letter for ``payload`` that failed in ``stage``.

    A :class:`StageError` keeps its own stage, type and message; any other exception (a bug)
    is reported with its class name, so it is visible and replayable after the fix.
    """
    if isinstance(error, StageError):
        info = ErrorInfo(stage=error.stage, type=error.error_type, message=error.message, reason=error.reason)
    else:
        message = f"unexpected {type(error).__name__}: {error}"
        info = ErrorInfo(stage=stage, type=type(error).__name__, message=message[:_MAX_MESSAGE_CHARS])
    try:
        text = payload.decode("utf-8")
        return DeadLetter(info, text, "utf-8", source, failed_at)
    except UnicodeDecodeError:
        encoded = base64.b64encode(payload).decode("ascii")
        return DeadLetter(info, encoded, "base64", source, failed_at)


def original_payload(letter: DeadLetter) -> bytes:
    """The original message bytes of a dead letter, for replay."""
    if letter.payload_encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode("utf-8")

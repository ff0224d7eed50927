"""The one exception type stages raise for input they cannot process."""

from __future__ import annotations

from schemas.records import Stage


class StageError(Exception):
    """A story a stage cannot process; it goes to the dead-letter topic, the worker goes on.

    ``error_type`` is a short stable CamelCase name (used as a metric label, so never put
    story data in it); ``message`` is for a person and may quote a bounded part of the input.
    """

    def __init__(self, stage: Stage, error_type: str, message: str) -> None:
        super().__init__(message)
        self.stage: Stage = stage
        self.error_type = error_type
        self.message = message

    def __repr__(self) -> str:
        return f"StageError({self.stage!r}, {self.error_type!r}, {self.message!r})"

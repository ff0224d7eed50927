"""The one exception type stages raise for input they cannot process, and its error types."""

from __future__ import annotations

from schemas.records import ErrorType, Stage

#: Every :data:`ErrorType`: the stage that raises it and when. ``docs/formats.md`` shows
#: :func:`error_table` (a test holds them equal).
ERROR_TYPES: dict[ErrorType, tuple[Stage, str]] = {
    "UnknownFormat": ("validate", "content-type not accepted; bytes not recognisable; XML root not one of ours"),
    "EmptyPayload": ("validate", "blank payload"),
    "PayloadTooLarge": ("validate", "larger than `WIRESTREAM_MAX_PAYLOAD_BYTES` (a parser refuses more than 8 MiB)"),
    "InvalidUtf8": ("validate", "JSON (or XML declaring UTF-8) not valid UTF-8; message gives the byte offset"),
    "InvalidEncoding": ("validate", "XML bytes invalid in their declared charset"),
    "UnknownEncoding": ("validate", "XML declaring a charset Python does not know"),
    "InvalidJson": ("validate", "not JSON (orjson's message)"),
    "NotAnObject": ("validate", "JSON but not an object (says which JSON type)"),
    "MissingUri": ("validate", "no / empty `uri` (ninjs), no `guid` (G2), no `NewsIdentifier` (NewsML 1.2)"),
    "WrongFieldType": (
        "validate",
        "a known ninjs field with the wrong JSON type (names the field, expected and actual type)",
    ),
    "InvalidFieldValue": ("validate", "urgency not 1–9, unknown pubstatus"),
    "EmptyBody": ("validate", "no body, or a body without visible text (HTML tags alone count as empty)"),
    "NotNewsItem": (
        "validate",
        "a NewsML-G2 concept, knowledge or catalog item (vocabulary, not news), or a packet of nothing else",
    ),
    "InvalidXml": ("validate", "not well-formed XML (expat's message with line and column)"),
    "UnsafeXml": ("validate", "entity declarations, external entities or DTD parameter entities"),
    "XmlTooDeep": ("validate", "XML nested deeper than 200 elements"),
    "XmlTooLarge": ("validate", "XML of more than 200 000 elements"),
    "InvalidFraming": ("validate", "ANPA/7901 without STX, or (ANPA content-type) without an ANPA header line"),
    "EmptyAfterCleaning": ("clean", "a body with no article text left after cleaning (chrome, credits only)"),
    "NotAnArticle": (
        "clean",
        "a consent wall, paywall, bot check, error page or empty shell; `error.reason` says which",
    ),
}


def error_table() -> str:
    """The error table of ``docs/formats.md``, generated from :data:`ERROR_TYPES`."""
    lines = ["| error_type | stage | when |", "|---|---|---|"]
    lines += [f"| `{name}` | {stage} | {when} |" for name, (stage, when) in ERROR_TYPES.items()]
    return "\n".join(lines)


class StageError(Exception):
    """A story a stage cannot process; it goes to the dead-letter topic, the worker goes on.

    ``error_type`` is a short stable CamelCase name (used as a metric label, so never put
    story data in it); ``message`` is for a person and may quote a bounded part of the input;
    ``reason`` is an optional stable snake_case refinement of the type (``consent_wall``).
    """

    def __init__(self, stage: Stage, error_type: ErrorType, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.stage: Stage = stage
        self.error_type = error_type
        self.message = message
        self.reason = reason

    def __repr__(self) -> str:
        return f"StageError({self.stage!r}, {self.error_type!r}, {self.message!r}, {self.reason!r})"

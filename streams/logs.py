"""Structured logs: one JSON object per line, with the story uri where relevant, never a body."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


# Loggers whose warnings and errors repeat in a loop while a broker cannot be reached.
CLIENT_LOGGERS = ("aiokafka", "faust.transport")
REPEAT_INTERVAL_SECONDS = 30.0


class RepeatFilter(logging.Filter):
    """Let a Kafka client warning or error through once, then at most once per ``interval`` seconds
    per message template, carrying the number of repeats held back since (``repeats_suppressed``).

    While a broker is down, aiokafka logs the same connection error thousands of times a second.
    """

    def __init__(self, interval: float = REPEAT_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(CLIENT_LOGGERS):
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval:
            self._last[key] = (last[0], last[1] + 1)
            return False
        self._last[key] = (now, 0)
        if last is not None:
            record.repeats_suppressed = last[1]
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line; ``extra=`` fields become keys of their own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode("utf-8")


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger to stderr as JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "filters": {"repeats": {"()": f"{__name__}.RepeatFilter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["repeats"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # aiokafka stays at WARNING even at DEBUG: its debug lines print every request, and a SASL
        # PLAIN login request carries the password.
        "loggers": {"aiokafka": {"level": "WARNING"}, "faust": {"level": level}, "mode": {"level": level}},
    }

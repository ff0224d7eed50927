from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.settings import Settings, SettingsError, env_name, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_are_valid() -> None:
    settings = Settings.from_env({})
    assert settings.topic_raw == "stories.raw"
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.max_payload_bytes == 2 * 1024 * 1024


def test_environment_overrides_and_converts() -> None:
    settings = Settings.from_env(
        {
            "WIRESTREAM_PARTITIONS": "8",
            "WIRESTREAM_ENTITIES_ENABLED": "false",
            "WIRESTREAM_DEDUP_WINDOW_SECONDS": "3600",
            "WIRESTREAM_LOG_LEVEL": "debug",
            "WIRESTREAM_TOPIC_RAW": "wires.in",
            "WIRESTREAM_NINJS_VERSION": "3.0",
        }
    )
    assert (settings.partitions, settings.entities_enabled, settings.dedup_window_seconds) == (8, False, 3600.0)
    assert settings.ninjs_version == "3.0" and Settings().ninjs_version == "2.2"
    assert settings.log_level == "DEBUG"
    assert settings.topic_raw == "wires.in"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WIRESTREAM_PARTITIONS", "four", "expected an integer"),
        ("WIRESTREAM_PARTITIONS", "0", "expected an integer >= 1"),
        ("WIRESTREAM_ENTITIES_ENABLED", "maybe", "expected true or false"),
        ("WIRESTREAM_WEB_PORT", "70000", "port number"),
        ("WIRESTREAM_LOG_LEVEL", "LOUD", "one of DEBUG"),
        ("WIRESTREAM_STORE", "redis://x", "memory:// or rocksdb://"),
        ("WIRESTREAM_TOPIC_CLEAN", "bad topic!", "Kafka topic name"),
        ("WIRESTREAM_BROKER", "nonsense", "host:port"),
        ("WIRESTREAM_NINJS_VERSION", "3.1", "expected 2.2 or 3.0"),
        ("WIRESTREAM_THREADS_ENCODER", "laser", "expected none or use-multilingual-v3"),
        ("WIRESTREAM_SESSION_TIMEOUT_SECONDS", "0.5", "seconds >= 1"),
        ("WIRESTREAM_HEARTBEAT_INTERVAL_SECONDS", "4", "at most a third of the session timeout"),
    ],
)
def test_wrong_values_are_named_in_the_error(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert variable in str(caught.value)
    assert expected in str(caught.value)


def test_topic_names_must_differ() -> None:
    with pytest.raises(SettingsError, match="distinct"):
        Settings.from_env({"WIRESTREAM_TOPIC_CLEAN": "stories.raw"})


def test_readme_table_matches_the_settings() -> None:
    readme = README.read_text(encoding="utf-8")
    assert markdown_table() in readme, "README config table is stale: paste `wirestream config --markdown`"
    documented = set(re.findall(r"`(WIRESTREAM_[A-Z_]+)`", readme))
    for name in Settings.__dataclass_fields__:
        assert env_name(name) in documented


def test_environ_gives_back_the_same_settings() -> None:
    settings = Settings(partitions=8, entities_enabled=False, session_timeout_seconds=12.5)
    assert Settings.from_env(settings.environ()) == settings

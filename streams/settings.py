"""Every setting of wirestream, read from ``WIRESTREAM_*`` environment variables.

One dataclass field per setting; its metadata carries the help text. The README's
configuration table is generated from this module (``wirestream config --markdown``) and a
test holds the two equal, so they cannot drift.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from agents.multilingual import ENCODERS, missing_package
from schemas.ninjs import NINJS_VERSIONS

ENV_PREFIX = "WIRESTREAM_"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
#: ``WIRESTREAM_TRANSLATIONS``: a translation passes on as a story, or goes to the duplicates.
TRANSLATIONS = ("pass", "duplicate")


class SettingsError(ValueError):
    """A setting has a value wirestream cannot use; the message names the variable."""


class Secret:
    """A value that must never be shown: ``str`` and ``repr`` mask it, :meth:`reveal` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that hands it to the Kafka client."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return "***" if self._value else ""

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    """wirestream's configuration. Build it with :meth:`from_env`."""

    broker: str = _setting("kafka://127.0.0.1:9092", "Kafka bootstrap servers, comma-separated (`kafka://host:port`).")
    broker_wait_seconds: float = _setting(
        60.0,
        "How long a worker or command waits for an unreachable broker (retrying with backoff) before it "
        "exits non-zero; a refused password or certificate exits at once.",
    )
    security_protocol: str = _setting(
        "PLAINTEXT", "How clients talk to Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (docs/operations.md)."
    )
    sasl_mechanism: str = _setting(
        "", "SASL mechanism, required with the SASL_ protocols: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    sasl_username: str = _setting("", "SASL user name.")
    sasl_password: Secret = field(
        default_factory=Secret,
        metadata={"help": "SASL password; never logged or shown. Or use `WIRESTREAM_SASL_PASSWORD_FILE`, not both."},
    )
    sasl_password_file: str = _setting(
        "", "File holding the SASL password (a Docker/Kubernetes secret); one trailing newline is dropped."
    )
    ssl_cafile: str = _setting(
        "", "PEM file of the CA(s) that signed the brokers' certificates (empty: the system's trust store)."
    )
    ssl_certfile: str = _setting("", "PEM client certificate (chain) for mutual TLS; needs `WIRESTREAM_SSL_KEYFILE`.")
    ssl_keyfile: str = _setting("", "PEM private key (unencrypted) of `WIRESTREAM_SSL_CERTFILE`.")
    app_id: str = _setting("wirestream", "Consumer group id and prefix of the app's internal topics.")
    topic_raw: str = _setting("stories.raw", "Input topic: raw stories (key: uri).")
    topic_clean: str = _setting("stories.clean", "Internal topic: cleaned, language-tagged stories (key: language).")
    topic_unique: str = _setting("stories.unique", "Internal topic: stories that passed dedup (key: uri).")
    topic_tagged: str = _setting(
        "stories.tagged", "Internal topic: tagged stories on their way to the thread stage; one partition (key: uri)."
    )
    topic_enriched: str = _setting("stories.enriched", "Output topic: enriched stories (key: uri).")
    topic_duplicates: str = _setting("stories.duplicates", "Output topic: duplicate notices (key: uri).")
    topic_threads: str = _setting(
        "stories.threads", "Output topic: each thread's current summary, compacted (key: thread id)."
    )
    topic_deadletter: str = _setting("stories.deadletter", "Output topic: dead letters, with the original bytes.")
    partitions: int = _setting(4, "Partitions of the raw, clean, unique and enriched topics (and the dedup changelog).")
    output_partitions: int = _setting(4, "Partitions of the duplicates, threads and dead-letter topics.")
    replication_factor: int = _setting(
        0, "Replication factor of the topics wirestream creates (0: 3, or the broker count if the cluster is smaller)."
    )
    min_insync_replicas: int = _setting(
        0,
        "`min.insync.replicas` of the topics wirestream creates: replicas that must have a record before "
        "it is acknowledged (producers use acks=all). 0: 2 when the replication factor is 3 or more, else 1.",
    )
    max_payload_bytes: int = _setting(2 * 1024 * 1024, "Largest raw message accepted; larger ones are dead-lettered.")
    dedup_window_seconds: float = _setting(
        7 * 24 * 3600.0, "How long dedup remembers a story (seconds); older entries are deleted from the table."
    )
    dedup_near_threshold: float = _setting(
        0.5, "Estimated Jaccard similarity (0-1] at or above which a story is a near duplicate (docs/dedup.md)."
    )
    dedup_shingle_size: int = _setting(
        3, "Words per shingle of the near-duplicate signature (characters for zh, ja, th, km, lo, my)."
    )
    translations: str = _setting(
        "pass",
        "Where a translation of an earlier story of another language goes (`enrichment.dedup.translation_of`): "
        "`pass` (stories.enriched) or `duplicate` (stories.duplicates, kind `translation`; docs/threads.md).",
    )
    threads_window_seconds: float = _setting(
        72 * 3600.0,
        "How long a story can draw later ones into its thread (seconds; 72 h); older stories, and threads "
        "with no story left, are deleted from the table (docs/threads.md).",
    )
    threads_encoder: str = _setting(
        "none",
        "A multilingual text encoder the thread stage also compares stories with: `none`, or "
        "`use-multilingual-v3` (the `multilingual` extra; ~11 ms CPU a story in the entity hop, a partition "
        'each, and ~2.5 ms more in the one-partition thread stage; docs/threads.md, "The opt-in encoder").',
    )
    threads_order_wait_seconds: float = _setting(
        1.0,
        "Longest the thread stage holds a story while a partition that could still bring an earlier one "
        "is silent; past it, order (and so a thread's first story) can depend on timing (docs/architecture.md).",
    )
    store: str = _setting(
        "memory://", "Faust table store: `memory://`, or `rocksdb://` (durable, on disk, opened with rocksdict)."
    )
    data_dir: str = _setting(".local/worker", "Directory for the worker's table data (RocksDB).")
    language_short_text_model: str = _setting(
        "lite", "Second-opinion model for short text: `lite`, `full` (more accurate, +1.2 GB, slow to load) or `off`."
    )
    entities_enabled: bool = _setting(True, "Run the entity stage (false: pass stories through untagged).")
    entities_max_chars: int = _setting(
        30_000,
        "Body characters the entity stage reads per story (at most 1,000,000); the rest is not tagged, and "
        "`enrichment.entities_tagged_chars` says how much was read (docs/entities.md).",
    )
    entities_batch_size: int = _setting(
        16, "Stories tagged per batch by `wirestream enrich` (the worker tags one at a time)."
    )
    ninjs_version: str = _setting(
        "2.2",
        "IPTC ninjs version of the enriched record's `item`: `2.2` or `3.0` (camelCase names; docs/formats.md).",
    )
    fetch_max_wait_ms: int = _setting(
        50,
        "Longest a fetch request waits on the broker for new records (ms); Faust fixes 1500, which stalls a "
        "chain of topics read by one consumer (docs/operations.md).",
    )
    gc_freeze: bool = _setting(
        True,
        "Freeze the objects loaded at start-up (models, tables) out of Python's garbage collector, so a "
        "full collection does not stall a story for ~0.2 s (docs/operations.md).",
    )
    stall_seconds: float = _setting(
        120.0,
        "An assigned partition with lag whose committed offset has not moved for this long is stalled: "
        "`wirestream_partition_stalled` and a failing `/healthz` (0: no watchdog).",
    )
    session_timeout_seconds: float = _setting(
        10.0,
        "Kafka consumer-group session timeout: a worker that stops heartbeating (killed, hung) loses its "
        "partitions after this long; at least the broker's `group.min.session.timeout.ms` (6 s) "
        "(docs/reliability.md).",
    )
    resend_lookback_seconds: float = _setting(
        300.0,
        "On a rebalance that gives a worker new partitions, how far back it reads the output topics for "
        "records an earlier (crashed) worker already sent, so as not to send them again; 0: off (docs/reliability.md).",
    )
    heartbeat_interval_seconds: float = _setting(
        1.0, "Interval of the consumer's heartbeats to the group coordinator; under a third of the session timeout."
    )
    web_host: str = _setting("127.0.0.1", "Address the worker's web server binds (metrics, health).")
    web_port: int = _setting(6066, "Port of the worker's web server (`/metrics`, `/healthz`, `/readyz`).")
    log_level: str = _setting("INFO", "Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    shutdown_grace_seconds: float = _setting(30.0, "Time allowed to finish in-flight stories on SIGTERM.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every ``WIRESTREAM_<NAME>`` variable, convert it and validate the whole.

        Raises :class:`SettingsError` naming the variable and the accepted values.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None:
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        if values.get("sasl_password_file"):
            if "sasl_password" in values:
                raise SettingsError(
                    f"{env_name('sasl_password')} and {env_name('sasl_password_file')} are both set: keep one"
                )
            values["sasl_password"] = _read_secret("sasl_password_file", values["sasl_password_file"])
        settings = cls(**values)
        settings.validate()
        return settings

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed, validated."""
        settings = replace(self, **changes)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise :class:`SettingsError` on the first unusable value."""
        for name in self.topic_names():
            value = getattr(self, name)
            if not _TOPIC_NAME.match(value):
                _fail(name, value, "a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)")
        all_topics = [getattr(self, n) for n in self.topic_names()]
        if len(set(all_topics)) != len(all_topics):
            raise SettingsError(f"topic names must be distinct, got {all_topics}")
        for name in ("replication_factor", "min_insync_replicas"):
            if getattr(self, name) < 0:
                _fail(name, getattr(self, name), "an integer >= 1, or 0 for the default")
        if self.replication_factor and self.min_insync_replicas > self.replication_factor:
            _fail(
                "min_insync_replicas",
                self.min_insync_replicas,
                f"at most WIRESTREAM_REPLICATION_FACTOR={self.replication_factor}: no write could be acknowledged",
            )
        for name in (
            "partitions",
            "output_partitions",
            "max_payload_bytes",
            "entities_batch_size",
            "entities_max_chars",
            "dedup_shingle_size",
            "fetch_max_wait_ms",
        ):
            if getattr(self, name) < 1:
                _fail(name, getattr(self, name), "an integer >= 1")
        if self.entities_max_chars > 1_000_000:
            _fail("entities_max_chars", self.entities_max_chars, "an integer from 1 to 1000000 (spaCy's limit)")
        if not 1 <= self.web_port <= 65535:
            _fail("web_port", self.web_port, "a port number 1-65535")
        self._check_seconds("dedup_window_seconds", 0, above=True)
        if not 0 < self.dedup_near_threshold <= 1:
            _fail("dedup_near_threshold", self.dedup_near_threshold, "a number > 0 and <= 1")
        if self.translations not in TRANSLATIONS:
            _fail("translations", self.translations, " or ".join(TRANSLATIONS))
        self._check_seconds("threads_window_seconds", 0, above=True)
        if self.threads_encoder not in ENCODERS:
            _fail("threads_encoder", self.threads_encoder, " or ".join(ENCODERS))
        if (install := missing_package(self.threads_encoder)) is not None:
            raise SettingsError(f"{env_name('threads_encoder')}={self.threads_encoder} is not installed: {install}")
        self._check_seconds("threads_order_wait_seconds", 0)
        self._check_seconds("stall_seconds", 0, note=" (0: no watchdog)")
        self._check_seconds("shutdown_grace_seconds", 0, above=True)
        self._check_seconds("resend_lookback_seconds", 0, note=" (0: off)")
        self._check_seconds("session_timeout_seconds", 1)
        if not 0 < self.heartbeat_interval_seconds * 3 <= self.session_timeout_seconds:
            _fail(
                "heartbeat_interval_seconds",
                self.heartbeat_interval_seconds,
                f"a number of seconds > 0 and at most a third of the session timeout ({self.session_timeout_seconds})",
            )
        if self.language_short_text_model not in ("full", "lite", "off"):
            _fail("language_short_text_model", self.language_short_text_model, "full, lite or off")
        if self.ninjs_version not in NINJS_VERSIONS:
            _fail("ninjs_version", self.ninjs_version, " or ".join(NINJS_VERSIONS))
        if self.log_level not in _LOG_LEVELS:
            _fail("log_level", self.log_level, "one of " + ", ".join(_LOG_LEVELS))
        if not self.store.startswith(("memory://", "rocksdb://")):
            _fail("store", self.store, "memory:// or rocksdb://")
        for server in self.broker.split(","):
            if not re.match(r"^(kafka://)?[^:/\s]+:\d{1,5}$", server.strip()):
                _fail("broker", self.broker, "comma-separated host:port (optionally kafka://host:port)")
        self._check_seconds("broker_wait_seconds", 0)
        self._validate_security()

    def _check_seconds(self, name: str, least: int, *, above: bool = False, note: str = "") -> None:
        """Fail unless the duration ``name`` is at least ``least`` seconds (more than ``least`` with ``above``)."""
        value = getattr(self, name)
        if value <= least if above else value < least:
            _fail(name, value, f"a number of seconds {'>' if above else '>='} {least}{note}")

    def _validate_security(self) -> None:
        protocol = self.security_protocol
        if protocol not in SECURITY_PROTOCOLS:
            _fail("security_protocol", protocol, "one of " + ", ".join(SECURITY_PROTOCOLS))
        if protocol.startswith("SASL_"):
            if not self.sasl_mechanism:
                _missing(
                    "sasl_mechanism",
                    f"with {env_name('security_protocol')}={protocol}: one of " + ", ".join(SASL_MECHANISMS),
                )
            if self.sasl_mechanism not in SASL_MECHANISMS:
                _fail("sasl_mechanism", self.sasl_mechanism, "one of " + ", ".join(SASL_MECHANISMS))
            if not self.sasl_username:
                _missing("sasl_username", f"with {env_name('security_protocol')}={protocol}")
            if not self.sasl_password:
                _missing(
                    "sasl_password",
                    f"(or {env_name('sasl_password_file')}) with {env_name('security_protocol')}={protocol}",
                )
        else:
            for name in ("sasl_mechanism", "sasl_username", "sasl_password", "sasl_password_file"):
                if getattr(self, name):
                    _misplaced(name, protocol, "SASL_PLAINTEXT or SASL_SSL")
        uses_tls = protocol in ("SSL", "SASL_SSL")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if not path:
                continue
            if not uses_tls:
                _misplaced(name, protocol, "SSL or SASL_SSL")
            if not os.access(path, os.R_OK) or not os.path.isfile(path):
                _fail(name, path, "a readable PEM file")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            certfile, keyfile = env_name("ssl_certfile"), env_name("ssl_keyfile")
            raise SettingsError(f"{certfile} and {keyfile} go together (mutual TLS): set both or neither")

    def isolated(self, run: str, prefix: str = "t") -> Settings:
        """A copy with an app id and topic names of its own (``<prefix><run>.stories.raw``, ...), for
        tests and benchmarks that share a broker."""
        defaults = Settings()
        topics = {name: f"{prefix}{run}.{getattr(defaults, name)}" for name in self.topic_names()}
        return self.with_overrides(app_id=f"wirestream-{prefix}-{run}", **topics)

    def environ(self) -> dict[str, str]:
        """The ``WIRESTREAM_*`` variables that give these settings (for a worker subprocess)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                env[env_name(f.name)] = value.reveal()
            else:
                env[env_name(f.name)] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    @staticmethod
    def topic_names() -> tuple[str, ...]:
        """Names of the settings that hold topic names."""
        return tuple(f.name for f in fields(Settings) if f.name.startswith("topic_"))

    @property
    def bootstrap_servers(self) -> str:
        """The broker list as aiokafka wants it (no ``kafka://``)."""
        return ",".join(s.strip().removeprefix("kafka://") for s in self.broker.split(","))

    @property
    def max_record_bytes(self) -> int:
        """Largest record wirestream writes to or reads from Kafka: an internal record carries the raw
        story and its clean text (and an enriched one every mention), so four raw payloads plus 1 MiB.
        Every topic is created with this ``max.message.bytes`` and the clients are sized for it."""
        return 4 * self.max_payload_bytes + 1024 * 1024

    def replication(self, brokers: int) -> tuple[int, int]:
        """The replication factor and ``min.insync.replicas`` of new topics on a cluster of ``brokers``.

        Raises :class:`SettingsError` when the cluster is too small for the configured values.
        """
        factor = self.replication_factor or min(3, brokers)
        if factor > brokers:
            raise SettingsError(
                f"{env_name('replication_factor')}={factor} needs {factor} brokers, the cluster has {brokers}"
            )
        min_insync = self.min_insync_replicas or max(1, min(factor - 1, 2))
        if min_insync > factor:
            raise SettingsError(
                f"{env_name('min_insync_replicas')}={min_insync} is more than the replication factor {factor}"
            )
        return factor, min_insync

    @property
    def dedup_changelog_topic(self) -> str:
        """Faust's changelog topic of the dedup table."""
        return f"{self.app_id}-dedup-changelog"

    @property
    def threads_changelog_topic(self) -> str:
        """Faust's changelog topic of the threads table."""
        return f"{self.app_id}-threads-changelog"


def env_name(field_name: str) -> str:
    """The environment variable of a setting."""
    return ENV_PREFIX + field_name.upper()


def _fail(name: str, value: object, expected: str) -> None:
    raise SettingsError(f"{env_name(name)}={value!r} is not valid: expected {expected}")


def _missing(name: str, context: str) -> None:
    raise SettingsError(f"{env_name(name)} is required {context}")


def _misplaced(name: str, protocol: str, wanted: str) -> None:
    raise SettingsError(
        f"{env_name(name)} is set but {env_name('security_protocol')}={protocol} does not use it: "
        f"set {env_name('security_protocol')} to {wanted}, or unset {env_name(name)}"
    )


def _read_secret(name: str, path: str) -> Secret:
    """The secret in the file ``path`` (a Docker/Kubernetes secret), without one trailing newline."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise SettingsError(f"{env_name(name)}={path!r} cannot be read: {reason}") from None
    return Secret(text.removesuffix("\n").removesuffix("\r"))


def _convert(name: str, type_name: Any, raw: str) -> Any:
    text = raw.strip()
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "bool": "true or false"}[kind]
        raise SettingsError(f"{env_name(name)}={raw!r} is not valid: expected {expected}") from None
    if kind == "Secret":
        return Secret(raw)  # a password is taken as it is, spaces included
    if name in ("log_level", "security_protocol", "sasl_mechanism"):
        return text.upper()
    if name == "translations":
        return text.lower()
    return text


def markdown_table() -> str:
    """The configuration table for the README, generated from the settings."""
    defaults = Settings()
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        cell = f"`{shown}`" if shown else "(none)"
        lines.append(f"| `{env_name(f.name)}` | {cell} | {f.metadata['help']} |")
    return "\n".join(lines)

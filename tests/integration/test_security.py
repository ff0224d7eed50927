"""wirestream against a secured Apache Kafka: SASL_SSL with SCRAM-SHA-512 and mutual TLS.

One broker serves both (a plaintext listener for its own use, a SASL_SSL and a
client-certificate SSL listener), with a CA and certificates made by the test. Its ports come
from ``WIRESTREAM_TEST_SECURE_KAFKA_PORT`` (plaintext; controller +1, SASL_SSL +2, SSL +3,
SASL_PLAINTEXT +4).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.client import consume, produce
from streams.kafka_access import KafkaAccess
from streams.kafka_local import LocalKafka, SecureListener
from streams.settings import Secret, Settings
from streams.topics import ensure_topics
from tests.certificates import Certificates, make_certificates
from tests.integration.conftest import (
    REPO,
    WorkerProcess,
    distinct_words,
    free_port,
    isolated_settings,
    settings_env,
    without_slow_models,
)

pytestmark = pytest.mark.integration

SECURE_KAFKA_PORT = int(os.environ.get("WIRESTREAM_TEST_SECURE_KAFKA_PORT", "19200"))
USER, PASSWORD = "wirestream", "scram-Pa55word-for-tests"
READER, READER_PASSWORD = "reader", "reader-Pa55word-no-acls"  # a login with no ACL granted


@dataclass
class SecuredKafka:
    """The session's secured broker, started on first use."""

    broker: LocalKafka
    certificates: Certificates

    @property
    def sasl_ssl_port(self) -> int:
        return self.broker.secure_listeners[0].port

    @property
    def ssl_port(self) -> int:
        return self.broker.secure_listeners[1].port

    def start(self) -> None:
        try:
            self.broker.start()
        except Exception as error:  # noqa: BLE001
            message = f"cannot start the secured local Kafka broker: {error}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)

    @property
    def sasl_plaintext_port(self) -> int:
        return self.broker.secure_listeners[2].port

    def sasl_ssl(self, **changes: Any) -> Settings:
        """Settings of an isolated pipeline that logs in with SCRAM-SHA-512 over TLS."""
        login = {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": USER,
            "sasl_password": Secret(PASSWORD),
            "ssl_cafile": str(self.certificates.ca),
        }
        return quick_settings(self.sasl_ssl_port, **(login | changes))

    def mutual_tls(self, **changes: Any) -> Settings:
        """Settings of an isolated pipeline that shows a client certificate."""
        certificate = {
            "security_protocol": "SSL",
            "ssl_cafile": str(self.certificates.ca),
            "ssl_certfile": str(self.certificates.client_cert),
            "ssl_keyfile": str(self.certificates.client_key),
        }
        return quick_settings(self.ssl_port, **(certificate | changes))


def quick_settings(port: int, **changes: Any) -> Settings:
    """An isolated pipeline on a local port whose worker starts fast: these tests are about reaching
    Kafka, so the slow models (short-text language model, entity tagging) stay unloaded."""
    return without_slow_models(isolated_settings(f"kafka://127.0.0.1:{port}"), **changes)


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    """The secured broker, stopped once this module's tests are done (no other module uses it)."""
    certificates = make_certificates(tmp_path_factory.mktemp("certificates"))
    port = SECURE_KAFKA_PORT
    users = ((USER, PASSWORD), (READER, READER_PASSWORD))
    listeners = (
        SecureListener(port + 2, "SASL_SSL", certificates.broker_keystore, certificates.ca, users),
        SecureListener(port + 3, "SSL", certificates.broker_keystore, certificates.ca),
        SecureListener(port + 4, "SASL_PLAINTEXT", users=users),
    )
    # ACLs are enforced: the broker itself (ANONYMOUS on its plaintext listeners), the SCRAM user and
    # the client certificate may do anything, READER nothing.
    super_users = ("User:ANONYMOUS", f"User:{USER}", "User:CN=wirestream client")
    broker = LocalKafka(port=port, secure_listeners=listeners, super_users=super_users)
    secured = SecuredKafka(broker, certificates)
    secured.broker.reset()
    yield secured
    secured.broker.stop()


def stories(count: int, tag: str) -> list[bytes]:
    return [
        orjson.dumps(
            {
                "uri": f"urn:test:{tag}:{i}",
                "version": 1,
                "language": "en",
                "headlines": [{"value": f"Secured story {i}"}],
                "body_text": f"Reporters in Lisbon wrote story {i} for the {tag} test. {distinct_words(i)}",
            }
        )
        for i in range(count)
    ]


def enriched_uris(records: list[tuple[str, dict[str, Any]]], settings: Settings) -> set[str]:
    return {record["item"]["uri"] for topic, record in records if topic == settings.topic_enriched}


def test_worker_waits_for_its_broker_then_runs_the_pipeline_over_sasl_ssl(
    secured_kafka: SecuredKafka, start_worker: Any
) -> None:
    """Started before its broker, the worker says which address failed, answers /readyz 503, and
    once the broker is up runs the pipeline over SASL_SSL (SCRAM-SHA-512) without showing the password."""
    secured_kafka.broker.stop()  # normally not started yet: this test comes first
    settings = secured_kafka.sasl_ssl(broker_wait_seconds=240.0)
    worker: WorkerProcess = start_worker(settings, ready=False)
    deadline = time.monotonic() + 60
    while True:
        assert worker.process is not None and worker.process.poll() is None, worker.tail()
        try:
            status, body = worker.get("/readyz")
        except OSError:
            status, body = 0, b""
        if status:
            break
        assert time.monotonic() < deadline, f"no /readyz answer while waiting for Kafka:\n{worker.tail()}"
        time.sleep(0.3)
    assert (status, orjson.loads(body)) == (503, {"ready": False, "starting": "waiting for Kafka"})
    assert worker.get("/healthz")[0] == 200
    waiting = [line for line in worker.tail(200).splitlines() if "WIRESTREAM_BROKER" in line]
    assert len(waiting) == 1, worker.tail()
    assert f"127.0.0.1:{secured_kafka.sasl_ssl_port} refused the connection" in waiting[0]

    secured_kafka.start()
    worker.wait_ready(300)
    kafka = KafkaAccess.from_settings(settings)
    payloads = stories(5, "sasl")
    asyncio.run(produce(kafka, settings.topic_raw, payloads))
    outputs = [settings.topic_enriched, settings.topic_duplicates, settings.topic_deadletter]
    records = asyncio.run(consume(kafka, outputs, expected=len(payloads), timeout=120))
    assert enriched_uris(records, settings) == {f"urn:test:sasl:{i}" for i in range(5)}

    metrics = worker.get("/metrics")[1].decode()
    assert "wirestream_" in metrics and PASSWORD not in metrics
    assert worker.stop() == 0
    log = worker.log_path.read_text()
    assert PASSWORD not in log
    # The read-back of what was already sent (streams/resends.py) is a client of its own: it logs in too.
    assert "read back the records already sent" in log and "could not read back" not in log, worker.tail()


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        ("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL_SSL", "PLAIN"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
        ("SASL_PLAINTEXT", "PLAIN"),
    ],
)
def test_every_sasl_protocol_and_mechanism_creates_topics_and_moves_a_record(
    secured_kafka: SecuredKafka, protocol: str, mechanism: str
) -> None:
    """The other logins the settings offer, through the clients ``topics``, ``produce`` and ``consume`` use."""
    secured_kafka.start()
    settings = secured_kafka.sasl_ssl(sasl_mechanism=mechanism)
    if protocol == "SASL_PLAINTEXT":
        broker = f"kafka://127.0.0.1:{secured_kafka.sasl_plaintext_port}"
        settings = settings.with_overrides(broker=broker, security_protocol=protocol, ssl_cafile="")
    kafka = KafkaAccess.from_settings(settings)

    async def round_trip() -> list[tuple[str, dict[str, Any]]]:
        await ensure_topics(settings)
        await produce(kafka, settings.topic_raw, [b'{"uri": "urn:test:login"}'])
        return await consume(kafka, [settings.topic_raw], expected=1, timeout=30)

    assert asyncio.run(round_trip()) == [(settings.topic_raw, {"uri": "urn:test:login"})]


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streams.cli", *args]
    env = settings_env(settings)
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_pipeline_over_mutual_tls_with_the_command_line_tools(
    secured_kafka: SecuredKafka, start_worker: Any, tmp_path: Path
) -> None:
    """Worker, ``produce`` and ``consume`` all show the client certificate; stories come out enriched."""
    secured_kafka.start()
    settings = secured_kafka.mutual_tls()
    start_worker(settings, ready=False).wait_ready(300)
    source = tmp_path / "stories.jsonl"
    source.write_bytes(b"\n".join(stories(4, "mtls")) + b"\n")
    produced = run_cli(settings, "produce", str(source))
    assert produced.returncode == 0, produced.stderr
    consumed = run_cli(settings, "consume", "--expect", "4", "--timeout", "120", "--idle", "60")
    assert consumed.returncode == 0, consumed.stderr
    records = [orjson.loads(line) for line in consumed.stdout.splitlines()]
    uris = {r["record"]["item"]["uri"] for r in records if r["topic"] == settings.topic_enriched}
    assert uris == {f"urn:test:mtls:{i}" for i in range(4)}


@pytest.mark.parametrize("command", ["worker", "topics"])
def test_a_login_without_permission_ends_the_command_in_one_line(secured_kafka: SecuredKafka, command: str) -> None:
    """A user the broker authenticates but does not authorize (no ACL) cannot set up the topics:
    one line naming the user, exit 78, not a traceback nor topics logged as created."""
    secured_kafka.start()
    settings = secured_kafka.sasl_ssl(sasl_username=READER, sasl_password=Secret(READER_PASSWORD))
    finished = run_cli(settings, command, timeout=60)
    lines = finished.stderr.strip().splitlines()
    assert finished.returncode == 78, finished.stderr
    assert len(lines) == 1, finished.stderr
    assert f"does not allow user '{READER}' this" in lines[0] and "AuthorizationFailed" in lines[0]
    assert READER_PASSWORD not in finished.stderr + finished.stdout


REFUSALS = {
    "wrong password": (
        lambda k: k.sasl_ssl(sasl_password=Secret("not-the-" + PASSWORD)),
        "refused the SCRAM-SHA-512 login of user 'wirestream': check WIRESTREAM_SASL_USERNAME and "
        "WIRESTREAM_SASL_PASSWORD",
    ),
    "unknown CA": (
        lambda k: k.sasl_ssl(ssl_cafile=str(k.certificates.untrusted_ca)),
        "is not trusted (unable to get local issuer certificate): check WIRESTREAM_SSL_CAFILE",
    ),
    "plaintext against the TLS port": (
        lambda k: quick_settings(k.ssl_port),
        "expects TLS but WIRESTREAM_SECURITY_PROTOCOL=PLAINTEXT",
    ),
    "TLS against the plaintext port": (
        lambda k: quick_settings(k.broker.port, security_protocol="SSL", ssl_cafile=str(k.certificates.ca)),
        "does not speak TLS but WIRESTREAM_SECURITY_PROTOCOL=SSL",
    ),
    "no client certificate": (
        lambda k: k.mutual_tls(ssl_certfile="", ssl_keyfile=""),
        "requires a client certificate",
    ),
}


@pytest.mark.parametrize("command", ["worker", "consume"])
@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_refusal_ends_the_command_at_once_in_one_line(
    secured_kafka: SecuredKafka, refusal: str, command: str
) -> None:
    """Settings a broker refuses are permanent: one line naming the cause and the setting, exit 78,
    within seconds - not a retry loop that looks alive."""
    secured_kafka.start()
    make_settings, cause = REFUSALS[refusal]
    settings = make_settings(secured_kafka).with_overrides(broker_wait_seconds=300.0)
    started = time.monotonic()
    finished = run_cli(settings, command, timeout=60)
    elapsed = time.monotonic() - started
    lines = finished.stderr.strip().splitlines()
    assert finished.returncode == 78, finished.stderr
    assert elapsed < 20, f"took {elapsed:.1f} s"
    assert len(lines) == 1, finished.stderr
    assert cause in lines[0]
    if command == "worker":
        assert orjson.loads(lines[0])["level"] == "ERROR"
    else:
        assert lines[0].startswith("wirestream: error: ")
    assert PASSWORD not in finished.stderr + finished.stdout


def test_a_worker_gives_up_on_an_unreachable_broker_after_the_wait(tmp_path: Path) -> None:
    """No broker at the address: one line naming it and WIRESTREAM_BROKER, /readyz 503 and /healthz
    200 while waiting, then exit 69 once WIRESTREAM_BROKER_WAIT_SECONDS have passed."""
    settings = isolated_settings(f"kafka://127.0.0.1:{free_port()}").with_overrides(broker_wait_seconds=6.0)
    worker = WorkerProcess(settings, tmp_path / "worker.log").spawn()
    try:
        deadline = time.monotonic() + 30
        answers: list[tuple[int, int]] = []
        while worker.process is not None and worker.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                answers.append((worker.get("/readyz")[0], worker.get("/healthz")[0]))
            time.sleep(0.3)
        assert worker.process is not None and worker.process.poll() == 69, worker.tail()
    finally:
        worker.stop()
    assert answers and set(answers) == {(503, 200)}
    lines = worker.log_path.read_text().splitlines()
    assert len(lines) == 2, lines  # the first failure, then giving up
    address = settings.bootstrap_servers
    assert "WIRESTREAM_BROKER" in lines[0] and f"{address} refused the connection" in lines[0]
    assert orjson.loads(lines[1])["level"] == "ERROR" and "WIRESTREAM_BROKER_WAIT_SECONDS=6" in lines[1]

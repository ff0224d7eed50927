"""Fixtures for tests against a real Apache Kafka broker (started once per test session).

On CI (``CI`` set) a broker that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest

from streams.kafka_local import LocalKafka, LocalKafkaCluster
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
TEST_KAFKA_PORT = int(os.environ.get("WIRESTREAM_TEST_KAFKA_PORT", "19092"))


Brokers = TypeVar("Brokers", LocalKafka, LocalKafkaCluster)


def fresh_kafka(brokers: Brokers) -> Iterator[Brokers]:
    """Start a broker or cluster on fresh data dirs (on CI a failure, never a skip); stop it after."""
    try:
        brokers.stop()
        brokers.reset()
        brokers.start()
    except Exception as error:  # noqa: BLE001
        message = f"cannot start the local Kafka on {brokers.bootstrap}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield brokers
    brokers.stop()


@pytest.fixture(scope="session")
def kafka() -> Iterator[LocalKafka]:
    """A real single-node Kafka 4.x broker on a test port, with a fresh data dir."""
    yield from fresh_kafka(LocalKafka(port=TEST_KAFKA_PORT))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(kafka: LocalKafka) -> Settings:
    """Settings of an isolated pipeline: its own app id and topic names on the test broker."""
    return isolated_settings(f"kafka://{kafka.bootstrap}")


def isolated_settings(broker: str, **overrides: Any) -> Settings:
    """Settings of a pipeline of its own on ``broker``: app id, topic names, web port, data dir."""
    run = uuid.uuid4().hex[:8]
    return Settings(broker=broker, web_port=free_port(), data_dir=f"/tmp/wirestream-test-{run}", **overrides).isolated(
        run
    )


def without_slow_models(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with the models that take most of a worker's 30-odd seconds to start left unloaded
    (the short-text language model, entity tagging): for tests about Kafka, not the models."""
    return settings.with_overrides(language_short_text_model="off", entities_enabled=False, **changes)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a worker these settings."""
    return {**os.environ, **settings.environ()}


WORKER_COMMAND = ("-m", "streams.cli", "worker")


@dataclass
class WorkerProcess:
    """A ``wirestream worker`` subprocess: the very command the container stack runs (or, with
    ``command``, a script that runs it with a fault injected)."""

    settings: Settings
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    command: tuple[str, ...] = WORKER_COMMAND
    cwd: Path = REPO  # another checkout runs its own code (a before/after comparison)
    _log: object = field(default=None, repr=False)

    def start(self, ready_timeout: float = 120.0) -> WorkerProcess:
        self.spawn()
        self.wait_ready(ready_timeout)
        return self

    def spawn(self) -> WorkerProcess:
        """Start the process without waiting for it to be ready."""
        log = self.log_path.open("ab")
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, *self.command],
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
        )
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}{path}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.tail()}")
            try:
                status, body = self.get("/readyz")
                if status == 200 and orjson.loads(body)["ready"]:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"worker not ready after {timeout}s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the worker and wait for it to exit; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[object]:
    """Start workers for a test; every one is stopped at teardown."""
    workers: list[WorkerProcess] = []

    def start(
        settings: Settings, name: str = "worker", command: tuple[str, ...] = WORKER_COMMAND, ready: bool = True
    ) -> WorkerProcess:
        """Start a worker and wait until it is ready (``ready=False``: return at once)."""
        worker = WorkerProcess(settings, tmp_path / f"{name}.log", command=command)
        workers.append(worker)
        return worker.start() if ready else worker.spawn()

    yield start
    for worker in workers:
        if worker.process is not None and worker.process.poll() is None:
            worker.stop()


def distinct_words(i: int) -> str:
    """Words no other story has: templated stories that differ only in numbers are near duplicates
    of each other (estimated Jaccard around the 0.5 threshold), which these tests are not about."""
    return " ".join(hashlib.sha1(f"{i}-{j}".encode()).hexdigest()[:8] for j in range(20)) + "."

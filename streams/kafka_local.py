"""Local Apache Kafka 4.x (KRaft) run from Maven jars: one broker, or a cluster of several.

Every node is a combined broker+controller on 127.0.0.1 with its own ports and data dir.
Usage: ``python -m streams.kafka_local start|stop|status|reset [--brokers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError as ClientError

REPO_ROOT = Path(__file__).resolve().parents[1]
POM = REPO_ROOT / "kafka" / "pom.xml"
LOG4J_CONFIG = REPO_ROOT / "kafka" / "log4j2.properties"
MIN_JAVA = 17
JVM_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

Progress = Callable[[str], None]

# Ports a cluster node takes from the cluster's base port: broker, controller, and two spare
# (for extra listeners), so node i listens on base + PORTS_PER_NODE * i.
PORTS_PER_NODE = 4

# Brokers started by this process, so their exit can be reaped (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


class KafkaError(RuntimeError):
    """The local broker could not be fetched, started or stopped."""


def _quiet(_: str) -> None:
    """Discard progress messages."""


def _default_home() -> Path:
    """Return the Kafka home: ``$WIRESTREAM_KAFKA_HOME`` or ``<repo>/.local/kafka``."""
    env = os.environ.get("WIRESTREAM_KAFKA_HOME")
    return Path(env).expanduser() if env else REPO_ROOT / ".local" / "kafka"


def _default_port() -> int:
    """Return the broker port: ``$WIRESTREAM_KAFKA_PORT`` or 9092."""
    return int(os.environ.get("WIRESTREAM_KAFKA_PORT", "9092"))


def kafka_version(pom: Path = POM) -> str:
    """Return the Kafka version pinned in ``kafka/pom.xml``."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = ET.parse(pom).getroot().findtext("m:properties/m:kafka.version", namespaces=ns)
    if not version:
        raise KafkaError(f"no <kafka.version> property in {pom}")
    return version.strip()


def java_executable() -> str:
    """Return a Java >= 17 executable (``$JAVA_HOME/bin/java`` or ``java`` on PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KafkaError(f"java not found: install a JDK >= {MIN_JAVA} (or set JAVA_HOME)")
    out = subprocess.run([java, "-version"], check=False, capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise KafkaError(f"cannot parse `{java} -version` output: {out.strip()!r}")
    major = int(match[1]) if match[1] != "1" else int(match[2] or 0)
    if major < MIN_JAVA:
        raise KafkaError(f"Kafka 4.x needs Java >= {MIN_JAVA}; {java} is Java {major}")
    return java


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Return True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    """Return the last lines of a text file, or '' if it does not exist."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    """Return True if pid is a live (non-zombie) process."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


async def _describe_cluster(bootstrap: str, timeout_s: float) -> int:
    """Return the number of brokers a metadata round trip reports."""
    ms = max(int(timeout_s * 1000), 1000)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=ms)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return len(cluster["brokers"])
    finally:
        await admin.close()


@dataclass(frozen=True)
class KafkaStatus:
    """Snapshot of a local broker's state."""

    running: bool
    pid: int | None
    bootstrap: str

    def __str__(self) -> str:
        if self.running:
            return f"running (pid {self.pid}) on {self.bootstrap}"
        return f"stopped ({self.bootstrap})"


def _cluster_size(bootstrap: str, timeout_s: float = 5.0) -> int:
    """Return the number of brokers the node at bootstrap reports, 0 if it does not answer
    (safe inside an event loop)."""
    host, _, port = bootstrap.rpartition(":")
    if not port_open(int(port), host):
        return 0
    result: list[int] = [0]

    def probe() -> None:
        try:
            result[0] = asyncio.run(asyncio.wait_for(_describe_cluster(bootstrap, timeout_s), timeout_s))
        except (ClientError, OSError, TimeoutError):
            result[0] = 0

    thread = threading.Thread(target=probe, name="kafka-probe", daemon=True)
    thread.start()
    thread.join(timeout_s + 5)
    return result[0]


def broker_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """Return True if the broker answers a metadata request (safe inside an event loop)."""
    return _cluster_size(bootstrap, timeout_s) > 0


@dataclass(frozen=True)
class SecureListener:
    """An extra client listener on 127.0.0.1: ``SSL`` requiring a client certificate signed by
    ``cafile``, or ``SASL_SSL`` / ``SASL_PLAINTEXT`` with the logins of ``users`` for SCRAM-SHA-256/512
    (created when the log dir is formatted) and PLAIN.

    ``keystore`` (TLS only) is one PEM file with the broker's unencrypted PKCS#8 key and certificate chain.
    """

    port: int
    protocol: str
    keystore: Path | None = None
    cafile: Path | None = None
    users: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.protocol not in ("SSL", "SASL_SSL", "SASL_PLAINTEXT"):
            raise ValueError(f"a secure listener is SSL, SASL_SSL or SASL_PLAINTEXT, not {self.protocol}")
        if self.protocol.endswith("SSL") and (self.keystore is None or self.cafile is None):
            raise ValueError(f"a {self.protocol} listener needs a keystore and a CA file")

    def properties(self) -> dict[str, str]:
        """The broker properties of this listener (named after its protocol)."""
        prefix = f"listener.name.{self.protocol.lower()}."
        props: dict[str, str] = {}
        if self.protocol.endswith("SSL"):
            props[prefix + "ssl.keystore.type"] = "PEM"
            props[prefix + "ssl.keystore.location"] = str(self.keystore)
            props[prefix + "ssl.truststore.type"] = "PEM"
            props[prefix + "ssl.truststore.location"] = str(self.cafile)
        if self.protocol == "SSL":
            props[prefix + "ssl.client.auth"] = "required"
            return props
        props[prefix + "sasl.enabled.mechanisms"] = ",".join((*SCRAM_MECHANISMS, "PLAIN"))
        for mechanism in SCRAM_MECHANISMS:
            props[prefix + f"{mechanism.lower()}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            )
        plain_users = "".join(f' user_{user}="{password}"' for user, password in self.users)
        props[prefix + "plain.sasl.jaas.config"] = (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};"
        )
        return props

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments creating the SCRAM logins."""
        return [
            argument
            for user, password in self.users
            for mechanism in SCRAM_MECHANISMS
            for argument in ("--add-scram", f"{mechanism}=[name={user},password={password}]")
        ]


SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


@dataclass(frozen=True)
class LocalKafka:
    """A KRaft broker+controller on 127.0.0.1, one data dir per port.

    Alone (``voters`` empty) it is a single-node cluster. As node ``node_id`` of a cluster,
    ``voters`` lists every node's ``(node_id, controller_port)``: the static controller quorum.
    """

    home: Path = field(default_factory=_default_home)
    port: int = field(default_factory=_default_port)
    controller_port: int = 0  # 0 means port + 1
    heap: str = "512m"
    node_id: int = 1
    voters: tuple[tuple[int, int], ...] = ()
    secure_listeners: tuple[SecureListener, ...] = ()
    super_users: tuple[str, ...] = ()  # set: ACLs are enforced, these principals may do anything

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())
        if not self.controller_port:
            object.__setattr__(self, "controller_port", self.port + 1)
        if self.controller_port == self.port:
            raise ValueError("controller_port must differ from port")
        if self.voters and (self.node_id, self.controller_port) not in self.voters:
            raise ValueError(
                f"node {self.node_id} on controller port {self.controller_port} is not among {self.voters}"
            )

    @property
    def cluster_size(self) -> int:
        """Nodes of the cluster this broker belongs to."""
        return len(self.voters) or 1

    @property
    def libs_dir(self) -> Path:
        """Jar cache shared by all ports."""
        return self.home / "libs"

    @property
    def marker(self) -> Path:
        """File in libs_dir naming the Kafka version its jars belong to."""
        return self.libs_dir / ".kafka-version"

    @property
    def data_dir(self) -> Path:
        """Per-port dir: config, KRaft log dir, pid and log files (a cluster node's names its node)."""
        if self.voters:
            return self.home / f"data-{self.port}-node{self.node_id}of{self.cluster_size}"
        return self.home / f"data-{self.port}"

    @property
    def log_dirs(self) -> Path:
        """Kafka ``log.dirs`` (topic data and cluster metadata)."""
        return self.data_dir / "logs"

    @property
    def config_file(self) -> Path:
        """Generated ``server.properties``."""
        return self.data_dir / "server.properties"

    @property
    def pid_file(self) -> Path:
        """Pid of the running broker."""
        return self.data_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        """Log4j2 log of the broker."""
        return self.data_dir / "server.log"

    @property
    def out_file(self) -> Path:
        """Broker stdout/stderr (errors, JVM crashes)."""
        return self.data_dir / "kafka.out"

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string for clients."""
        return f"127.0.0.1:{self.port}"

    # -- jars -------------------------------------------------------------

    def jars_ready(self, version: str | None = None) -> bool:
        """Return True if libs_dir holds the jars of the pinned (or given) version."""
        version = version or kafka_version()
        try:
            marked = self.marker.read_text().strip()
        except OSError:
            return False
        return marked == version and (self.libs_dir / f"kafka_2.13-{version}.jar").is_file()

    def fetch_jars(self, progress: Progress = _quiet) -> bool:
        """Copy the broker's jars into libs_dir with Maven unless cached; True if fetched."""
        version = kafka_version()
        java_executable()
        if self.jars_ready(version):
            return False
        mvn = shutil.which("mvn")
        if not mvn:
            raise KafkaError("mvn not found: install Maven 3.8+ to fetch the Kafka jars")
        progress(f"fetching Kafka {version} jars with Maven into {self.libs_dir} ...")
        self.home.mkdir(parents=True, exist_ok=True)
        staging = self.home / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}"]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0 or not (staging / f"kafka_2.13-{version}.jar").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            raise KafkaError(f"mvn failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        (staging / ".kafka-version").write_text(version + "\n")
        if self.libs_dir.is_symlink():
            self.libs_dir.unlink()
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        staging.rename(self.libs_dir)
        progress(f"fetched {len(list(self.libs_dir.glob('*.jar')))} jars")
        return True

    # -- process ----------------------------------------------------------

    def pid(self) -> int | None:
        """Return the broker's pid if it is running, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _pid_alive(pid):
            return None
        try:  # a stale pid file may name a reused pid: check it is our broker (Linux)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid
        return pid if str(self.config_file).encode() in cmdline else None

    def status(self) -> KafkaStatus:
        """Return whether the broker process is running, its pid and bootstrap."""
        pid = self.pid()
        return KafkaStatus(running=pid is not None, pid=pid, bootstrap=self.bootstrap)

    def server_properties(self) -> str:
        """Return the broker config: combined KRaft broker+controller; alone, replication factor 1
        everywhere; in a cluster of three or more, replication factor 3 and ``min.insync.replicas`` 2;
        the secure listeners beside the plaintext one."""
        secure = [f"{s.protocol}://127.0.0.1:{s.port}" for s in self.secure_listeners]
        secure_protocols = [f"{s.protocol}:{s.protocol}" for s in self.secure_listeners]
        replicas = str(min(self.cluster_size, 3))
        min_insync = "2" if self.cluster_size >= 3 else "1"
        if self.voters:
            voters = ",".join(f"{node}@127.0.0.1:{port}" for node, port in self.voters)
            quorum = {"controller.quorum.voters": voters}
        else:
            quorum = {"controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}"}
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            **quorum,
            "listeners": ",".join(
                [f"PLAINTEXT://127.0.0.1:{self.port}", f"CONTROLLER://127.0.0.1:{self.controller_port}", *secure]
            ),
            "advertised.listeners": ",".join([f"PLAINTEXT://127.0.0.1:{self.port}", *secure]),
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": ",".join(
                ["CONTROLLER:PLAINTEXT", "PLAINTEXT:PLAINTEXT", *secure_protocols]
            ),
            "log.dirs": str(self.log_dirs),
            "num.partitions": "1",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_insync,
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_insync,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_insync,
            "group.initial.rebalance.delay.ms": "0",
            # After a kill, the restarted broker waits out its old session: keep it short.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
            "log.retention.hours": "72",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.retention.check.interval.ms": "300000",
        }
        for listener in self.secure_listeners:
            props.update(listener.properties())
        if self.super_users:
            props["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
            props["super.users"] = ";".join(self.super_users)
        return "".join(f"{key}={value}\n" for key, value in props.items())

    def _java_cmd(self, java: str, *args: str) -> list[str]:
        """Return a java command line on the cached jars with the repo's log4j2 config."""
        return [
            java,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            str(self.libs_dir / "*"),
            *args,
        ]

    def cluster_id(self) -> str | None:
        """Return the cluster id the log dir was formatted with, or None if it is not formatted."""
        try:
            text = (self.log_dirs / "meta.properties").read_text()
        except OSError:
            return None
        match = re.search(r"^cluster\.id=(\S+)$", text, re.MULTILINE)
        return match[1] if match else None

    def random_cluster_id(self, java: str) -> str:
        """Return a new cluster id from Kafka's StorageTool."""
        cmd = self._java_cmd(java, "kafka.tools.StorageTool", "random-uuid")
        uuid = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if uuid.returncode != 0 or not uuid.stdout.strip():
            raise KafkaError(f"StorageTool random-uuid failed:\n{uuid.stdout}{uuid.stderr}")
        return uuid.stdout.strip()

    def _format(self, java: str, progress: Progress, cluster_id: str | None = None) -> None:
        """Format the KRaft log dir once: a standalone controller with a new cluster id, or a
        member of a static quorum with the cluster's id."""
        if self.cluster_id() is not None:
            return
        progress(f"formatting {self.log_dirs} ...")
        cluster_id = cluster_id or self.random_cluster_id(java)
        quorum = [] if self.voters else ["--standalone"]
        cmd = self._java_cmd(
            java,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_file),
            *quorum,
            *(argument for listener in self.secure_listeners for argument in listener.scram_arguments()),
        )
        fmt = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if fmt.returncode != 0:
            raise KafkaError(f"StorageTool format failed:\n{fmt.stdout}{fmt.stderr}")

    def _failure(self, message: str) -> KafkaError:
        """Build an error carrying the tails of the broker's log files."""
        parts = [message]
        for path in (self.out_file, self.log_file):
            tail = _tail(path)
            if tail:
                parts.append(f"--- tail of {path} ---\n{tail}")
        return KafkaError("\n".join(parts))

    def start(self, wait_seconds: float = 60, progress: Progress = _quiet) -> None:
        """Start the broker (fetching jars if needed) and wait until it answers."""
        pid = self.spawn(progress)
        if pid is not None:
            self.await_ready(pid, wait_seconds, progress)

    def spawn(self, progress: Progress = _quiet, cluster_id: str | None = None) -> int | None:
        """Start the broker process without waiting for it; returns its pid, or None if it was
        already running and answering. A cluster's nodes are spawned together (a lone node of a
        three-node quorum never answers)."""
        pid = self.pid()
        if pid is not None:
            if broker_answers(self.bootstrap, 2.0):
                progress(f"already running (pid {pid}) on {self.bootstrap}")
                return None
            return pid
        self.fetch_jars(progress)
        java = java_executable()
        for port in (self.port, self.controller_port, *(s.port for s in self.secure_listeners)):
            if port_open(port):
                raise KafkaError(f"port {port} is already in use by another process")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.server_properties())
        self._format(java, progress, cluster_id)
        cmd = self._java_cmd(
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_OPTS, "kafka.Kafka", str(self.config_file)
        )
        progress(f"starting Kafka {kafka_version()} node {self.node_id} on {self.bootstrap} ...")
        with self.out_file.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.data_dir,
            )
        _children[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def await_ready(self, pid: int, wait_seconds: float, progress: Progress = _quiet) -> None:
        """Wait until the broker answers and sees every broker of its cluster; stop it and raise
        with its log tails if it exits or the time runs out."""
        started = time.monotonic()
        deadline = started + wait_seconds
        while True:
            if not _pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise self._failure(f"Kafka process {pid} exited during startup")
            if _cluster_size(self.bootstrap, 2.0) >= self.cluster_size:
                progress(f"ready on {self.bootstrap} (pid {pid}, {time.monotonic() - started:.1f}s)")
                return
            if time.monotonic() > deadline:
                self.stop()
                raise self._failure(f"Kafka did not answer on {self.bootstrap} within {wait_seconds:.0f}s; stopped it")
            time.sleep(0.25)

    def _signal_and_wait(self, sig: signal.Signals, timeout: float) -> bool:
        """Send sig to the broker and wait up to timeout for it to exit."""
        pid = self.pid()
        if pid is None:
            return True
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while _pid_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self, timeout: float = 30) -> bool:
        """Stop the broker (SIGTERM, SIGKILL after timeout); False if it was not running."""
        was_running = self.pid() is not None
        if not self._signal_and_wait(signal.SIGTERM, timeout):
            self._signal_and_wait(signal.SIGKILL, 10)
        self.pid_file.unlink(missing_ok=True)
        return was_running

    def kill(self) -> bool:
        """SIGKILL the broker (for fault tests); False if it was not running."""
        was_running = self.pid() is not None
        self._signal_and_wait(signal.SIGKILL, 10)
        self.pid_file.unlink(missing_ok=True)
        return was_running

    def reset(self) -> None:
        """Stop the broker and delete its data dir (next start is a fresh cluster)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@dataclass(frozen=True)
class LocalKafkaCluster:
    """``brokers`` local KRaft nodes, each broker+controller, on ports derived from ``base_port``:
    node i (from 0) listens on ``base_port + PORTS_PER_NODE * i`` and its controller on the next
    port, so clusters on different base ports coexist. One broker is exactly ``LocalKafka(port=base_port)``.
    """

    brokers: int = 1
    home: Path = field(default_factory=_default_home)
    base_port: int = field(default_factory=_default_port)
    heap: str = "512m"

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())
        if self.brokers < 1:
            raise ValueError(f"a cluster needs at least one broker, not {self.brokers}")

    @property
    def nodes(self) -> tuple[LocalKafka, ...]:
        """The cluster's nodes, node ids 1..brokers."""
        if self.brokers == 1:
            return (LocalKafka(home=self.home, port=self.base_port, heap=self.heap),)
        ports = [self.base_port + PORTS_PER_NODE * i for i in range(self.brokers)]
        voters = tuple((i + 1, port + 1) for i, port in enumerate(ports))
        return tuple(
            LocalKafka(
                home=self.home, port=port, controller_port=port + 1, heap=self.heap, node_id=i + 1, voters=voters
            )
            for i, port in enumerate(ports)
        )

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string for clients: every node."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def size_file(self) -> Path:
        """Records the broker count of the cluster last started on base_port (for stop/status)."""
        return self.home / f"cluster-{self.base_port}.brokers"

    @classmethod
    def last_started(cls, home: Path | None = None, base_port: int | None = None) -> LocalKafkaCluster:
        """The cluster last started on base_port (one broker if none was recorded)."""
        probe = cls(home=home or _default_home(), base_port=base_port or _default_port())
        try:
            brokers = int(probe.size_file.read_text().strip())
        except (OSError, ValueError):
            return probe
        return cls(brokers=brokers, home=probe.home, base_port=probe.base_port)

    def start(self, wait_seconds: float = 90, progress: Progress = _quiet) -> None:
        """Start every node (fetching jars if needed), then wait until each sees the whole cluster."""
        other = LocalKafkaCluster.last_started(self.home, self.base_port)
        if other.brokers != self.brokers and any(node.pid() is not None for node in other.nodes):
            raise KafkaError(
                f"a {other.brokers}-broker cluster is running on base port {self.base_port}: stop it first"
            )
        first = self.nodes[0]
        first.fetch_jars(progress)
        cluster_id = next((cid for node in self.nodes if (cid := node.cluster_id())), None)
        if cluster_id is None and self.brokers > 1:
            cluster_id = first.random_cluster_id(java_executable())
        self.home.mkdir(parents=True, exist_ok=True)
        self.size_file.write_text(f"{self.brokers}\n")
        pids = [node.spawn(progress, cluster_id) for node in self.nodes]
        try:
            for node, pid in zip(self.nodes, pids, strict=True):
                if pid is not None:
                    node.await_ready(pid, wait_seconds, progress)
        except KafkaError:
            self.stop()
            raise

    def status(self) -> list[KafkaStatus]:
        """Each node's status."""
        return [node.status() for node in self.nodes]

    def stop(self, timeout: float = 30) -> bool:
        """Stop every node at once (SIGTERM, SIGKILL after timeout); False if none was running.

        One by one, the last nodes would wait out the timeout for a quorum already gone.
        """
        stopped: list[bool] = []
        threads = [threading.Thread(target=lambda n=node: stopped.append(n.stop(timeout))) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return any(stopped)

    def reset(self) -> None:
        """Stop every node and delete their data dirs (next start is a fresh cluster)."""
        for node in self.nodes:
            node.reset()
        self.size_file.unlink(missing_ok=True)


def _say(line: str) -> None:
    """Print a CLI progress line."""
    print(f"kafka: {line}", flush=True)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The arguments of ``wirestream kafka`` (added to ``parser`` when given)."""
    parser = parser or argparse.ArgumentParser(prog="python -m streams.kafka_local")
    parser.add_argument("action", choices=["start", "stop", "status", "reset"])
    parser.add_argument(
        "--brokers",
        type=int,
        default=None,
        help="nodes of the cluster (start: default 1; stop/status/reset: default the count last started)",
    )
    return parser


def run(action: str, brokers: int | None = None) -> int:
    """Run one ``wirestream kafka`` action on the cluster at ``$WIRESTREAM_KAFKA_PORT``."""
    if brokers is not None and brokers < 1:
        print(f"kafka: error: --brokers must be >= 1, not {brokers}", file=sys.stderr)
        return 2
    if brokers is None:
        cluster = LocalKafkaCluster.last_started() if action != "start" else LocalKafkaCluster()
    else:
        cluster = LocalKafkaCluster(brokers=brokers)
    try:
        if action == "start":
            cluster.start(progress=_say)
            if cluster.brokers > 1:
                _say(f"cluster of {cluster.brokers} ready: WIRESTREAM_BROKER={cluster.bootstrap}")
        elif action == "stop":
            t0 = time.monotonic()
            stopped = cluster.stop()
            _say(f"stopped in {time.monotonic() - t0:.1f}s" if stopped else "not running")
        elif action == "reset":
            cluster.reset()
            _say(f"deleted {', '.join(str(node.data_dir) for node in cluster.nodes)}")
        else:
            for node in cluster.nodes:
                _say(f"node {node.node_id}: {node.status()}")
    except KafkaError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m streams.kafka_local start|stop|status|reset [--brokers N]``."""
    args = build_parser().parse_args(argv)
    return run(args.action, args.brokers)


if __name__ == "__main__":
    sys.exit(main())

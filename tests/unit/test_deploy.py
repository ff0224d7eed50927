"""The container stack, checked without Docker: compose file, Prometheus config, Grafana dashboard."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from streams.metrics import Metrics
from streams.settings import Settings, env_name

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
PROMETHEUS = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
DASHBOARD = json.loads((REPO / "deploy" / "grafana" / "dashboards" / "wirestream.json").read_text(encoding="utf-8"))


def worker_env() -> dict[str, str]:
    env: dict[str, Any] = COMPOSE["services"]["worker"]["environment"]
    return {k: str(v) for k, v in env.items()}


def test_compose_worker_environment_names_real_settings_with_valid_values() -> None:
    env = worker_env()
    known = {env_name(name) for name in Settings.__dataclass_fields__}
    assert set(env) <= known, set(env) - known
    settings = Settings.from_env(env)
    defaults = Settings()
    for name in Settings.topic_names():
        assert getattr(settings, name) == getattr(defaults, name), "compose topic names differ from the defaults"
    assert settings.web_host == "0.0.0.0"
    assert settings.store == "rocksdb://"


def test_compose_runs_the_worker_command_the_tests_run_with_two_replicas() -> None:
    worker = COMPOSE["services"]["worker"]
    assert worker["command"] == ["wirestream", "worker"]
    assert worker["deploy"]["replicas"] == 2
    assert COMPOSE["services"]["topics"]["command"] == ["wirestream", "topics"]
    assert str(Settings.from_env(worker_env()).web_port) in [str(p) for p in worker["expose"]]


def test_compose_kafka_is_the_version_the_local_broker_runs() -> None:
    pom = ET.parse(REPO / "kafka" / "pom.xml").getroot()
    version = pom.findtext("m:properties/m:kafka.version", namespaces={"m": "http://maven.apache.org/POM/4.0.0"})
    image = COMPOSE["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{version}"
    kafka_env = COMPOSE["services"]["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    broker = Settings.from_env(worker_env()).bootstrap_servers
    assert f"PLAINTEXT://{broker}" == kafka_env["KAFKA_ADVERTISED_LISTENERS"]


def test_prometheus_scrapes_every_worker_replica_on_the_metrics_port() -> None:
    [job] = PROMETHEUS["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"]
    assert discovery["port"] == Settings.from_env(worker_env()).web_port
    mounted = COMPOSE["services"]["prometheus"]["volumes"][0]
    assert mounted.startswith("./deploy/prometheus/prometheus.yml:")


def exported_metric_names() -> set[str]:
    metrics = Metrics()
    names: set[str] = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def test_every_dashboard_query_names_a_metric_the_worker_exports() -> None:
    exported = exported_metric_names()
    queries = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    assert len(queries) >= 10
    for query in queries:
        names = set(re.findall(r"\bwirestream_[a-z_]+", query))
        assert names, query
        assert names <= exported, (query, names - exported)


def test_dashboard_covers_what_an_operator_watches() -> None:
    titles = " ".join(panel["title"].lower() for panel in DASHBOARD["panels"])
    for topic in ("throughput", "lag", "latency", "duplicates", "dead letters", "language"):
        assert topic in titles
    assert len({panel["id"] for panel in DASHBOARD["panels"]}) == len(DASHBOARD["panels"])


class _ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's ``!reset`` tag (an override that removes a key)."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR:?error}`` against ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, operator, fallback = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        assert operator == ":-", f"{name} must be set: {fallback}"
        return fallback

    return re.sub(r"\$\{(\w+)(:[-?])([^}]*)\}", replace, value)


def test_the_secured_override_reads_the_password_and_ca_from_docker_secrets(tmp_path: Path) -> None:
    override = yaml.load((REPO / "deploy" / "compose.secured.yml").read_text(encoding="utf-8"), Loader=_ComposeLoader)
    worker, topics = override["services"]["worker"], override["services"]["topics"]
    assert worker["environment"] == topics["environment"] and worker["secrets"] == topics["secrets"]
    env: dict[str, str] = {k: str(v) for k, v in worker["environment"].items()}
    assert set(env) <= {env_name(name) for name in Settings.__dataclass_fields__}
    assert "WIRESTREAM_SASL_PASSWORD" not in env, "the password belongs in a secret file, not the environment"
    mounted = {f"/run/secrets/{name}": override["secrets"][name]["file"] for name in worker["secrets"]}
    assert {env["WIRESTREAM_SASL_PASSWORD_FILE"], env["WIRESTREAM_SSL_CAFILE"]} <= set(mounted)
    assert all(path.startswith("./secrets/") for path in mounted.values())
    (tmp_path / "kafka_password").write_text("pw\n")
    (tmp_path / "kafka_ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    shell = {"WIRESTREAM_BROKER": "kafka://b-1.example.net:9096", "WIRESTREAM_SASL_USERNAME": "wirestream"}
    resolved = {name: _interpolate(value, shell) for name, value in env.items()}
    for name in ("WIRESTREAM_SASL_PASSWORD_FILE", "WIRESTREAM_SSL_CAFILE"):
        resolved[name] = str(tmp_path / Path(resolved[name]).name)
    settings = Settings.from_env(resolved)
    assert (settings.security_protocol, settings.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert settings.sasl_password.reveal() == "pw" and settings.replication_factor == 3
    assert override["services"]["topics"]["depends_on"] is None  # no local broker to wait for

"""A real Prometheus, started with the stack's own ``prometheus.yml``, scrapes a running worker."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streams.client import consume, produce
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.integration.conftest import REPO, distinct_words, free_port

pytestmark = pytest.mark.integration

STACK_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        message = "prometheus is not installed (apt-get install prometheus; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def query(port: int, expression: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def test_prometheus_scrapes_worker_metrics(settings: Settings, start_worker: Any, tmp_path: Path) -> None:
    binary = prometheus_binary()
    asyncio.run(ensure_topics(settings))
    start_worker(settings)

    config = yaml.safe_load(STACK_CONFIG.read_text(encoding="utf-8"))
    [job] = config["scrape_configs"]
    job.pop("dns_sd_configs")
    job["static_configs"] = [{"targets": [f"127.0.0.1:{settings.web_port}"]}]
    config["global"]["scrape_interval"] = "1s"
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    prometheus = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        stories = [
            orjson.dumps(
                {
                    "uri": f"urn:test:prom-{i}",
                    "headline": f"Market update {i}",
                    "body_text": f"Shares in Tokyo closed {i} percent higher on Friday as exporters gained, traders "
                    f"said. The index added {i * 3} points in thin trading before the holiday. {distinct_words(i)}",
                }
            )
            for i in range(5)
        ] + [b"not json at all {"]
        asyncio.run(produce(settings.bootstrap_servers, settings.topic_raw, stories))
        outputs = [settings.topic_enriched, settings.topic_deadletter]
        assert len(asyncio.run(consume(settings.bootstrap_servers, outputs, expected=6, timeout=90))) == 6

        expected = {
            f'wirestream_stories_emitted_total{{topic="{settings.topic_enriched}"}}': 5.0,
            'wirestream_dead_letters_total{stage="validate"}': 1.0,
            'wirestream_stories_by_language_total{language="en"}': 5.0,
            f'wirestream_stories_received_total{{topic="{settings.topic_raw}"}}': 6.0,
        }
        deadline = time.monotonic() + 60
        seen: dict[str, float] = {}
        while time.monotonic() < deadline:
            try:
                seen = {e: sum(float(r["value"][1]) for r in query(port, e)) for e in expected}
            except OSError:
                seen = {}
            if seen == expected:
                break
            time.sleep(1)
        assert seen == expected, (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:]
        [up] = query(port, 'up{job="wirestream"}')
        assert up["value"][1] == "1"
        assert query(port, "wirestream_build_info")
        assert query(port, "wirestream_stage_duration_seconds_count > 0")
    finally:
        prometheus.terminate()
        prometheus.wait(20)

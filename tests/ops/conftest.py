"""Operations tests: a real Prometheus server (Debian's ``prometheus`` package) scraping the
engine's observability endpoint. Every test here is marked ``ops``.

``scripts/install-prometheus.sh`` installs the binary. Without it the tests skip, naming the
script — except on CI (``CI=true``), where a missing binary is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ops)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        reason = "the prometheus binary is missing: run `bash scripts/install-prometheus.sh`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (on CI a missing prometheus is a failure, not a skip)")
        pytest.skip(reason)
    return found


@dataclass
class PrometheusServer:
    """A Prometheus started for one test: its own config, data directory and loopback port."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        target = f"{self.url}{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(target, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def query(self, expr: str) -> Any:
        """``/api/v1/query``: the whole answer (status, data or error)."""
        return self.get("/api/v1/query", query=expr)


@pytest.fixture
def start_prometheus(prometheus_binary: str, tmp_path: Path) -> Iterator[Any]:
    """``start_prometheus(targets)`` → a ready ``PrometheusServer`` scraping ``targets`` every
    second; stopped (SIGTERM, then SIGKILL) after the test."""
    started: list[PrometheusServer] = []

    def start(targets: list[str]) -> PrometheusServer:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: repertory\n    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n"
        )
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    prometheus_binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = PrometheusServer(f"http://127.0.0.1:{port}", process, log)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited [{process.returncode}]: {log.read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(server.url + "/-/ready", timeout=2) as response,
            ):
                if response.status == 200:
                    return server
            time.sleep(0.2)
        pytest.fail(f"prometheus not ready within 60 s: {log.read_text()[-2000:]}")

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()

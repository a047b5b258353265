"""The observability endpoint over real HTTP on a free loopback port."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from repertory.observability.http import ObservabilityServer
from repertory.observability.metrics import RepertoryMetrics


class Fetched:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body


def _fetch(url: str, method: str, accept: str | None) -> Fetched:
    request = urllib.request.Request(url, method=method)
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Fetched(error.code, dict(error.headers), error.read().decode())


async def fetch(
    server: ObservabilityServer, path: str, *, method: str = "GET", accept: str | None = None
) -> Fetched:
    return await asyncio.to_thread(_fetch, server.url + path, method, accept)


@pytest.fixture
def metrics() -> RepertoryMetrics:
    return RepertoryMetrics(CollectorRegistry())


@pytest.fixture
async def server(metrics: RepertoryMetrics) -> AsyncIterator[ObservabilityServer]:
    async with ObservabilityServer(
        "127.0.0.1", 0, registry=metrics.registry, check_timeout=0.2
    ) as s:
        assert s.port != 0
        yield s


async def test_metrics_serves_the_registry_in_the_text_format(
    server: ObservabilityServer, metrics: RepertoryMetrics
) -> None:
    metrics.ingress.consumed(7, records=3)
    got = await fetch(server, "/metrics")
    assert got.status == 200
    assert got.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'repertory_ingress_records_total{partition="7"} 3.0' in got.body


async def test_metrics_negotiates_openmetrics(server: ObservabilityServer) -> None:
    got = await fetch(server, "/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert got.status == 200
    assert got.headers["Content-Type"].startswith("application/openmetrics-text")
    assert got.body.rstrip().endswith("# EOF")


async def test_healthz_answers_while_the_loop_runs(server: ObservabilityServer) -> None:
    got = await fetch(server, "/healthz")
    assert (got.status, got.body) == (200, "ok\n")
    head = await fetch(server, "/healthz", method="HEAD")
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, "", "3")


async def test_readyz_with_no_checks_is_ready(server: ObservabilityServer) -> None:
    got = await fetch(server, "/readyz")
    assert (got.status, got.body) == (200, "ready\n")


async def test_readyz_flips_with_its_checks_and_names_the_failing_one(
    server: ObservabilityServer,
) -> None:
    journal_up = True

    async def journal() -> bool:
        return journal_up

    async def partitions() -> bool:
        return True

    server.add_readiness_check("journal", journal)
    server.add_readiness_check("partitions_assigned", partitions)
    assert (await fetch(server, "/readyz")).status == 200
    journal_up = False
    got = await fetch(server, "/readyz")
    assert got.status == 503
    assert got.body == "not ready: journal (check returned false)\n"
    journal_up = True
    assert (await fetch(server, "/readyz")).status == 200


async def test_readyz_fails_a_check_that_raises_or_hangs(server: ObservabilityServer) -> None:
    async def raises() -> bool:
        raise ConnectionRefusedError("journal down")

    async def hangs() -> bool:
        await asyncio.sleep(3600)
        return True

    server.add_readiness_check("journal", raises)
    server.add_readiness_check("kafka", hangs)
    got = await fetch(server, "/readyz")
    assert got.status == 503
    assert "journal (ConnectionRefusedError: journal down)" in got.body
    assert "kafka (timed out after 0.2 s)" in got.body


async def test_drain_makes_readyz_fail_but_not_healthz(server: ObservabilityServer) -> None:
    server.drain()
    got = await fetch(server, "/readyz")
    assert (got.status, got.body) == (503, "not ready: draining (the worker is stopping)\n")
    assert (await fetch(server, "/healthz")).status == 200


async def test_a_duplicate_check_name_is_refused(server: ObservabilityServer) -> None:
    async def ok() -> bool:
        return True

    server.add_readiness_check("journal", ok)
    with pytest.raises(ValueError, match=r"\[journal\] is already registered"):
        server.add_readiness_check("journal", ok)


async def test_unknown_paths_and_methods(server: ObservabilityServer) -> None:
    assert (await fetch(server, "/nope")).status == 404
    assert (await fetch(server, "/metrics", method="POST")).status == 405


async def test_a_garbage_request_gets_400_and_the_server_keeps_serving(
    server: ObservabilityServer,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert (await fetch(server, "/healthz")).status == 200


async def test_an_oversized_request_head_gets_400(server: ObservabilityServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_a_silent_client_is_cut_off_after_the_request_timeout(
    metrics: RepertoryMetrics,
) -> None:
    async with ObservabilityServer(
        "127.0.0.1", 0, registry=metrics.registry, request_timeout=0.1
    ) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        async with asyncio.timeout(5):
            answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        assert answer.startswith(b"HTTP/1.1 400 ")


async def test_closing_frees_the_port_and_a_restart_binds_it_again(
    metrics: RepertoryMetrics,
) -> None:
    first = ObservabilityServer("127.0.0.1", 0, registry=metrics.registry)
    await first.start()
    port = first.port
    await first.aclose()
    await first.aclose()  # idempotent
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    again = ObservabilityServer("127.0.0.1", port, registry=metrics.registry)
    async with again:
        assert (await fetch(again, "/healthz")).status == 200
    assert "stopped" in repr(again)

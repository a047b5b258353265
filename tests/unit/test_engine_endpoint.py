"""An embedded engine with its observability endpoint on: ``/healthz`` answers, ``/readyz``
follows the journal (503 while it is unavailable, 200 again after) and drains on shutdown, and
``/metrics`` shows the journal, actors and end-to-end families moving."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from repertory.config import JournalSettings, ObservabilitySettings, Settings
from repertory.engine import Engine
from repertory.persistence import InMemoryJournal
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def get(port: int, path: str) -> tuple[int, str]:
    return await asyncio.to_thread(_get, f"http://127.0.0.1:{port}{path}")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def settings(port: int) -> Settings:
    return Settings(
        journal=JournalSettings(backend="memory", mode="conditional"),
        observability=ObservabilitySettings(metrics_port=port, readiness_timeout=1.0),
    )


async def test_health_readiness_and_metrics_of_an_embedded_engine() -> None:
    port = free_port()
    engine = Engine(settings(port), [LEDGER], registry=REGISTRY)
    async with engine:
        assert engine.observability is not None and engine.observability.port == port
        assert await get(port, "/healthz") == (200, "ok\n")
        assert await get(port, "/readyz") == (200, "ready\n")
        _, text = await get(port, "/metrics")
        before = samples(text)

        for n in range(5):
            assert await engine.ask("ledger", f"m{n}", Deposit(amount=n + 1)) == n + 1
        _, text = await get(port, "/metrics")
        after = samples(text)
        stored = (("outcome", "stored"),)
        ledger = (("entity_type", "ledger"),)
        for key in (
            ("repertory_journal_append_seconds_count", stored),
            ("repertory_journal_replay_seconds_count", ()),
            ("repertory_actors_recovery_seconds_count", ledger),
            ("repertory_actors_group_commit_events_count", ledger),
            ("repertory_end_to_end_seconds_count", ledger),
        ):
            assert after[key] >= before.get(key, 0.0) + 5, key

        journal = engine.journal
        assert isinstance(journal, InMemoryJournal)
        journal.unavailable = True
        status, body = await get(port, "/readyz")
        assert status == 503 and "journal" in body and "unavailable" in body
        assert (await get(port, "/healthz"))[0] == 200
        journal.unavailable = False
        assert await get(port, "/readyz") == (200, "ready\n")
        server = engine.observability
    assert "draining=True" in repr(server)
    assert await server.readiness() == [("draining", "the worker is stopping")]


async def test_without_a_port_there_is_no_endpoint_and_no_recording() -> None:
    engine = Engine(
        Settings(journal=JournalSettings(backend="memory", mode="conditional")),
        [LEDGER],
        registry=REGISTRY,
    )
    async with engine:
        assert await engine.ask("ledger", "quiet", Deposit(amount=1)) == 1
        assert engine.observability is None and engine.metrics is None
        assert engine._store is not None and engine._store.metrics is None

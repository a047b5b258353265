"""The entity runtime records its actor metrics: lifecycles, supervision, mailboxes, commands."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from actors_sample import Boom, Deposit, GetBalance, account_type
from prometheus_client import CollectorRegistry

from repertory.actors import EntityRuntime, EntityWrite, ManualClock, Restart, WriteAck
from repertory.config import EntitySettings
from repertory.errors import ActorDeadError
from repertory.observability.metrics import RepertoryMetrics
from repertory.testing.entity_store import MemoryEventStore

pytestmark = pytest.mark.unit


@pytest.fixture
def metrics() -> RepertoryMetrics:
    return RepertoryMetrics(CollectorRegistry())


def value(metrics: RepertoryMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, {"entity_type": "account", **labels})
    return 0.0 if found is None else found


class GatedStore(MemoryEventStore):
    """Holds every ``write`` call until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__(known_empty=True)
        self.gate = asyncio.Event()

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        await self.gate.wait()
        return await super().write(writes)


async def test_every_activation_ends_in_one_passivation_or_stop(
    metrics: RepertoryMetrics,
) -> None:
    clock, account = ManualClock(), account_type(passivation_timeout=10)
    runtime = EntityRuntime(MemoryEventStore(), [account], clock=clock, metrics=metrics.actors)
    async with runtime:
        for entity_id in ("a", "b"):
            await runtime.ref(account, entity_id).ask(Deposit(1), timeout=5)
        assert value(metrics, "repertory_actors_activations_total") == 2
        assert value(metrics, "repertory_actors_active_entities") == 2
        await clock.advance(11)  # both idle past the timeout
        assert value(metrics, "repertory_actors_passivations_total") == 2
        assert value(metrics, "repertory_actors_active_entities") == 0
        for entity_id in ("a", "b", "c"):
            await runtime.ref(account, entity_id).ask(GetBalance(), timeout=5)
        assert value(metrics, "repertory_actors_activations_total") == 5
        assert await runtime.release(lambda persistence_id: persistence_id == "account|a") == 1
        assert value(metrics, "repertory_actors_stops_total", reason="released") == 1
        assert value(metrics, "repertory_actors_active_entities") == 2
    assert value(metrics, "repertory_actors_stops_total", reason="shutdown") == 2
    assert value(metrics, "repertory_actors_active_entities") == 0
    assert value(metrics, "repertory_actors_passivations_total") == 2


async def test_a_supervisor_stop_is_counted_with_its_reason(metrics: RepertoryMetrics) -> None:
    clock, account = ManualClock(), account_type()  # supervision: Stop
    runtime = EntityRuntime(MemoryEventStore(), [account], clock=clock, metrics=metrics.actors)
    async with runtime:
        ref = runtime.ref(account, "a")
        await ref.ask(Deposit(1), timeout=5)
        assert value(metrics, "repertory_actors_active_entities") == 1
        with pytest.raises(ActorDeadError):
            await ref.ask(Boom(), timeout=5)
        await clock.advance(0)
        assert value(metrics, "repertory_actors_stops_total", reason="handler_failed") == 1
        assert value(metrics, "repertory_actors_active_entities") == 0


async def test_restarts_are_counted_until_the_supervisor_gives_up(
    metrics: RepertoryMetrics,
) -> None:
    clock, account = ManualClock(), account_type(Restart(max_restarts=2, within=60))
    runtime = EntityRuntime(MemoryEventStore(), [account], clock=clock, metrics=metrics.actors)
    async with runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Boom(), timeout=5))
        await clock.advance(0)
        with pytest.raises(ActorDeadError):
            await ask
        await clock.advance(0)
        assert value(metrics, "repertory_actors_restarts_total", reason="handler_failed") == 2
        assert value(metrics, "repertory_actors_stops_total", reason="restarts_exhausted") == 1
        assert value(metrics, "repertory_actors_activations_total") == 1
        assert value(metrics, "repertory_actors_active_entities") == 0


async def test_mailbox_depth_and_command_seconds_per_command(metrics: RepertoryMetrics) -> None:
    clock, account, store = ManualClock(), account_type(), GatedStore()
    settings = EntitySettings(group_commit_max_events=1)
    runtime = EntityRuntime(
        store, [account], settings=settings, clock=clock, metrics=metrics.actors
    )
    async with runtime:
        ref = runtime.ref(account, "a")
        # The first runs at once (its write held), the second fills the next write, the third
        # and fourth wait in the mailbox: 0, 0, 0 and 1 already waiting.
        asks = [asyncio.ensure_future(ref.ask(Deposit(n), timeout=100)) for n in (1, 2, 3, 4)]
        await clock.advance(0)
        assert value(metrics, "repertory_actors_mailbox_depth_count") == 4
        assert value(metrics, "repertory_actors_mailbox_depth_sum") == 1
        assert value(metrics, "repertory_actors_mailbox_depth_bucket", le="0.0") == 3
        await clock.advance(2)  # every command waits two seconds for the store
        store.gate.set()
        assert await asyncio.gather(*asks) == [1, 3, 6, 10]
        assert await ref.ask(GetBalance(), timeout=5) == 10  # answered at once: 0 seconds
    assert value(metrics, "repertory_actors_command_seconds_count") == 5
    assert value(metrics, "repertory_actors_command_seconds_sum") == 8
    assert value(metrics, "repertory_actors_command_seconds_bucket", le="0.0005") == 1
    assert value(metrics, "repertory_actors_command_seconds_bucket", le="1.0") == 1
    assert value(metrics, "repertory_actors_command_seconds_bucket", le="2.5") == 5


async def test_without_metrics_entities_hold_none() -> None:
    account = account_type()
    async with EntityRuntime(MemoryEventStore(), [account], clock=ManualClock()) as runtime:
        await runtime.ref(account, "a").ask(Deposit(1), timeout=5)
        (entity,) = runtime.passivation.all_entities()
        assert entity.metrics is None and runtime.type_metrics == {}

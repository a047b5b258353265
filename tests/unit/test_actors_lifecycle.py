"""Supervision strategies, passivation, recovery failures, snapshots, dedupe across restarts."""

from __future__ import annotations

import asyncio

import pytest
from actors_sample import Account, Boom, Deposit, Deposited, GetBalance, account_type

from repertory.actors import (
    Backoff,
    CommandSource,
    EntityRuntime,
    Escalate,
    ManualClock,
    Restart,
    SnapshotPolicy,
    Stop,
    StoredEvent,
)
from repertory.config import EntitySettings
from repertory.errors import ActorDeadError, DuplicateCommand, EntityFailed
from repertory.testing.entity_store import MemoryEventStore

pytestmark = pytest.mark.unit


async def test_restart_reruns_the_command_then_stops_after_the_limit() -> None:
    store = MemoryEventStore()
    account = account_type(supervision=Restart(max_restarts=2, within=60))
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        await runtime.ref(account, "a").ask(Deposit(1), timeout=1)
        with pytest.raises(ActorDeadError, match="gave up after 2 restarts"):
            await runtime.ref(account, "a").ask(Boom(), timeout=1)
        assert store.replays == 3  # first recovery + two restarts
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 1


async def test_backoff_waits_on_the_clock_between_restarts() -> None:
    clock, store = ManualClock(), MemoryEventStore()
    account = account_type(supervision=Backoff(min_delay=1, max_delay=8, jitter=0, max_restarts=3))
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Boom(), timeout=100))
        await clock.advance(0)
        assert store.replays == 1
        await clock.advance(1)
        assert store.replays == 2
        await clock.advance(2)
        assert store.replays == 3
        await clock.advance(4)
        assert store.replays == 4
        with pytest.raises(ActorDeadError):
            await ask


async def test_stop_fails_the_command_and_the_queue_but_not_other_entities() -> None:
    store, dead = MemoryEventStore(), []
    account = account_type(supervision=Stop())
    async with EntityRuntime(
        store, [account], clock=ManualClock(), on_dead_letter=lambda *a: dead.append(a)
    ) as runtime:
        boom = asyncio.ensure_future(runtime.ref(account, "a").ask(Boom(), timeout=1))
        after = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=1))
        other = await runtime.ref(account, "b").ask(Deposit(1), timeout=1)
        with pytest.raises(ActorDeadError):
            await boom
        with pytest.raises(ActorDeadError):
            await after
        assert other == 1
    assert [d[0] for d in dead] == ["account|a", "account|a"]


async def test_escalate_fails_the_runtime() -> None:
    account = account_type(supervision=Escalate())
    with pytest.raises(ExceptionGroup) as caught:
        async with EntityRuntime(MemoryEventStore(), [account], clock=ManualClock()) as runtime:
            with pytest.raises(ActorDeadError):
                await runtime.ref(account, "a").ask(Boom(), timeout=1)
            await asyncio.sleep(0)
    assert caught.group_contains(EntityFailed)


async def test_replay_failure_stops_the_entity_rather_than_skip() -> None:
    store = MemoryEventStore()
    store.events["account|a"] = [StoredEvent(seq_nr=1, event="garbage", timestamp=0.0)]
    account = account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        with pytest.raises(ActorDeadError, match="on_event failed"):
            await runtime.ref(account, "a").ask(GetBalance(), timeout=1)
        assert runtime.statistics()["active"] == 0


async def test_passivation_after_idle_timeout_and_recovery_on_next_use() -> None:
    clock, store = ManualClock(), MemoryEventStore()
    account = account_type(passivation_timeout=30)
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        await runtime.ref(account, "a").ask(Deposit(2), timeout=1)
        await clock.advance(20)
        await runtime.ref(account, "b").ask(Deposit(1), timeout=1)
        await clock.advance(11)
        assert runtime.statistics()["active"] == 1  # a passivated, b not yet
        await clock.advance(20)
        assert runtime.statistics()["active"] == 0
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 2


async def test_passivation_under_load_never_loses_queued_commands() -> None:
    clock, store = ManualClock(), MemoryEventStore()
    account = account_type(passivation_timeout=1)
    settings = EntitySettings(max_active_entities=10, mailbox_size=4)
    async with EntityRuntime(store, [account], settings=settings, clock=clock) as runtime:
        asks = []
        for round_ in range(5):
            for i in range(40):
                ask = runtime.ref(account, str(round_ * 10 + i)).ask(Deposit(1), timeout=1000)
                asks.append(asyncio.ensure_future(ask))
            await clock.advance(0.6)
        replies = await asyncio.gather(*asks)
        assert runtime.statistics()["passivated"] > 0
        # busy entities may run over the cap; once idle, a new one evicts the oldest idle one
        await runtime.ref(account, "new").ask(GetBalance(), timeout=1)
        assert runtime.statistics()["active"] <= 40
        await clock.advance(2)
        assert runtime.statistics()["active"] == 0
    assert len(replies) == 200
    per_entity = {pid: len(events) for pid, events in store.events.items()}
    assert sum(per_entity.values()) == 200  # nothing lost, nothing doubled
    for n in range(80):  # id n is used by the rounds r with r*10 <= n < r*10 + 40
        rounds = sum(1 for r in range(5) if r * 10 <= n < r * 10 + 40)
        assert store.user_events(f"account|{n}") == [Deposited(1)] * rounds


async def test_snapshot_is_held_until_committed_then_used_for_recovery() -> None:
    store = MemoryEventStore()
    account = account_type(snapshots=SnapshotPolicy(every=3, keep=1))
    async with EntityRuntime(
        store, [account], clock=ManualClock(), snapshots_wait_for_commit=True
    ) as runtime:
        for _ in range(4):
            await runtime.ref(account, "a").ask(Deposit(1), timeout=1)
        assert store.snapshots == {}
        runtime.mark_committed("account|a", 2)
        assert store.snapshots == {}
        runtime.mark_committed("account|a", 3)
        await asyncio.sleep(0)
    assert [s.seq_nr for s in store.snapshots["account|a"]] == [3]
    assert store.snapshots["account|a"][0].state == Account(balance=3, deposits=3)
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 4


async def test_duplicate_by_id_across_restart_gets_the_stored_reply() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        assert await runtime.ref(account, "a").ask(Deposit(5), command_id="c1", timeout=1) == 5
        assert await runtime.ref(account, "a").ask(Deposit(5), command_id="c1", timeout=1) == 5
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        assert await ref.ask(Deposit(5), command_id="c1", timeout=1) == 5
        assert await ref.ask(GetBalance(), timeout=1) == 5
    assert store.user_events("account|a") == [Deposited(5)]


async def test_duplicate_by_offset_across_restart_writes_nothing() -> None:
    store, account = MemoryEventStore(), account_type()
    src = CommandSource(topic="commands", partition=3, offset=41)
    settings = EntitySettings(dedupe_window_count=0)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        await rt.ref(account, "a").ask(Deposit(5), source=src, command_id="x", timeout=1)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        with pytest.raises(DuplicateCommand):
            await rt.ref(account, "a").ask(Deposit(5), source=src, command_id="y", timeout=1)
    assert store.user_events("account|a") == [Deposited(5)]


async def test_duplicate_of_a_pending_command_waits_for_its_reply() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        replies = await asyncio.gather(
            ref.ask(Deposit(1), command_id="p", timeout=1),
            ref.ask(Deposit(1), command_id="p", timeout=1),
        )
    assert replies == [1, 1]
    assert store.user_events("account|a") == [Deposited(1)]


async def test_dedupe_window_forgets_by_age() -> None:
    clock, store, account = ManualClock(), MemoryEventStore(), account_type()
    settings = EntitySettings(dedupe_window_age=60)
    async with EntityRuntime(store, [account], settings=settings, clock=clock) as runtime:
        ref = runtime.ref(account, "a")
        await ref.ask(Deposit(1), command_id="old", timeout=1)
        await clock.advance(61)
        assert await ref.ask(Deposit(1), command_id="old", timeout=1) == 2

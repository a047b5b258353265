"""Draining shutdown, task-free activation and writes, and asks answered without a timer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from actors_sample import Boom, Close, Deposit, Deposited, GetBalance, account_type

from repertory.actors import EntityRuntime, EntityWrite, ManualClock, Restart, WriteAck
from repertory.config import EntitySettings
from repertory.errors import ActorDeadError, WriteOutcomeUnknown
from repertory.testing.entity_store import MemoryEventStore, StoreFault

pytestmark = pytest.mark.unit


class GatedStore(MemoryEventStore):
    """Holds every ``write`` call until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__(known_empty=True)
        self.gate = asyncio.Event()

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        await self.gate.wait()
        return await super().write(writes)


async def test_drain_lets_a_retried_write_settle_and_answers_the_ask() -> None:
    lost: list[int] = []

    def lose_first(write: EntityWrite) -> StoreFault | None:
        if not lost:
            lost.append(write.last_seq_nr)
            return StoreFault.LOSE_REQUEST
        return None

    clock, account = ManualClock(), account_type()
    store = MemoryEventStore(fault=lose_first)
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(3), timeout=100))
        await clock.advance(0)
        assert lost == [1] and not ask.done()
        closing = asyncio.ensure_future(runtime.aclose(drain=True, timeout=10))
        await clock.advance(0)
        with pytest.raises(ActorDeadError):  # draining: new commands are refused
            await runtime.ref(account, "b").tell(Deposit(1))
        await clock.advance(1)  # the backoff passes; the identical write is stored
        assert await ask == 3
        await closing
    assert store.user_events("account|a") == [Deposited(3)]


async def test_drain_answers_every_queued_command() -> None:
    store, account = MemoryEventStore(), account_type()
    runtime = EntityRuntime(store, [account], clock=ManualClock())
    await runtime.__aenter__()
    ref = runtime.ref(account, "a")
    asks = [asyncio.ensure_future(ref.ask(Deposit(1), timeout=100)) for _ in range(30)]
    await asyncio.sleep(0)
    await runtime.aclose(drain=True, timeout=10)
    assert [await ask for ask in asks] == list(range(1, 31))
    await runtime.__aexit__(None, None, None)  # closed already: nothing more happens
    assert len(store.user_events("account|a")) == 30


async def test_drain_gives_up_at_its_timeout_with_unknown_outcomes() -> None:
    clock, account = ManualClock(), account_type()
    store = MemoryEventStore(fault=lambda write: StoreFault.LOSE_REQUEST)
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=100))
        await clock.advance(0)
        closing = asyncio.ensure_future(runtime.aclose(drain=True, timeout=2))
        await clock.advance(3)
        await closing
        with pytest.raises(WriteOutcomeUnknown):
            await ask


async def test_aclose_without_drain_fails_pending_asks_at_once() -> None:
    store, account = GatedStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=100))
        await asyncio.sleep(0)
        await runtime.aclose()
        with pytest.raises(WriteOutcomeUnknown):
            await ask


async def test_entity_with_empty_journal_activates_and_writes_without_a_task() -> None:
    store, account = GatedStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        asks = [asyncio.ensure_future(ref.ask(Deposit(1), timeout=100)) for _ in range(3)]
        await asyncio.sleep(0)
        entity = runtime.passivation.get("account", "a")
        assert entity is not None and entity.task is None  # recovered at once, no task
        assert runtime.statistics()["busy"] == 1  # a write in flight is work, task or not
        store.gate.set()
        assert [await ask for ask in asks] == [1, 2, 3]
        assert entity.task is None and runtime.statistics()["busy"] == 0
    assert store.calls == [1, 1]  # the first command's write, then the two that waited
    assert store.replays == 1


async def test_known_empty_store_still_replays_entities_with_events() -> None:
    store, account = MemoryEventStore(known_empty=True), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        await runtime.ref(account, "a").ask(Deposit(4), timeout=1)
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 4


async def test_known_empty_store_with_restart_and_stop() -> None:
    store = MemoryEventStore(known_empty=True)
    account = account_type(supervision=Restart(max_restarts=1, within=60))
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        with pytest.raises(ActorDeadError, match="gave up after 1 restarts"):
            await ref.ask(Boom(), timeout=1)
        assert await ref.ask(Deposit(2), timeout=1) == 2
        assert await ref.ask(Close(), timeout=1) == "closed"
        await asyncio.sleep(0)
        assert runtime.statistics()["active"] == 0
        assert await ref.ask(GetBalance(), timeout=1) == 2


async def test_an_entity_with_a_write_in_flight_is_never_passivated() -> None:
    clock, store = ManualClock(), GatedStore()
    account = account_type(passivation_timeout=1)
    settings = EntitySettings(max_active_entities=1)
    async with EntityRuntime(store, [account], settings=settings, clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=100))
        await clock.advance(5)
        other = asyncio.ensure_future(runtime.ref(account, "b").ask(GetBalance(), timeout=100))
        await clock.advance(0)
        assert runtime.passivation.get("account", "a") is not None
        store.gate.set()
        assert await ask == 1 and await other == 0
        await clock.advance(5)
        assert runtime.statistics()["active"] == 0


async def test_an_ask_answered_at_once_sets_no_timer() -> None:
    clock, store, account = ManualClock(), MemoryEventStore(known_empty=True), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        await runtime.ref(account, "a").tell(GetBalance())
        await clock.advance(0)
        before = clock.pending_timers  # the passivation timer's
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 0
        assert clock.pending_timers == before
        assert await runtime.ref(account, "a").ask(Deposit(1), timeout=1) == 1
        assert clock.pending_timers == before  # the write's ask timer was cancelled


class CountingClock(ManualClock):
    """A manual clock that counts how often ``now`` is read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def now(self) -> float:
        self.reads += 1
        return super().now()


async def test_a_command_reads_the_clock_once_and_marks_last_use_with_it() -> None:
    clock, store, account = CountingClock(), MemoryEventStore(known_empty=True), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ref = runtime.ref(account, "a")
        await ref.tell(GetBalance())  # activates; later commands find it running
        await clock.advance(7)
        reads = clock.reads
        await ref.tell(GetBalance())
        assert clock.reads == reads + 1
        entity = runtime.passivation.get("account", "a")
        assert entity is not None and entity.last_used == clock.now()
        # A command's own (older) timestamp is not its entity's last use.
        await clock.advance(5)
        await ref.tell(GetBalance(), timestamp=1.0)
        assert entity.last_used == clock.now() != 1.0

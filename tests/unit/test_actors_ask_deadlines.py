"""Ask timeouts share one clock timer per timeout value; a refused ask leaves no garbage cycle."""

from __future__ import annotations

import asyncio
import gc

import pytest
from actors_sample import Deposit, GetBalance, InsufficientFunds, Withdraw, account_type

from repertory.actors import EntityRuntime, ManualClock
from repertory.errors import AskTimeout
from repertory.testing.entity_store import MemoryEventStore


def gated_store() -> tuple[MemoryEventStore, asyncio.Event]:
    store = MemoryEventStore()
    gate = asyncio.Event()

    async def slow_replay(pid: str, snapshot: object) -> object:
        await gate.wait()
        return await MemoryEventStore.replay(store, pid, None)

    store.replay = slow_replay  # type: ignore[method-assign, assignment]
    return store, gate


async def test_asks_with_one_timeout_share_a_timer_and_expire_in_order() -> None:
    clock = ManualClock()
    store, gate = gated_store()
    account = account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        first = asyncio.ensure_future(runtime.ref(account, "a").ask(GetBalance(), timeout=2))
        await clock.advance(1)
        timers = clock.pending_timers
        second = asyncio.ensure_future(runtime.ref(account, "a").ask(GetBalance(), timeout=2))
        await clock.advance(0)
        assert clock.pending_timers == timers  # the second shares the first one's timer
        assert "waiting=2" in repr(runtime.ask_deadlines)
        await clock.advance(1.1)
        with pytest.raises(AskTimeout, match=r"account\|a"):
            await first
        assert not second.done()
        await clock.advance(1)
        with pytest.raises(AskTimeout, match=r"account\|a"):
            await second
        assert "waiting=0" in repr(runtime.ask_deadlines)
        gate.set()


async def test_an_answered_ask_removes_its_deadline() -> None:
    clock, store, account = ManualClock(), MemoryEventStore(known_empty=True), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        refs = [runtime.ref(account, str(n)) for n in range(20)]
        await asyncio.gather(*(ref.ask(Deposit(1), timeout=3) for ref in refs))
        await clock.advance(0)
        before = clock.pending_timers  # the passivation timer's
        replies = await asyncio.gather(*(ref.ask(Deposit(1), timeout=3) for ref in refs))
        assert replies == [2] * 20
        assert clock.pending_timers == before
        assert "waiting=0" in repr(runtime.ask_deadlines)


async def test_a_refused_ask_leaves_no_reference_cycle() -> None:
    clock, store, account = ManualClock(), MemoryEventStore(known_empty=True), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ref = runtime.ref(account, "a")
        gc.collect()
        gc.disable()
        try:
            for _ in range(50):
                with pytest.raises(InsufficientFunds):
                    await ref.ask(Withdraw(5), timeout=1)
            found = gc.collect()
        finally:
            gc.enable()
        assert found < 50  # none per refusal (a refusal used to leave a cycle of ~15 objects)

"""Each effect, refs and asks, on the in-process store with a manual clock."""

from __future__ import annotations

import asyncio

import pytest
from actors_sample import (
    Account,
    Boom,
    Close,
    Deposit,
    Deposited,
    GetBalance,
    InsufficientFunds,
    Split,
    Transfer,
    Withdraw,
    Withdrawn,
    account_type,
    on_command,
)

from repertory.actors import NO_REPLY, Effect, EntityRuntime, ManualClock
from repertory.config import EntitySettings
from repertory.errors import ActorDeadError, AskTimeout
from repertory.testing.entity_store import MemoryEventStore

pytestmark = pytest.mark.unit


async def test_persist_then_reply_answers_from_the_state_after_the_event() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        assert await ref.ask(Deposit(5), timeout=1) == 5
        assert await ref.ask(Withdraw(2), timeout=1) == 3
    assert store.user_events("account|a") == [Deposited(5), Withdrawn(2)]


async def test_persist_many_events_is_one_atomic_write() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        assert await runtime.ref(account, "a").ask(Split(3), timeout=1) == 3
    assert store.calls == [1]
    seq = [e.seq_nr for e in store.events["account|a"]]
    assert seq == [1, 2, 3]
    assert [e.ends_command for e in store.events["account|a"]] == [False, False, True]
    assert store.events["account|a"][-1].reply == 3


async def test_reject_raises_the_business_error_and_persists_nothing() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        with pytest.raises(InsufficientFunds):
            await runtime.ref(account, "a").ask(Withdraw(1), timeout=1)
        assert await runtime.ref(account, "a").ask(GetBalance(), timeout=1) == 0
    assert store.events.get("account|a", []) == []


async def test_none_and_tell_and_no_reply() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        await ref.tell(Deposit(4))
        assert await ref.ask(GetBalance(), timeout=1) == 4
    assert Effect.none().reply is None
    assert on_command(Account(), GetBalance()).events == ()
    assert repr(NO_REPLY) == "NO_REPLY"


async def test_emit_sends_a_command_with_an_id_derived_from_the_event() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        a, b = runtime.ref(account, "a"), runtime.ref(account, "b")
        await a.ask(Deposit(10), timeout=1)
        assert await a.ask(Transfer("b", 4), timeout=1) == 6
        for _ in range(50):
            await asyncio.sleep(0)
        assert await b.ask(GetBalance(), timeout=1) == 4
    emitted = store.events["account|b"][0]
    assert emitted.command_id == "account|a:2:0"
    assert store.events["account|a"][1].emits[0].entity_id == "b"


async def test_emit_without_events_is_refused() -> None:
    with pytest.raises(ValueError, match="emit"):
        Effect.none().emit()


async def test_then_run_runs_after_commit_once_and_never_on_replay() -> None:
    ran: list[int] = []
    account = account_type()

    def handler(state: Account, command: object) -> Effect[Account, object]:
        return Effect.persist(Deposited(1)).then_run(lambda s: ran.append(s.balance))

    counting = type(account)(
        name="account", empty_state=Account(), on_command=handler, on_event=account.on_event
    )
    store = MemoryEventStore()
    async with EntityRuntime(store, [counting], clock=ManualClock()) as runtime:
        await runtime.ref(counting, "a").ask(Deposit(1), timeout=1)
        assert ran == [1]
    async with EntityRuntime(store, [counting], clock=ManualClock()) as runtime:
        await runtime.ref(counting, "a").ask(Deposit(1), timeout=1)
    assert ran == [1, 2]  # the replay of the first event ran nothing


async def test_stop_answers_then_the_next_command_recovers_the_entity() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        await ref.ask(Deposit(3), timeout=1)
        assert await ref.ask(Close(), timeout=1) == "closed"
        await asyncio.sleep(0)  # the reply goes out first, then the entity stops
        assert runtime.statistics()["active"] == 0
        assert await ref.ask(GetBalance(), timeout=1) == 3
    assert store.replays == 2


def gated_store() -> tuple[MemoryEventStore, asyncio.Event]:
    """A store whose recovery waits for the gate (so commands stay queued)."""
    store = MemoryEventStore()
    gate = asyncio.Event()

    async def slow_replay(pid: str, snapshot: object) -> object:
        await gate.wait()
        return await MemoryEventStore.replay(store, pid, None)

    store.replay = slow_replay  # type: ignore[method-assign, assignment]
    return store, gate


async def test_ask_times_out_on_the_manual_clock() -> None:
    clock = ManualClock()
    store, gate = gated_store()
    account = account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(GetBalance(), timeout=2))
        await clock.advance(1.9)
        assert not ask.done()
        await clock.advance(0.2)
        with pytest.raises(AskTimeout, match=r"account\|a"):
            await ask
        gate.set()


async def test_ask_to_an_entity_that_stops_after_failure_gets_actor_dead() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        with pytest.raises(ActorDeadError, match="stopped"):
            await runtime.ref(account, "a").ask(Boom(), timeout=1)
        assert runtime.statistics()["dead_letters"] == 1


async def test_tell_waits_while_the_mailbox_is_full() -> None:
    (store, gate), account = gated_store(), account_type()
    settings = EntitySettings(mailbox_size=2)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        ref = rt.ref(account, "a")
        await ref.tell(Deposit(1))
        await ref.tell(Deposit(1))
        third = asyncio.ensure_future(ref.tell(Deposit(1)))
        await asyncio.sleep(0)
        assert not third.done()  # backpressure, not a drop
        gate.set()
        await third
        assert await ref.ask(GetBalance(), timeout=1) == 3


async def test_stopped_runtime_refuses_and_pending_asks_fail() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
    with pytest.raises(ActorDeadError):
        await ref.tell(Deposit(1))

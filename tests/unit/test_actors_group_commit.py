"""Group commit per entity, the write batcher across entities, and write outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from actors_sample import Deposit, Deposited, GetBalance, account_type

from repertory.actors import EntityRuntime, EntityWrite, ManualClock
from repertory.config import EntitySettings
from repertory.errors import WriteOutcomeUnknown, WriteRejected
from repertory.testing.entity_store import MemoryEventStore, StoreFault

pytestmark = pytest.mark.unit


async def test_commands_during_a_write_share_the_next_write() -> None:
    store, account = MemoryEventStore(), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        replies = await asyncio.gather(*(ref.ask(Deposit(1), timeout=1) for _ in range(50)))
    assert replies == list(range(1, 51))  # replies in order, from the state after each command
    assert len(store.calls) < 50
    assert len(store.user_events("account|a")) == 50


async def test_group_is_bounded_by_event_count() -> None:
    store, account = MemoryEventStore(), account_type()
    settings = EntitySettings(group_commit_max_events=4)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        ref = rt.ref(account, "a")
        await asyncio.gather(*(ref.ask(Deposit(1), timeout=1) for _ in range(20)))
    sizes = _write_sizes(store)
    assert max(sizes) <= 4 and sum(sizes) == 20


def _write_sizes(store: MemoryEventStore) -> list[int]:
    # seq_nr ranges of the writes, from the reply markers is not enough: track via a fault hook
    return store.write_sizes  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(autouse=True)
def _record_write_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = MemoryEventStore._write_one

    def recording(self: MemoryEventStore, write: EntityWrite) -> object:
        if not hasattr(self, "write_sizes"):
            self.write_sizes = []  # type: ignore[attr-defined]
        self.write_sizes.append(len(write.events))  # type: ignore[attr-defined]
        return original(self, write)

    monkeypatch.setattr(MemoryEventStore, "_write_one", recording)


async def test_batcher_hands_many_entities_writes_to_one_call() -> None:
    store, account = MemoryEventStore(), account_type()
    settings = EntitySettings(batcher_max_in_flight=1, batcher_max_writes=64)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        await asyncio.gather(
            *(rt.ref(account, str(i)).ask(Deposit(1), timeout=1) for i in range(200))
        )
    assert max(store.calls) == 64
    assert sum(store.calls) == 200
    assert len(store.calls) <= 200 // 64 + 2


def reject_first_write(rejected: list[int]) -> Callable[[EntityWrite], StoreFault | None]:
    """A store fault that rejects the first write only, noting its last seq_nr."""

    def fault(write: EntityWrite) -> StoreFault | None:
        if not rejected:
            rejected.append(write.last_seq_nr)
            return StoreFault.REJECT
        return None

    return fault


async def test_rejected_write_recovers_and_reruns_the_commands() -> None:
    rejected: list[int] = []
    store, account = MemoryEventStore(fault=reject_first_write(rejected)), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        replies = await asyncio.gather(*(ref.ask(Deposit(1), timeout=1) for _ in range(5)))
    assert rejected == [5]  # all five were queued during recovery: one write
    assert replies == [1, 2, 3, 4, 5]
    assert store.user_events("account|a") == [Deposited(1)] * 5
    assert store.replays == 2


async def test_a_duplicate_waiting_on_a_rejected_write_is_answered_by_the_rerun() -> None:
    rejected: list[int] = []
    store, account = MemoryEventStore(fault=reject_first_write(rejected)), account_type()
    async with EntityRuntime(store, [account], clock=ManualClock()) as runtime:
        ref = runtime.ref(account, "a")
        replies = await asyncio.gather(
            ref.ask(Deposit(1), command_id="p", timeout=1),
            ref.ask(Deposit(2), timeout=1),
            ref.ask(Deposit(1), command_id="p", timeout=1),  # waits for the first one's reply
        )
    assert rejected == [2]
    assert replies == [1, 3, 1]
    assert store.user_events("account|a") == [Deposited(1), Deposited(2)]


async def test_rejected_too_often_fails_the_commands_clearly() -> None:
    store = MemoryEventStore(fault=lambda write: StoreFault.REJECT)
    account = account_type()
    settings = EntitySettings(rejected_write_retries=2)
    async with EntityRuntime(store, [account], settings=settings, clock=ManualClock()) as rt:
        with pytest.raises(WriteRejected, match="rejected 3 times"):
            await rt.ref(account, "a").ask(Deposit(1), timeout=1)
        assert store.replays == 4  # first recovery, then one after each of 3 rejections
        store.fault = None
        assert await rt.ref(account, "a").ask(Deposit(2), timeout=1) == 2


async def test_unknown_outcome_retries_the_identical_write_and_holds_later_commands() -> None:
    writes: list[EntityWrite] = []

    def lose_twice(write: EntityWrite) -> StoreFault | None:
        writes.append(write)
        return StoreFault.LOSE_ACK if len(writes) <= 2 else None

    clock = ManualClock()
    store, account = MemoryEventStore(fault=lose_twice), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ref = runtime.ref(account, "a")
        first = asyncio.ensure_future(ref.ask(Deposit(1), timeout=60))
        await clock.advance(0)
        second = asyncio.ensure_future(ref.ask(Deposit(1), timeout=60))
        await clock.advance(0)
        assert len(writes) == 1 and not first.done() and not second.done()
        await clock.advance(10)
        assert await first == 1 and await second == 2
    # the lost write was sent again as the very same object (same rows, same position) and,
    # being stored already, acknowledged; only then did the held command get its own write
    assert writes[0] is writes[1]
    assert [w.last_seq_nr for w in writes] == [1, 1, 2]
    assert store.user_events("account|a") == [Deposited(1), Deposited(1)]


async def test_unknown_outcome_never_gives_up_until_shutdown() -> None:
    clock = ManualClock()
    store = MemoryEventStore(fault=lambda write: StoreFault.LOSE_REQUEST)
    account = account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=10_000))
        await clock.advance(3600)
        assert not ask.done()
        assert len(store.calls) > 10
    with pytest.raises(WriteOutcomeUnknown):
        await ask


async def test_losing_ownership_fails_pending_asks_with_unknown_outcome() -> None:
    clock = ManualClock()
    store = MemoryEventStore(fault=lambda write: StoreFault.LOSE_REQUEST)
    account = account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        ask = asyncio.ensure_future(runtime.ref(account, "a").ask(Deposit(1), timeout=100))
        await clock.advance(1)
        assert await runtime.release(lambda pid: pid == "account|a") == 1
        with pytest.raises(WriteOutcomeUnknown):
            await ask
        store.fault = None
        assert await runtime.ref(account, "b").ask(Deposit(1), timeout=1) == 1


async def test_a_batch_with_some_writes_stored_and_others_failed() -> None:
    def fail_b_once(write: EntityWrite) -> StoreFault | None:
        if write.persistence_id == "account|b" and not getattr(fail_b_once, "done", False):
            fail_b_once.done = True  # type: ignore[attr-defined]
            return StoreFault.REJECT
        if write.persistence_id == "account|c" and not getattr(fail_b_once, "lost", False):
            fail_b_once.lost = True  # type: ignore[attr-defined]
            return StoreFault.LOSE_REQUEST
        return None

    clock = ManualClock()
    store, account = MemoryEventStore(fault=fail_b_once), account_type()
    async with EntityRuntime(store, [account], clock=clock) as runtime:
        asks = [
            asyncio.ensure_future(runtime.ref(account, x).ask(Deposit(1), timeout=60))
            for x in "abcd"
        ]
        await clock.advance(0)
        assert store.calls[0] == 4
        assert asks[0].done() and asks[3].done() and not asks[2].done()
        await clock.advance(5)
        assert [await a for a in asks] == [1, 1, 1, 1]
        assert await runtime.ref(account, "c").ask(GetBalance(), timeout=1) == 1
    for x in "abcd":
        assert store.user_events(f"account|{x}") == [Deposited(1)]

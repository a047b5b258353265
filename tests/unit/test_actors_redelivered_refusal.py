"""A record refused by an earlier incarnation whose answer never committed comes back below the
entity's highest applied offset: it is answered with the answer it got then, rebuilt from the
state just before it (the fold of the entity's events from earlier offsets), not as "already
applied" (found by the chaos suite: a withdrawal refused just before a worker died came back as
a duplicate error, which a client reads as success and the history checker counts as lost)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from repertory.actors import (
    CommandSource,
    DedupeMemory,
    Effect,
    EntityRuntime,
    EntitySnapshot,
    EntityType,
    ManualClock,
    Recovery,
)
from repertory.errors import DuplicateCommand
from repertory.testing.chaos._domain import (
    ACCOUNT,
    Deposit,
    Deposited,
    InsufficientFunds,
    Withdraw,
    Withdrawn,
)
from repertory.testing.chaos._domain import on_command as account_command
from repertory.testing.entity_store import MemoryEventStore

pytestmark = pytest.mark.unit

PID = "account|a"


def at(offset: int) -> CommandSource:
    return CommandSource(topic="commands", partition=0, offset=offset)


@dataclass(frozen=True)
class Balance:
    """A query: answered with the balance, persists nothing."""


def on_command(balance: int, command: Any) -> Effect[int, Any]:
    if isinstance(command, Balance):
        return Effect.reply_with(balance)
    return account_command(balance, command)


QUERIED: EntityType[int, Any, Any] = replace(ACCOUNT, on_command=on_command, snapshots=None)


class TruncatedStore(MemoryEventStore):
    """A memory store whose events up to ``deleted_to`` were deleted (as below a journal's
    deletion marker): a replay no longer returns them."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted_to = 0

    async def replay(self, persistence_id: str, snapshot: EntitySnapshot | None) -> Recovery:
        recovery = await super().replay(persistence_id, snapshot)
        kept = [event for event in recovery.events if event.seq_nr > self.deleted_to]
        return Recovery(events=kept, position=recovery.position)


def snapshot_at(seq_nr: int, balance: int, offset: int) -> EntitySnapshot:
    return EntitySnapshot(
        persistence_id=PID,
        seq_nr=seq_nr,
        state=balance,
        dedupe=DedupeMemory(offsets=(("commands", 0, offset),)),
        timestamp=0.0,
        position=seq_nr,
    )


async def refuse_then_deposit(store: MemoryEventStore, entity: EntityType[Any, Any, Any]) -> None:
    """Offset 10 withdraws 5 from 0 (refused, nothing stored); 11 deposits 9 (stored)."""
    async with EntityRuntime(store, [entity], clock=ManualClock()) as runtime:
        ref = runtime.ref(entity, "a")
        with pytest.raises(InsufficientFunds):
            await ref.ask(Withdraw(amount=5), source=at(10), command_id="w", timeout=1)
        assert await ref.ask(Deposit(amount=9), source=at(11), command_id="d", timeout=1) == 9


async def test_a_redelivered_refusal_is_refused_again_and_nothing_is_stored() -> None:
    store = MemoryEventStore()
    async with EntityRuntime(store, [ACCOUNT], clock=ManualClock()) as runtime:
        ref = runtime.ref(ACCOUNT, "a")
        with pytest.raises(InsufficientFunds):
            await ref.ask(Withdraw(amount=5), source=at(10), command_id="w", timeout=1)
        assert await ref.ask(Deposit(amount=3), source=at(11), command_id="d", timeout=1) == 3
    # a new owner: offsets 10 and 11 come back (the batch's transaction never committed)
    async with EntityRuntime(store, [ACCOUNT], clock=ManualClock()) as runtime:
        ref = runtime.ref(ACCOUNT, "a")
        with pytest.raises(InsufficientFunds):
            await ref.ask(Withdraw(amount=5), source=at(10), command_id="w", timeout=1)
        assert await ref.ask(Deposit(amount=3), source=at(11), command_id="d", timeout=1) == 3
    assert store.user_events(PID) == [Deposited(amount=3)]


async def test_a_refusal_affordable_now_is_answered_with_the_original_refusal() -> None:
    store = MemoryEventStore()
    await refuse_then_deposit(store, ACCOUNT)
    writes = list(store.calls)
    async with EntityRuntime(store, [ACCOUNT], clock=ManualClock()) as runtime:
        ref = runtime.ref(ACCOUNT, "a")
        # balance 9 now affords it, but at offset 10 the balance was 0: refused then, refused now
        with pytest.raises(InsufficientFunds, match="balance 0 < 5"):
            await ref.ask(Withdraw(amount=5), source=at(10), command_id="w", timeout=1)
        assert store.calls == writes  # nothing written
        # nothing applied either: a new withdrawal sees the balance of 9
        assert await ref.ask(Withdraw(amount=5), source=at(12), command_id="w2", timeout=1) == 4
    assert store.user_events(PID) == [Deposited(amount=9), Withdrawn(amount=5)]


async def test_a_redelivered_reply_without_events_is_answered_with_the_same_reply() -> None:
    store = MemoryEventStore()
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        ref = runtime.ref(QUERIED, "a")
        assert await ref.ask(Deposit(amount=3), source=at(20), command_id="d1", timeout=1) == 3
        assert await ref.ask(Balance(), source=at(21), command_id="q", timeout=1) == 3
        assert await ref.ask(Deposit(amount=4), source=at(22), command_id="d2", timeout=1) == 7
    writes = list(store.calls)
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        ref = runtime.ref(QUERIED, "a")
        assert await ref.ask(Balance(), source=at(21), command_id="q", timeout=1) == 3
        assert await ref.ask(Balance(), source=at(23), command_id="q2", timeout=1) == 7
    assert store.calls == writes
    assert store.user_events(PID) == [Deposited(amount=3), Deposited(amount=4)]


async def test_a_snapshot_from_before_the_record_replaces_deleted_history() -> None:
    store = TruncatedStore()
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        ref = runtime.ref(QUERIED, "a")
        assert await ref.ask(Deposit(amount=3), source=at(9), command_id="d1", timeout=1) == 3
        with pytest.raises(InsufficientFunds):
            await ref.ask(Withdraw(amount=5), source=at(10), command_id="w", timeout=1)
        assert await ref.ask(Deposit(amount=9), source=at(11), command_id="d2", timeout=1) == 12
    await store.save_snapshot(snapshot_at(1, 3, offset=9), keep=1)
    store.deleted_to = 1
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        with pytest.raises(InsufficientFunds, match="balance 3 < 5"):
            await runtime.ref(QUERIED, "a").ask(
                Withdraw(amount=5), source=at(10), command_id="w", timeout=1
            )


@pytest.mark.parametrize("deleted_to", [1, 2], ids=["partly", "entirely"])
async def test_a_redelivered_record_whose_history_is_gone_is_a_clear_error(
    deleted_to: int,
) -> None:
    store = TruncatedStore()
    await refuse_then_deposit(store, QUERIED)
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        ref = runtime.ref(QUERIED, "a")
        assert await ref.ask(Deposit(amount=1), source=at(12), command_id="d2", timeout=1) == 10
    # the only snapshot is from after the record: it cannot stand for the state before it
    await store.save_snapshot(snapshot_at(2, 10, offset=12), keep=1)
    store.deleted_to = deleted_to
    writes = list(store.calls)
    async with EntityRuntime(store, [QUERIED], clock=ManualClock()) as runtime:
        with pytest.raises(DuplicateCommand, match="original answer cannot be reconstructed"):
            await runtime.ref(QUERIED, "a").ask(
                Withdraw(amount=5), source=at(10), command_id="w", timeout=1
            )
    assert store.calls == writes

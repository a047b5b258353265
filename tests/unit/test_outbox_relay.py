"""The embedded engine's outbox relay: emitted commands are delivered from the writes that
committed them, marked delivered once acknowledged; rows left behind (an earlier run crashed
before delivering them) are delivered by a sweep of the table, and a repeat is recognised by
its derived command id."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from examples.bank.app import ENTITIES
from examples.bank.domain import (
    REGISTRY,
    Deposit,
    GetAccount,
    GetTransfer,
    OpenAccount,
    RequestTransfer,
    TransferStatus,
)
from repertory.config import JournalSettings, Settings
from repertory.engine import Engine
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    OutboxEntry,
    PersistenceId,
    SqliteJournal,
)


def engine(path: Path) -> Engine:
    settings = Settings(journal=JournalSettings(backend="sqlite", sqlite_path=path))
    return Engine(settings, ENTITIES, registry=REGISTRY)


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while True:  # the relay works in the background
            if await check():
                return
            await asyncio.sleep(0.01)


async def balance(engine: Engine, account: str) -> int:
    return int((await engine.ask("account", account, GetAccount())).balance)


async def pending_rows(path: Path) -> int:
    journal = await SqliteJournal.from_settings(JournalSettings(sqlite_path=path))
    try:
        return len(await journal.outbox_pending(max_count=1000))
    finally:
        await journal.aclose()


async def test_emitted_commands_are_delivered_in_process_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with engine(path) as bank:
        await bank.ask("account", "a", OpenAccount(owner="A"))
        await bank.ask("account", "b", OpenAccount(owner="B"))
        await bank.ask("account", "a", Deposit(amount=500))
        transfer = RequestTransfer(transfer_id="t1", source="a", target="b", amount=200)
        await bank.ask("transfer", "t1", transfer)

        async def completed() -> bool:
            state = await bank.ask("transfer", "t1", GetTransfer())
            return state.status is TransferStatus.COMPLETED

        await until(completed)
        relay = bank.relay
        assert relay is not None
        await until(lambda: _true(relay.delivered == 4))  # debit, its answer, credit, its answer
        assert relay.swept == 0  # nothing was read back from the table
        assert (await balance(bank, "a"), await balance(bank, "b")) == (300, 200)
    assert await pending_rows(path) == 0


async def _true(value: bool) -> bool:
    return value


async def test_rows_left_by_an_earlier_run_are_delivered_once_by_a_sweep(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    async with engine(path) as bank:
        await bank.ask("account", "a", OpenAccount(owner="A"))
    # An earlier incarnation committed an event that emits a deposit, then died before
    # delivering it: the row is in the outbox, undelivered.
    message_id = "ghost|g:1:0"
    journal = await SqliteJournal.from_settings(JournalSettings(sqlite_path=path))
    type_name, version, payload = bank.serializer.encode_message(Deposit(amount=70))
    entry = OutboxEntry(
        message_id=message_id,
        destination="account|a",
        message_type=type_name,
        schema_version=version,
        payload=payload,
    )
    event = EventData(event_type="ghost.Happened", payload=b"\x80", timestamp_ms=1)
    write = AtomicWrite(
        persistence_id=PersistenceId("ghost", "g"),
        writer_epoch=0,
        after=ChainTip(),
        events=(event,),
        outbox=(entry,),
    )
    await journal.append([write])
    await journal.aclose()

    async with engine(path) as restarted:  # its start-up sweep finds the row
        await until(lambda: _balance_is(restarted, 70))
        relay = restarted.relay
        assert relay is not None
        await until(lambda: _true(relay.delivered == 1))
        assert relay.swept == 1
        assert await relay.sweep() == 0  # marked: not delivered again
        # The same command again (a redelivery) is recognised by its derived id.
        await restarted.ask("account", "a", Deposit(amount=70), command_id=message_id)
        assert await balance(restarted, "a") == 70
    assert await pending_rows(path) == 0


async def _balance_is(bank: Engine, amount: int) -> bool:
    return await balance(bank, "a") == amount


async def test_a_row_for_an_unknown_entity_type_is_dropped_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = await SqliteJournal.from_settings(JournalSettings(sqlite_path=path))
    entry = OutboxEntry(
        message_id="ghost|g:1:0", destination="nowhere|x", message_type="x.Y", payload=b"\x80"
    )
    event = EventData(event_type="ghost.Happened", payload=b"\x80", timestamp_ms=1)
    write = AtomicWrite(
        persistence_id=PersistenceId("ghost", "g"),
        writer_epoch=0,
        after=ChainTip(),
        events=(event,),
        outbox=(entry,),
    )
    await journal.append([write])
    await journal.aclose()
    async with engine(path) as bank:
        relay = bank.relay
        assert relay is not None
        await until(lambda: _true(relay.delivered == 1))
        assert await relay.sweep() == 0
    assert await pending_rows(path) == 0

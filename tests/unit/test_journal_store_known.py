"""The embedded store's shortcuts on SQLite: new entities start without a read (and a stale
index is caught by the compare-and-set), emitted commands are encoded once, and the outbox's
delivery marks ride in the appends' transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgpack
import pytest

from repertory.actors import Emit, EntityRuntime, JournalEventStore
from repertory.actors._store import EntityWrite, StoredEvent, WriteStatus
from repertory.config import JournalSettings, Settings
from repertory.engine import Engine
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    InMemoryJournal,
    JournalMode,
    OutboxEntry,
    PersistenceId,
    SqliteJournal,
    WriteOutcome,
)
from repertory.protocols import Serializer
from repertory.testing._journal_helpers import events
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit, Deposited

SERIALIZER = Serializer(REGISTRY)


async def open_journal(path: Path) -> SqliteJournal:
    return await SqliteJournal.open(path, mode=JournalMode.CONDITIONAL)


async def test_an_unknown_entity_recovers_without_a_read_until_it_is_written(
    tmp_path: Path,
) -> None:
    journal = await open_journal(tmp_path / "j.sqlite3")
    try:
        store = JournalEventStore(journal, None, SERIALIZER)
        assert store.empty_recovery("ledger|a") is None  # no index: the store must look
        store.know_entities(await journal.known_entities(100))
        recovery = store.empty_recovery("ledger|a")
        assert recovery is not None and not recovery.events
        assert recovery.position == ChainTip()
        async with EntityRuntime(store, [LEDGER]) as runtime:
            assert await runtime.ref("ledger", "a").ask(Deposit(amount=5), timeout=2.0) == 5
        assert store.empty_recovery("ledger|a") is None
        assert await journal.known_entities(100) == {"ledger|a"}
        assert await journal.known_entities(0) is None  # past the limit: no index
    finally:
        await journal.aclose()


async def test_an_index_is_refused_on_a_fenced_journal(tmp_path: Path) -> None:
    store = JournalEventStore(InMemoryJournal(mode=JournalMode.FENCED), None, SERIALIZER)
    with pytest.raises(ValueError, match="conditional"):
        store.know_entities(set())
    fenced = await SqliteJournal.open(tmp_path / "f.sqlite3", mode=JournalMode.FENCED)
    try:
        assert await fenced.known_entities(100) is None
    finally:
        await fenced.aclose()


async def test_a_stale_index_loses_the_compare_and_set_and_the_entity_recovers(
    tmp_path: Path,
) -> None:
    settings = Settings(journal=JournalSettings(backend="sqlite", sqlite_path=tmp_path / "j"))
    async with Engine(settings, [LEDGER], registry=REGISTRY) as early:
        # ``early`` read its index before ``late`` wrote the entity.
        async with Engine(settings, [LEDGER], registry=REGISTRY) as late:
            assert await late.ask("ledger", "a", Deposit(amount=10)) == 10
        assert await early.ask("ledger", "a", Deposit(amount=5)) == 15


async def test_emitted_commands_are_stored_alike_in_the_reply_and_the_outbox() -> None:
    journal = InMemoryJournal(mode=JournalMode.CONDITIONAL)
    store = JournalEventStore(journal, None, SERIALIZER)
    emit = Emit("ledger", "b", Deposit(amount=3))
    event = StoredEvent(seq_nr=1, event=Deposited(amount=3), timestamp=1.0, emits=(emit,))
    write = EntityWrite(persistence_id="ledger|a", events=(event,), position=None, size=100)
    [ack], [atomic] = await store.write_encoded([write])
    assert ack.status is WriteStatus.STORED
    [entry] = atomic.outbox
    reply = msgpack.unpackb(atomic.events[0].reply)
    assert reply["e"] == [["ledger", "b", entry.message_type, 1, entry.payload]]
    assert (entry.message_id, entry.destination) == ("ledger|a:1:0", "ledger|b")
    assert SERIALIZER.decode_message(entry.message_type, 1, entry.payload) == emit.command


async def test_delivery_marks_share_the_next_appends_transaction(tmp_path: Path) -> None:
    journal = await open_journal(tmp_path / "j.sqlite3")
    pid = PersistenceId("ledger", "a")
    try:
        entry = OutboxEntry(message_id="m-1", destination="ledger|b", message_type="D", payload=b"")
        first = AtomicWrite(
            persistence_id=pid, writer_epoch=0, after=ChainTip(), events=events(1), outbox=(entry,)
        )
        assert [r.outcome for r in await journal.append([first])] == [WriteOutcome.STORED]
        after = AtomicWrite(
            persistence_id=pid, writer_epoch=0, after=ChainTip(1, 0, 0), events=events(1, "x", 2)
        )
        results, _ = await asyncio.gather(
            journal.append([after]), journal.mark_delivered_messages(["m-1", "unknown"])
        )
        assert [r.outcome for r in results] == [WriteOutcome.STORED]
        assert await journal.outbox_pending() == []
        await journal.mark_delivered_messages([])  # nothing to mark: no transaction
    finally:
        await journal.aclose()

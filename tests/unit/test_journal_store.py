"""The runtime's event store over a journal: fenced mode's zombie check on activation, and the
journal metrics it records (on the in-memory journal, with a registry of the test's own)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from repertory.actors import EntityRuntime, JournalEventStore
from repertory.errors import ActorDeadError, WriterFenced
from repertory.observability.metrics import RepertoryMetrics
from repertory.persistence import (
    InMemoryJournal,
    InMemorySnapshotStore,
    JournalMode,
    PersistenceId,
)
from repertory.protocols import Serializer
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit

SERIALIZER = Serializer(REGISTRY)
ACCOUNT = PersistenceId("ledger", "a")


async def deposit(store: JournalEventStore, amount: int) -> int:
    """One ask in a fresh runtime (so the entity activates); its error is raised outside."""
    async with EntityRuntime(store, [LEDGER]) as runtime:
        try:
            return int(await runtime.ref("ledger", "a").ask(Deposit(amount=amount), timeout=2.0))
        except Exception as exc:
            error = exc
    raise error


async def rows(journal: InMemoryJournal) -> list[tuple[int, int]]:
    return [(r.seq_nr, r.writer_epoch) async for r in journal.replay(ACCOUNT)]


async def test_an_older_epoch_is_a_zombie_on_activation_and_writes_nothing() -> None:
    journal = InMemoryJournal(mode=JournalMode.FENCED)
    zombies: list[tuple[str, int]] = []
    old = JournalEventStore(
        journal,
        None,
        SERIALIZER,
        await journal.claim_epoch(),
        on_zombie=lambda pid, epoch: zombies.append((pid, epoch)),
    )
    assert await deposit(old, 1) == 1  # the old owner wrote first: its own chain, no zombie
    new = JournalEventStore(journal, None, SERIALIZER, await journal.claim_epoch())
    assert await deposit(new, 5) == 6  # the new owner continues the chain under epoch 2
    assert zombies == []

    with pytest.raises(ActorDeadError):
        await deposit(old, 100)
    assert zombies == [("ledger|a", 2)]
    assert await rows(journal) == [(1, 1), (2, 2)]
    assert len(journal.store.rows[ACCOUNT]) == 2  # not even a dropped row: nothing was written

    with pytest.raises(WriterFenced, match=r"\[ledger\|a\].*\[2\].*\[1\]"):
        await old.replay("ledger|a", None)
    assert (await new.replay("ledger|a", None)).position.epoch == 2


async def test_a_snapshot_under_a_newer_epoch_also_marks_a_zombie() -> None:
    journal, snapshots = InMemoryJournal(mode=JournalMode.FENCED), InMemorySnapshotStore()
    old_epoch = await journal.claim_epoch()
    new = JournalEventStore(journal, snapshots, SERIALIZER, await journal.claim_epoch())
    await deposit(new, 3)
    recovery = await new.replay("ledger|a", None)
    snapshot = await new.load_snapshot("ledger|a")
    assert snapshot is None and recovery.position.epoch == 2
    old = JournalEventStore(journal, snapshots, SERIALIZER, old_epoch)
    with pytest.raises(WriterFenced):
        await old.replay("ledger|a", None)


async def test_journal_metrics_are_recorded_per_request() -> None:
    registry = CollectorRegistry()
    metrics = RepertoryMetrics(registry)
    journal = InMemoryJournal(mode=JournalMode.CONDITIONAL)
    store = JournalEventStore(
        journal, InMemorySnapshotStore(), SERIALIZER, metrics=metrics, end_to_end=True
    )
    assert await deposit(store, 2) == 2
    assert await deposit(store, 3) == 5  # a second activation replays the first event

    def value(name: str, **labels: str) -> float:
        found = registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    assert value("repertory_journal_append_seconds_count", outcome="stored") == 2
    assert value("repertory_journal_append_events_sum") == 2
    assert value("repertory_journal_replayed_events_total") == 1
    assert value("repertory_journal_replay_seconds_count") == 2
    assert value("repertory_journal_snapshot_loads_total", outcome="absent") == 2
    assert value("repertory_actors_recovery_seconds_count", entity_type="ledger") == 2
    assert value("repertory_actors_group_commit_events_count", entity_type="ledger") == 2
    assert value("repertory_end_to_end_seconds_count", entity_type="ledger") == 2


async def test_without_metrics_nothing_is_recorded() -> None:
    registry = CollectorRegistry()
    RepertoryMetrics(registry)
    store = JournalEventStore(InMemoryJournal(mode=JournalMode.CONDITIONAL), None, SERIALIZER)
    assert await deposit(store, 2) == 2
    assert (
        registry.get_sample_value("repertory_journal_append_seconds_count", {"outcome": "stored"})
        is None
    )

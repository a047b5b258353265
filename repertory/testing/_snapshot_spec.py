"""The snapshot-store contract (after Akka's SnapshotStoreSpec)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from repertory.persistence import PersistenceId, SnapshotCriteria, SnapshotRecord, SnapshotStore
from repertory.testing._journal_harness import JournalHarness

__all__ = ["SnapshotStoreSpec"]

PID = PersistenceId("contract", "snapshots")


def snapshot(seq_nr: int, payload: bytes = b"", pid: PersistenceId = PID) -> SnapshotRecord:
    """A snapshot at ``seq_nr``, taken at timestamp ``100 * seq_nr``."""
    return SnapshotRecord(
        persistence_id=pid,
        seq_nr=seq_nr,
        writer_epoch=1,
        timestamp_ms=100 * seq_nr,
        state_type="ContractState",
        payload=payload or f"state-{seq_nr}".encode(),
        metadata={"seq": str(seq_nr)},
    )


class SnapshotStoreSpec:
    """Save, select by criteria, overwrite, delete and size, for any snapshot store."""

    @pytest.fixture
    async def snapshots(self, journal_harness: JournalHarness) -> AsyncIterator[SnapshotStore]:
        store = await journal_harness.open_snapshot_store()
        for seq_nr in (5, 10, 15):
            await store.save(snapshot(seq_nr))
        yield store

    async def test_unknown_entity_has_no_snapshot(self, snapshots: SnapshotStore) -> None:
        assert await snapshots.load(PersistenceId("contract", "none")) is None

    async def test_loads_the_latest(self, snapshots: SnapshotStore) -> None:
        assert await snapshots.load(PID) == snapshot(15)

    @pytest.mark.parametrize(
        ("criteria", "expected"),
        [
            (SnapshotCriteria(max_seq_nr=12), 10),
            (SnapshotCriteria(max_seq_nr=10), 10),
            (SnapshotCriteria(max_timestamp_ms=999), 5),
            (SnapshotCriteria(min_seq_nr=6, max_seq_nr=14), 10),
            (SnapshotCriteria(min_timestamp_ms=1100), 15),
            (SnapshotCriteria(max_seq_nr=4), None),
        ],
    )
    async def test_selects_by_criteria(
        self, snapshots: SnapshotStore, criteria: SnapshotCriteria, expected: int | None
    ) -> None:
        found = await snapshots.load(PID, criteria)
        assert (found.seq_nr if found else None) == expected

    async def test_saving_the_same_seq_nr_overwrites(self, snapshots: SnapshotStore) -> None:
        await snapshots.save(snapshot(15, b"second"))
        found = await snapshots.load(PID)
        assert found is not None and found.payload == b"second"

    async def test_deletes_one(self, snapshots: SnapshotStore) -> None:
        await snapshots.delete(PID, 15)
        await snapshots.delete(PID, 99)
        assert await snapshots.load(PID) == snapshot(10)

    async def test_deletes_all_matching(self, snapshots: SnapshotStore) -> None:
        await snapshots.delete_matching(PID, SnapshotCriteria(max_seq_nr=10))
        assert await snapshots.load(PID, SnapshotCriteria(max_seq_nr=14)) is None
        assert await snapshots.load(PID) == snapshot(15)

    async def test_entities_are_apart(self, snapshots: SnapshotStore) -> None:
        other = PersistenceId("contract", "other")
        await snapshots.save(snapshot(3, pid=other))
        await snapshots.delete_matching(other, SnapshotCriteria())
        assert await snapshots.load(other) is None
        assert await snapshots.load(PID) == snapshot(15)

    async def test_large_snapshots_round_trip(self, snapshots: SnapshotStore) -> None:
        large = bytes(range(256)) * (8 * 1024 * 1024 // 256)
        await snapshots.save(snapshot(20, large))
        found = await snapshots.load(PID)
        assert found is not None and found.payload == large

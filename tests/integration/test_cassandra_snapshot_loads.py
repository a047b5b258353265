"""Loads of the latest snapshot asked for together (entities recovering at once) share requests,
and each still gets its own entity's newest snapshot."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from cassandra.cluster import Session

from repertory.config import CassandraSettings
from repertory.persistence._records import PersistenceId, SnapshotCriteria, SnapshotRecord
from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_snapshots import CassandraSnapshotStore


@pytest.fixture
async def store(
    cassandra_session: Session, cassandra_contact: tuple[str, int]
) -> AsyncIterator[CassandraSnapshotStore]:
    name = f"st_{uuid.uuid4().hex[:12]}"
    create_schema(cassandra_session, name)
    host, port = cassandra_contact
    settings = CassandraSettings(contact_points=(host,), port=port, keyspace=name)
    opened = await CassandraSnapshotStore.open(settings)
    yield opened
    await opened.aclose()
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


def snapshot(pid: PersistenceId, seq_nr: int) -> SnapshotRecord:
    return SnapshotRecord(
        persistence_id=pid,
        seq_nr=seq_nr,
        writer_epoch=1,
        timestamp_ms=seq_nr,
        state_type="S",
        payload=f"{pid}@{seq_nr}".encode(),
    )


async def test_latest_snapshots_of_many_entities_load_in_few_requests(
    store: CassandraSnapshotStore,
) -> None:
    pids = [PersistenceId("acct", str(i)) for i in range(100)]
    with_snapshots = pids[::10]
    for n, pid in enumerate(with_snapshots):
        for seq_nr in (n + 1, n + 5, n + 3):  # saved out of order: the newest is n + 5
            await store.save(snapshot(pid, seq_nr))
    before = store._latest.requests

    loaded = await asyncio.gather(*(store.load(pid) for pid in pids))

    assert store._latest.requests - before <= 2  # 100 entities, 64 per request, one replica
    for pid, record in zip(pids, loaded, strict=True):
        if pid in with_snapshots:
            n = with_snapshots.index(pid)
            assert record is not None
            assert (record.persistence_id, record.seq_nr) == (pid, n + 5)
            assert record.payload == f"{pid}@{n + 5}".encode()
        else:
            assert record is None


async def test_a_load_with_criteria_reads_alone_and_honours_them(
    store: CassandraSnapshotStore,
) -> None:
    pid = PersistenceId("acct", "c")
    for seq_nr in (2, 4, 6):
        await store.save(snapshot(pid, seq_nr))
    before = store._latest.requests

    capped = await store.load(pid, SnapshotCriteria(max_seq_nr=5))

    assert capped is not None and capped.seq_nr == 4
    assert store._latest.requests == before

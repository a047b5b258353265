"""The Cassandra journal against the dev stack's Cassandra: what the shared contract suite does
not reach (batching, partitions, start-up checks, claims under contention, serial settling)."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from cassandra.cluster import Session

from repertory.config import CassandraSettings
from repertory.errors import JournalMismatch, JournalUnavailable
from repertory.persistence._chain import Anchor
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    EventData,
    JournalMode,
    PersistenceId,
    SnapshotCriteria,
    SnapshotRecord,
    WriteOutcome,
)
from repertory.persistence.cassandra_batching import routing_key
from repertory.persistence.cassandra_journal import CassandraJournal
from repertory.persistence.cassandra_schema import KeyspaceRecord, create_schema
from repertory.persistence.cassandra_session import _page
from repertory.persistence.cassandra_snapshots import CassandraSnapshotStore

Opener = Callable[..., Awaitable[CassandraJournal]]


@pytest.fixture
def keyspace(cassandra_session: Session) -> AsyncIterator[str]:
    name = f"jt_{uuid.uuid4().hex[:12]}"
    create_schema(cassandra_session, name)
    yield name
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


@pytest.fixture
async def open_journal(keyspace: str, cassandra_contact: tuple[str, int]) -> AsyncIterator[Opener]:
    opened: list[CassandraJournal] = []
    host, port = cassandra_contact

    async def open_(
        mode: JournalMode, partition_size: int = 10, **fields: object
    ) -> CassandraJournal:
        settings = CassandraSettings(
            contact_points=(host,),
            port=port,
            keyspace=keyspace,
            **fields,  # type: ignore[arg-type]
        )
        journal = await CassandraJournal.open(settings, mode=mode, partition_size=partition_size)
        opened.append(journal)
        return journal

    yield open_
    for journal in opened:
        await journal.aclose()


def events(n: int, tag: str = "e") -> tuple[EventData, ...]:
    return tuple(
        EventData(event_type="E", payload=f"{tag}{i}".encode(), timestamp_ms=1) for i in range(n)
    )


def write(
    pid: PersistenceId, after: ChainTip, n: int, epoch: int = 0, tag: str = "e"
) -> AtomicWrite:
    return AtomicWrite(persistence_id=pid, writer_epoch=epoch, after=after, events=events(n, tag))


async def test_routing_key_matches_the_drivers(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED)
    insert = journal._statements.insert_event
    values = [None] * len(insert.column_metadata)
    values[0], values[1], values[2], values[3] = "acct|7", 3, 1, 1
    assert insert.bind(values).routing_key == routing_key("acct|7", 3)


async def test_connections_send_without_delay(open_journal: Opener) -> None:
    """Nagle's algorithm off on every socket: with it on, a request written in pieces waits
    for the server's delayed ACK (about 40 ms per batch of more than a few rows)."""
    journal = await open_journal(JournalMode.FENCED)
    cluster = journal._cassandra.cluster
    connections = [
        c for holder in cluster.get_connection_holders() for c in holder.get_connections()
    ]
    assert connections
    for connection in connections:
        assert connection._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


async def test_a_finished_request_is_freed_without_the_collector(open_journal: Opener) -> None:
    """The driver's future holds its callbacks and its cancelled timer, both of which hold the
    future: the session lets go of them, so reference counting frees the request once the
    driver's loop drops the timer (at the request timeout), not the garbage collector."""
    journal = await open_journal(JournalMode.FENCED, request_timeout=0.5)
    session = journal._cassandra
    gc.disable()
    try:
        future = session.session.execute_async("SELECT release_version FROM system.local")
        assert await _page(future, session._handoff_here(), lambda: None)
        freed = threading.Event()
        weakref.finalize(future, freed.set)
        del future
        assert await asyncio.to_thread(freed.wait, 5.0)
    finally:
        gc.enable()


async def test_fenced_many_entities_across_small_batches(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED, batch_max_bytes=1024)
    epoch = await journal.claim_epoch()
    pids = [PersistenceId("acct", str(i)) for i in range(60)]
    writes = [write(pid, ChainTip(), 3, epoch, tag=str(pid)) for pid in pids]
    results = await journal.append(writes)
    assert [r.outcome for r in results] == [WriteOutcome.STORED] * 60
    assert [r.persistence_id for r in results] == pids
    for pid in pids[::17]:
        rows = [row async for row in journal.replay(pid)]
        assert [row.payload for row in rows] == [f"{pid}{i}".encode() for i in range(3)]


async def test_oversize_write_is_stored_alone(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED, batch_max_bytes=1024)
    epoch = await journal.claim_epoch()
    big = EventData(event_type="E", payload=b"x" * 200_000, timestamp_ms=1)
    pid = PersistenceId("big", "1")
    results = await journal.append(
        [
            AtomicWrite(persistence_id=pid, writer_epoch=epoch, after=ChainTip(), events=(big,)),
            write(PersistenceId("small", "1"), ChainTip(), 2, epoch),
        ]
    )
    assert [r.outcome for r in results] == [WriteOutcome.STORED] * 2
    assert [len(row.payload) async for row in journal.replay(pid)] == [200_000]


async def test_zombie_rows_across_partitions_are_dropped(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED, partition_size=4)
    old, new = await journal.claim_epoch(), await journal.claim_epoch()
    pid = PersistenceId("acct", "z")
    first = (await journal.append([write(pid, ChainTip(), 3, old, "a")]))[0].tip
    assert first is not None
    # seq 4..7 by the old writer overruns partition 0; the new owner continues from seq 3.
    await journal.append([write(pid, first, 4, old, "zombie")])
    tip = (await journal.append([write(pid, first, 4, new, "b")]))[0].tip
    assert tip == ChainTip(7, new, 0)
    tip = (await journal.append([write(pid, tip, 2, new, "c")]))[0].tip
    assert tip == ChainTip(9, new, 1)
    chain = [(row.seq_nr, row.writer_epoch) async for row in journal.replay(pid)]
    assert chain == [(1, old), (2, old), (3, old)] + [(s, new) for s in range(4, 10)]
    tail = [row.payload async for row in journal.replay(pid, from_seq_nr=8, max_count=1)]
    assert tail == [b"c0"]
    assert await journal.chain_tip(pid) == ChainTip(9, new, 1)
    dropped = (await journal.check(pid))[pid]
    assert [(row.seq_nr, row.writer_epoch) for row in dropped] == [(s, old) for s in range(4, 8)]


async def test_conditional_collision_retry_and_unknown_partition(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.CONDITIONAL, partition_size=4)
    pid = PersistenceId("acct", "c")
    first = write(pid, ChainTip(), 3)
    tip = (await journal.append([first]))[0].tip
    assert tip == ChainTip(3, 0, 0)
    assert (await journal.append([first]))[0].outcome is WriteOutcome.STORED  # identical retry
    rival = write(pid, ChainTip(), 3, tag="rival")
    assert (await journal.append([rival]))[0].outcome is WriteOutcome.REJECTED
    # A snapshot-like tip (partition unknown) settles against the partition's head.
    tip = (await journal.append([write(pid, ChainTip(3, 0, None), 2, tag="b")]))[0].tip
    assert tip == ChainTip(5, 0, 0)
    stale = write(pid, ChainTip(3, 0, None), 1, tag="stale")
    assert (await journal.append([stale]))[0].outcome is WriteOutcome.REJECTED
    both = await journal.append([write(pid, tip, 1, tag="x"), write(pid, ChainTip(6, 0, 1), 1)])
    assert [r.outcome for r in both] == [WriteOutcome.STORED] * 2
    assert [
        row.seq_nr async for row in journal.replay(pid, anchor=Anchor(2, 0), from_seq_nr=3)
    ] == [
        3,
        4,
        5,
        6,
        7,
    ]


async def test_concurrent_claims_are_distinct_and_rising(open_journal: Opener) -> None:
    journals = [await open_journal(JournalMode.FENCED) for _ in range(3)]
    claims = await asyncio.gather(*(j.claim_epoch() for j in journals for _ in range(4)))
    assert sorted(claims) == list(range(1, 13))


async def test_keyspace_records_mode_and_partitioning(open_journal: Opener) -> None:
    await open_journal(JournalMode.FENCED, partition_size=10)
    with pytest.raises(JournalMismatch, match="mode"):
        await open_journal(JournalMode.CONDITIONAL, partition_size=10)
    with pytest.raises(JournalMismatch, match="partition_size"):
        await open_journal(JournalMode.FENCED, partition_size=20)


async def test_create_schema_refuses_another_record(
    cassandra_session: Session, keyspace: str
) -> None:
    record = KeyspaceRecord(mode="fenced", partition_size=10, commands_partitions=8)
    create_schema(cassandra_session, keyspace, record=record)
    create_schema(cassandra_session, keyspace, record=record)  # idempotent
    other = KeyspaceRecord(mode="fenced", partition_size=10, commands_partitions=16)
    with pytest.raises(JournalMismatch, match="commands_partitions"):
        create_schema(cassandra_session, keyspace, record=other)


async def test_non_overlapping_consistency_is_refused(
    cassandra_session: Session, cassandra_contact: tuple[str, int]
) -> None:
    name = f"jt_{uuid.uuid4().hex[:12]}"
    create_schema(cassandra_session, name, {"class": "SimpleStrategy", "replication_factor": 3})
    host, port = cassandra_contact
    settings = CassandraSettings(
        contact_points=(host,),
        port=port,
        keyspace=name,
        read_consistency="ONE",
        write_consistency="ONE",
    )
    try:
        with pytest.raises(JournalMismatch, match="may miss"):
            await CassandraJournal.open(settings, mode=JournalMode.FENCED, partition_size=10)
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


async def test_missing_schema_is_unavailable(cassandra_contact: tuple[str, int]) -> None:
    host, port = cassandra_contact
    settings = CassandraSettings(contact_points=(host,), port=port, keyspace="no_such_keyspace")
    with pytest.raises(JournalUnavailable, match="schema create"):
        await CassandraJournal.open(settings, mode=JournalMode.FENCED, partition_size=10)


async def test_snapshots_newest_matching_first(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED)
    store = await CassandraSnapshotStore.open(journal.session.settings, journal.session)
    pid = PersistenceId("acct", "s")
    for seq in (5, 10, 15):
        await store.save(
            SnapshotRecord(
                persistence_id=pid,
                seq_nr=seq,
                writer_epoch=1,
                timestamp_ms=seq * 100,
                state_type="S",
                payload=b"%d" % seq,
                metadata={"k": "v"},
            )
        )
    latest = await store.load(pid)
    assert latest is not None and latest.seq_nr == 15 and latest.metadata == {"k": "v"}
    capped = await store.load(pid, SnapshotCriteria(max_seq_nr=12))
    assert capped is not None and capped.seq_nr == 10
    old = await store.load(pid, SnapshotCriteria(max_timestamp_ms=600))
    assert old is not None and old.seq_nr == 5
    await store.delete_matching(pid, SnapshotCriteria(min_seq_nr=10))
    remaining = await store.load(pid)
    assert remaining is not None and remaining.seq_nr == 5
    await store.delete(pid, 5)
    assert await store.load(pid) is None
    await store.aclose()


async def test_delete_to_keeps_the_head_for_conditional_writers(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.CONDITIONAL, partition_size=4)
    pid = PersistenceId("acct", "d")
    tip = (await journal.append([write(pid, ChainTip(), 3)]))[0].tip
    assert tip is not None
    assert await journal.delete_to(pid, 100, seen=tip, writer_epoch=0) == Anchor(3, 0)
    assert [row async for row in journal.replay(pid)] == []
    assert await journal.chain_tip(pid) == ChainTip(3, 0, None)
    rival = write(pid, ChainTip(), 1, tag="rival")
    assert (await journal.append([rival]))[0].outcome is WriteOutcome.REJECTED
    assert (await journal.append([write(pid, ChainTip(3, 0, None), 1)]))[0].outcome is (
        WriteOutcome.STORED
    )
    assert [row.seq_nr async for row in journal.replay(pid)] == [4]


async def test_known_entities_lists_rows_markers_and_snapshots(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.CONDITIONAL, partition_size=4)
    assert await journal.known_entities(10) == set()
    written, deleted = PersistenceId("acct", "w"), PersistenceId("acct", "x")
    await journal.append([write(written, ChainTip(), 1), write(deleted, ChainTip(), 1)])
    await journal.delete_to(deleted, 1, seen=ChainTip(1, 0, 0), writer_epoch=0)
    snapshots = await CassandraSnapshotStore.open(journal.session.settings, journal.session)
    await snapshots.save(
        SnapshotRecord(
            persistence_id=PersistenceId("acct", "s"),
            seq_nr=1,
            writer_epoch=0,
            timestamp_ms=1,
            state_type="S",
            payload=b"s",
        )
    )
    await snapshots.aclose()
    assert await journal.known_entities(10) == {"acct|w", "acct|x", "acct|s"}
    assert await journal.known_entities(2) is None  # past the limit: unknown


async def test_fenced_journal_lists_no_known_entities(open_journal: Opener) -> None:
    journal = await open_journal(JournalMode.FENCED)
    assert await journal.known_entities(10) is None

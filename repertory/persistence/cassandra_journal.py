"""The production journal: events in Cassandra, fenced or conditional (see ``_contract``).

Opening it connects (in the running process, never before a fork), records or checks what the
keyspace is, checks that reads and writes at the configured levels overlap for the keyspace's
real replication, and prepares every statement. Driver errors are translated here, at the
edge: reads raise ``JournalUnavailable``; writes report FAILED results (see ``append``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable, Sequence

from cassandra import DriverException
from cassandra.cluster import NoHostAvailable

from repertory.config import CassandraSecuritySettings, CassandraSettings
from repertory.errors import JournalUnavailable
from repertory.observability import get_logger, metrics
from repertory.persistence._chain import Anchor, resolve_chain
from repertory.persistence._contract import MAX_SEQ_NR, EntityIndex
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    EventRecord,
    JournalMode,
    PersistenceId,
    WriteResult,
)
from repertory.persistence._resolving import ResolvingJournal, effective_anchor
from repertory.persistence._rules import validate_writes
from repertory.persistence.cassandra_batching import routing_key
from repertory.persistence.cassandra_deletion import (
    known_persistence_ids,
    list_persistence_ids,
    raise_marker,
)
from repertory.persistence.cassandra_epochs import claim_epoch
from repertory.persistence.cassandra_grouped import GroupedReads
from repertory.persistence.cassandra_keys import ChainSpan, chain_slice, resolve_keys
from repertory.persistence.cassandra_reads import EntityReader, SmallEntity
from repertory.persistence.cassandra_schema import KeyspaceRecord
from repertory.persistence.cassandra_session import CassandraSession
from repertory.persistence.cassandra_startup import check_keyspace
from repertory.persistence.cassandra_statements import Statements
from repertory.persistence.cassandra_writes import WriteExecutor

_log = get_logger("repertory.persistence")
_READ_GROUP = 64  # entities per grouped recovery read
_UNAVAILABLE = (DriverException, NoHostAvailable, OSError)


class CassandraJournal(ResolvingJournal, EntityIndex):
    """A journal in one Cassandra keyspace; build it with :meth:`open`."""

    def __init__(
        self,
        cassandra: CassandraSession,
        record: KeyspaceRecord,
        statements: Statements,
        *,
        owns_session: bool,
    ) -> None:
        self._cassandra = cassandra
        self._record = record
        self._mode = JournalMode(record.mode)
        self._statements = statements
        self._owns_session = owns_session
        keyspace = cassandra.settings.keyspace
        self._reader = EntityReader(cassandra, statements, record.partition_size)
        self._small_reads: GroupedReads[PersistenceId, SmallEntity] = GroupedReads(
            self._reader.small_entities, self._primary_replica, _READ_GROUP
        )
        self._writer = WriteExecutor(cassandra, statements, keyspace, record.partition_size)
        self._closed = False

    @classmethod
    async def open(
        cls,
        settings: CassandraSettings,
        *,
        mode: JournalMode,
        partition_size: int,
        commands_partitions: int | None = None,
        session: CassandraSession | None = None,
        security: CassandraSecuritySettings | None = None,
    ) -> CassandraJournal:
        """Connect, check the keyspace and the consistency levels, prepare statements.

        Args:
            settings: the ``cassandra`` section.
            mode: the journal mode this engine runs in (``journal.mode``).
            partition_size: nominal events per partition (``journal.partition_size``).
            commands_partitions: the commands topic's partition count (None without Kafka).
            session: share a connected session (e.g. with the snapshot store); not closed here.
            security: the ``cassandra_security`` section, for a session made here.

        Raises:
            JournalUnavailable: the cluster cannot be reached or has no journal schema.
            AuthenticationFailed: the login or the TLS handshake was refused.
            JournalMismatch: the keyspace was recorded for another mode or partitioning, or
                the consistency levels do not overlap for its replication.
        """
        owns = session is None
        cassandra = session or CassandraSession(settings, security=security)
        wanted = KeyspaceRecord(
            mode=mode.value, partition_size=partition_size, commands_partitions=commands_partitions
        )
        try:
            await cassandra.connect()
            await check_keyspace(cassandra, wanted)
            statements = await Statements.prepare(cassandra, settings.keyspace)
        except BaseException:
            if owns:
                await cassandra.aclose()
            raise
        return cls(cassandra, wanted, statements, owns_session=owns)

    def __repr__(self) -> str:
        return (
            f"<CassandraJournal {self._mode.value} keyspace={self._cassandra.settings.keyspace!r}"
            f" partition_size={self._record.partition_size} {self._cassandra!r}>"
        )

    @property
    def mode(self) -> JournalMode:
        return self._mode

    @property
    def partition_size(self) -> int:
        return self._record.partition_size

    @property
    def session(self) -> CassandraSession:
        """The connection, to share with a :class:`CassandraSnapshotStore`."""
        return self._cassandra

    async def claim_epoch(self) -> int:
        if self._mode is JournalMode.CONDITIONAL:
            return 0
        return await claim_epoch(self._cassandra, self._cassandra.settings.keyspace)

    async def append(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        """Store atomic writes; FAILED results carry ``WriteOutcomeUnknown`` (retry identically)
        or, for a write Cassandra refuses outright, a non-retriable ``PersistenceError``."""
        validate_writes(
            writes, mode=self._mode, partition_size=self.partition_size, supports_outbox=False
        )
        if not writes:
            return []
        if self._mode is JournalMode.FENCED:
            return await self._writer.append_fenced(writes)
        return await self._writer.append_conditional(writes)

    async def replay(
        self,
        persistence_id: PersistenceId,
        from_seq_nr: int = 1,
        to_seq_nr: int = MAX_SEQ_NR,
        max_count: int = MAX_SEQ_NR,
        anchor: Anchor | None = None,
    ) -> AsyncIterator[EventRecord]:
        """Stream the chain's slice: an entity whose rows fit one page is read in one pass;
        a larger one is resolved on keys first, then its payloads are paged through."""
        if max_count < 0:
            raise ValueError(f"max_count [{max_count}] must not be negative")
        if anchor is not None and anchor.seq_nr >= from_seq_nr:
            raise ValueError(
                f"anchor seq_nr [{anchor.seq_nr}] must be below from_seq_nr [{from_seq_nr}]"
            )
        if max_count == 0 or to_seq_nr < from_seq_nr:
            return
        small = await self._small_chain(persistence_id, anchor)
        if small is not None:
            sent = 0
            for row in small:
                if row.seq_nr > to_seq_nr or sent >= max_count:
                    return
                if row.seq_nr >= from_seq_nr:
                    sent += 1
                    yield row
            return
        spans = await self._resolve_keys(persistence_id, anchor)
        wanted = chain_slice(spans, from_seq_nr, to_seq_nr, max_count)
        try:
            async for page in self._reader.chain_pages(persistence_id, wanted):
                for row in page:
                    yield row
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot replay [{persistence_id}]: {exc}") from exc

    def _primary_replica(self, persistence_id: PersistenceId) -> Hashable:
        key = routing_key(str(persistence_id), 0)
        replicas = self._cassandra.cluster.metadata.get_replicas(
            self._cassandra.settings.keyspace, key
        )
        return replicas[0] if replicas else None

    async def chain_tip(
        self, persistence_id: PersistenceId, anchor: Anchor | None = None
    ) -> ChainTip:
        """Resolved on chain keys alone: no payload is read."""
        spans = await self._resolve_keys(persistence_id, anchor)
        if spans:
            last = spans[-1]
            return ChainTip(last.last_seq_nr, last.epochs[-1], last.partition_nr)
        effective = await self._anchor(persistence_id, anchor)
        return ChainTip(effective.seq_nr, effective.epoch, None)

    async def _anchor(self, persistence_id: PersistenceId, given: Anchor | None) -> Anchor:
        try:
            marker = await self._reader.marker(persistence_id)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc
        return effective_anchor(given, marker)

    async def _small_chain(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[EventRecord, ...] | None:
        """The chain of an entity whose rows fit one page, read in one pass (the deletion
        marker and the rows in parallel: one round trip); None when it does not fit."""
        above = anchor.seq_nr if anchor is not None else 0
        try:
            if above == 0:  # from the origin: grouped with other entities' recoveries
                marker, rows = await self._small_reads.get(persistence_id)
            else:
                marker, rows = await asyncio.gather(
                    self._reader.marker(persistence_id),
                    self._reader.first_partition_rows(persistence_id, above),
                )
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc
        effective = effective_anchor(anchor, marker)
        if rows is None or effective.seq_nr >= self.partition_size:
            return None
        if effective.seq_nr > above:
            rows = [row for row in rows if row.seq_nr > effective.seq_nr]
        resolution = resolve_chain(rows, effective)
        if resolution.dropped:
            self._report_dropped(persistence_id, len(resolution.dropped), effective)
        return resolution.chain

    def _report_dropped(self, persistence_id: PersistenceId, dropped: int, anchor: Anchor) -> None:
        metrics.journal.noncanonical_rows.inc(dropped)
        _log.warning(
            "rows outside the canonical chain dropped",
            persistence_id=str(persistence_id),
            dropped=dropped,
            anchor_seq_nr=anchor.seq_nr,
        )

    async def _resolve_keys(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> list[ChainSpan]:
        effective = await self._anchor(persistence_id, anchor)
        try:
            keys = await self._reader.chain_keys(persistence_id, effective)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc
        resolution = resolve_keys(keys, effective)
        if resolution.dropped:
            self._report_dropped(persistence_id, resolution.dropped, effective)
        return resolution.spans

    async def _read_rows(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[Anchor, list[EventRecord]]:
        effective = await self._anchor(persistence_id, anchor)
        try:
            return effective, await self._reader.all_rows(persistence_id, effective)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc

    async def _raise_marker(self, persistence_id: PersistenceId, marker: Anchor) -> Anchor:
        try:
            return await raise_marker(
                self._cassandra,
                self._statements,
                self._reader,
                persistence_id,
                marker,
                self.partition_size,
            )
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot delete events of [{persistence_id}]: {exc}") from exc

    async def _persistence_ids(self) -> list[PersistenceId]:
        try:
            return await list_persistence_ids(self._cassandra, self._cassandra.settings.keyspace)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot list entities: {exc}") from exc

    async def known_entities(self, limit: int) -> set[str] | None:
        """Every entity this conditional journal holds rows, a deletion marker or a snapshot
        for (as persistence id strings); None past ``limit`` entities or in fenced mode. Scans
        the keyspace's partition keys: meant for start-up, where it lets new entities skip the
        recovery reads (a stale answer is safe: their first compare-and-set is rejected).

        Raises:
            JournalUnavailable: the keyspace could not be read.
        """
        if self._mode is not JournalMode.CONDITIONAL:
            return None
        try:
            return await known_persistence_ids(
                self._cassandra, self._cassandra.settings.keyspace, limit
            )
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot list entities: {exc}") from exc

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._small_reads.close()
        if self._owns_session:
            await self._cassandra.aclose()

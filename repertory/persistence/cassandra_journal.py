"""The production journal: events in Cassandra, fenced or conditional (see ``_contract``).

Opening it connects (in the running process, never before a fork), records or checks what the
keyspace is, checks that reads and writes at the configured levels overlap for the keyspace's
real replication, and prepares every statement. Driver errors are translated here, at the
edge: reads raise ``JournalUnavailable``; writes report FAILED results (see ``append``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from cassandra import DriverException
from cassandra.cluster import NoHostAvailable

from repertory.config import CassandraSecuritySettings, CassandraSettings
from repertory.errors import JournalUnavailable
from repertory.observability import get_logger, metrics
from repertory.persistence._chain import Anchor, resolve_chain
from repertory.persistence._contract import MAX_SEQ_NR
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
from repertory.persistence.cassandra_deletion import list_persistence_ids, raise_marker
from repertory.persistence.cassandra_epochs import claim_epoch
from repertory.persistence.cassandra_reads import EntityReader
from repertory.persistence.cassandra_rows import ChainKey
from repertory.persistence.cassandra_schema import KeyspaceRecord
from repertory.persistence.cassandra_session import CassandraSession
from repertory.persistence.cassandra_startup import check_keyspace
from repertory.persistence.cassandra_statements import Statements
from repertory.persistence.cassandra_writes import WriteExecutor

_log = get_logger("repertory.persistence")
_UNAVAILABLE = (DriverException, NoHostAvailable, OSError)


class CassandraJournal(ResolvingJournal):
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
        """Stream the chain's slice: resolve on keys first, then page through the payloads."""
        if max_count < 0:
            raise ValueError(f"max_count [{max_count}] must not be negative")
        if anchor is not None and anchor.seq_nr >= from_seq_nr:
            raise ValueError(
                f"anchor seq_nr [{anchor.seq_nr}] must be below from_seq_nr [{from_seq_nr}]"
            )
        if max_count == 0 or to_seq_nr < from_seq_nr:
            return
        chain = await self._resolve_keys(persistence_id, anchor)
        wanted = [key for key in chain if from_seq_nr <= key.seq_nr <= to_seq_nr][:max_count]
        if not wanted:
            return
        epochs = {key.seq_nr: key.writer_epoch for key in wanted}
        partitions = sorted({key.partition_nr for key in wanted})
        low, high = wanted[0].seq_nr, wanted[-1].seq_nr
        try:
            async for page in self._reader.row_pages(persistence_id, partitions, low, high):
                for row in page:
                    if epochs.get(row.seq_nr) == row.writer_epoch:
                        yield row
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot replay [{persistence_id}]: {exc}") from exc

    async def chain_tip(
        self, persistence_id: PersistenceId, anchor: Anchor | None = None
    ) -> ChainTip:
        """Resolved on chain keys alone: no payload is read."""
        chain = await self._resolve_keys(persistence_id, anchor)
        if chain:
            last = chain[-1]
            return ChainTip(last.seq_nr, last.writer_epoch, last.partition_nr)
        effective = await self._anchor(persistence_id, anchor)
        return ChainTip(effective.seq_nr, effective.epoch, None)

    async def _anchor(self, persistence_id: PersistenceId, given: Anchor | None) -> Anchor:
        try:
            marker = await self._reader.marker(persistence_id)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc
        return effective_anchor(given, marker)

    async def _resolve_keys(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[ChainKey, ...]:
        effective = await self._anchor(persistence_id, anchor)
        try:
            keys = await self._reader.chain_keys(persistence_id, effective)
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"cannot read [{persistence_id}]: {exc}") from exc
        resolution = resolve_chain(keys, effective)
        if resolution.dropped:
            metrics.journal.noncanonical_rows.inc(len(resolution.dropped))
            _log.warning(
                "rows outside the canonical chain dropped",
                persistence_id=str(persistence_id),
                dropped=len(resolution.dropped),
                anchor_seq_nr=effective.seq_nr,
            )
        return resolution.chain

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

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_session:
            await self._cassandra.aclose()

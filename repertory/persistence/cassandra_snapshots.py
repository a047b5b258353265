"""Snapshots in Cassandra: one row per (entity, seq_nr), newest first.

A load reads the entity's snapshots newest first from the highest seq_nr allowed and returns
the first that also matches the timestamp bounds, so the usual load (latest) is one row. Loads
of the latest snapshot asked for in one loop turn (entities recovering together when a worker
takes its partitions) share one request per group (``cassandra_grouped``), as journal
recoveries do: a request per entity cost a round trip and the driver's CPU each.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cassandra import DriverException
from cassandra.cluster import NoHostAvailable
from cassandra.query import PreparedStatement

from repertory.config import CassandraSettings
from repertory.errors import JournalUnavailable
from repertory.persistence._contract import SnapshotStore
from repertory.persistence._records import PersistenceId, SnapshotCriteria, SnapshotRecord
from repertory.persistence.cassandra_grouped import GroupedReads
from repertory.persistence.cassandra_session import CassandraSession, consistency

_COLUMNS = "seq_nr, writer_epoch, timestamp_ms, state_type, schema_version, payload, metadata"
_UNAVAILABLE = (DriverException, NoHostAvailable, OSError)
_LOAD_GROUP = 64  # entities per grouped load of the latest snapshot


class CassandraSnapshotStore(SnapshotStore):
    """Snapshots in the journal's keyspace; build it with :meth:`open`.

    Args:
        cassandra: a connected session (shared with the journal, or owned).
        owns_session: whether ``aclose`` shuts the session down.
    """

    def __init__(self, cassandra: CassandraSession, *, owns_session: bool) -> None:
        self._cassandra = cassandra
        self._owns_session = owns_session
        self._prepared: dict[str, PreparedStatement] = {}
        self._latest: GroupedReads[PersistenceId, SnapshotRecord | None] = GroupedReads(
            self._latest_many, self._primary_replica, _LOAD_GROUP
        )

    @classmethod
    async def open(
        cls, settings: CassandraSettings, session: CassandraSession | None = None
    ) -> CassandraSnapshotStore:
        """Connect (unless given a session, e.g. ``journal.session``).

        Raises:
            JournalUnavailable: the cluster cannot be reached.
        """
        cassandra = session or CassandraSession(settings)
        await cassandra.connect()
        return cls(cassandra, owns_session=session is None)

    def __repr__(self) -> str:
        return f"<CassandraSnapshotStore {self._cassandra!r}>"

    async def _run(self, cql: str, level: str, values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        statement = self._prepared.get(cql)
        if statement is None:
            statement = await self._cassandra.prepare(cql)
            statement.consistency_level = consistency(level)
            self._prepared[cql] = statement
        try:
            return await self._cassandra.execute(statement.bind(values))
        except _UNAVAILABLE as exc:
            raise JournalUnavailable(f"snapshot store: {type(exc).__name__}: {exc}") from exc

    @property
    def _keyspace(self) -> str:
        return self._cassandra.settings.keyspace

    async def save(self, snapshot: SnapshotRecord) -> None:
        await self._run(
            f"INSERT INTO {self._keyspace}.snapshots (persistence_id, {_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self._cassandra.settings.write_consistency,
            (
                str(snapshot.persistence_id),
                snapshot.seq_nr,
                snapshot.writer_epoch,
                snapshot.timestamp_ms,
                snapshot.state_type,
                snapshot.schema_version,
                snapshot.payload,
                dict(snapshot.metadata) if snapshot.metadata else None,
            ),
        )

    async def load(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria | None = None
    ) -> SnapshotRecord | None:
        if criteria is None:
            return await self._latest.get(persistence_id)
        wanted = criteria
        for snapshot in await self._candidates(persistence_id, wanted):
            if wanted.matches(snapshot):
                return snapshot
        return None

    async def _candidates(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria
    ) -> list[SnapshotRecord]:
        """Snapshots within the seq_nr bounds, newest first (timestamps filtered by caller)."""
        rows = await self._run(
            f"SELECT {_COLUMNS} FROM {self._keyspace}.snapshots WHERE persistence_id = ?"
            " AND seq_nr <= ? AND seq_nr >= ?",
            self._cassandra.settings.read_consistency,
            (str(persistence_id), criteria.max_seq_nr, criteria.min_seq_nr),
        )
        return [_decode(persistence_id, row) for row in rows]

    async def _latest_many(
        self, persistence_ids: list[PersistenceId]
    ) -> dict[PersistenceId, SnapshotRecord | None]:
        """The newest snapshot of each entity (None: it has none), in one request."""
        by_name = {str(pid): pid for pid in persistence_ids}
        rows = await self._run(
            f"SELECT persistence_id, {_COLUMNS} FROM {self._keyspace}.snapshots"
            " WHERE persistence_id IN ? PER PARTITION LIMIT 1",
            self._cassandra.settings.read_consistency,
            (list(by_name),),
        )
        found: dict[PersistenceId, SnapshotRecord | None] = dict.fromkeys(persistence_ids)
        for row in rows:
            pid = by_name[row[0]]
            found[pid] = _decode(pid, row[1:])
        return found

    def _primary_replica(self, persistence_id: PersistenceId) -> Hashable:
        key = str(persistence_id).encode()
        replicas = self._cassandra.cluster.metadata.get_replicas(self._keyspace, key)
        return replicas[0] if replicas else None

    async def delete(self, persistence_id: PersistenceId, seq_nr: int) -> None:
        await self._run(
            f"DELETE FROM {self._keyspace}.snapshots WHERE persistence_id = ? AND seq_nr = ?",
            self._cassandra.settings.write_consistency,
            (str(persistence_id), seq_nr),
        )

    async def delete_matching(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria
    ) -> None:
        for snapshot in await self._candidates(persistence_id, criteria):
            if criteria.matches(snapshot):
                await self.delete(persistence_id, snapshot.seq_nr)

    async def aclose(self) -> None:
        self._latest.close()
        if self._owns_session:
            await self._cassandra.aclose()


def _decode(persistence_id: PersistenceId, row: tuple[Any, ...]) -> SnapshotRecord:
    seq_nr, epoch, timestamp_ms, state_type, version, payload, metadata = row
    return SnapshotRecord(
        persistence_id=persistence_id,
        seq_nr=seq_nr,
        writer_epoch=epoch,
        timestamp_ms=timestamp_ms,
        state_type=state_type,
        schema_version=version,
        payload=payload if payload is not None else b"",
        metadata=dict(metadata) if metadata else {},
    )

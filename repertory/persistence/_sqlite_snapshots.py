"""The SQLite snapshot store: snapshots in the journal's file, on a thread of their own."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path
from typing import Any, Literal

from repertory.persistence._contract import SnapshotStore
from repertory.persistence._records import PersistenceId, SnapshotCriteria, SnapshotRecord
from repertory.persistence._sqlite_schema import ensure_schema, pack_metadata, unpack_metadata
from repertory.persistence._sqlite_thread import SqliteThread, connect

__all__ = ["SqliteSnapshotStore"]

_COLUMNS = (
    "persistence_id, seq_nr, writer_epoch, timestamp_ms, state_type, schema_version, payload, "
    "metadata"
)
_MATCHING = "persistence_id = ? AND seq_nr BETWEEN ? AND ? AND timestamp_ms BETWEEN ? AND ?"


class SqliteSnapshotStore(SnapshotStore):
    """Snapshots keyed by (persistence_id, seq_nr); open with :meth:`open`."""

    def __init__(
        self,
        path: Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> None:
        self._path = path
        opener = functools.partial(connect, path, synchronous, busy_timeout)
        self._thread = SqliteThread(opener, "repertory-sqlite-snapshots")

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 5.0,
    ) -> SqliteSnapshotStore:
        """Open (creating the tables if needed) the snapshot store in ``path``.

        Raises:
            JournalUnavailable: the file cannot be opened.
        """
        store = cls(path, synchronous=synchronous, busy_timeout=busy_timeout)
        try:
            await store._thread.call(
                functools.partial(ensure_schema, mode=None, partition_size=None)
            )
        except BaseException:
            await store.aclose()
            raise
        return store

    def __repr__(self) -> str:
        return f"SqliteSnapshotStore(path={str(self._path)!r})"

    async def save(self, snapshot: SnapshotRecord) -> None:
        values = (
            str(snapshot.persistence_id),
            snapshot.seq_nr,
            snapshot.writer_epoch,
            snapshot.timestamp_ms,
            snapshot.state_type,
            snapshot.schema_version,
            snapshot.payload,
            pack_metadata(snapshot.metadata),
        )
        sql = f"INSERT OR REPLACE INTO snapshots ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        await self._thread.call(functools.partial(_execute, sql=sql, values=values))

    async def load(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria | None = None
    ) -> SnapshotRecord | None:
        sql = f"SELECT {_COLUMNS} FROM snapshots WHERE {_MATCHING} ORDER BY seq_nr DESC LIMIT 1"
        values = _bounds(persistence_id, criteria or SnapshotCriteria())
        row = await self._thread.call(functools.partial(_fetch_one, sql=sql, values=values))
        return None if row is None else _decode(row)

    async def delete(self, persistence_id: PersistenceId, seq_nr: int) -> None:
        sql = "DELETE FROM snapshots WHERE persistence_id = ? AND seq_nr = ?"
        values = (str(persistence_id), seq_nr)
        await self._thread.call(functools.partial(_execute, sql=sql, values=values))

    async def delete_matching(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria
    ) -> None:
        sql = f"DELETE FROM snapshots WHERE {_MATCHING}"
        values = _bounds(persistence_id, criteria)
        await self._thread.call(functools.partial(_execute, sql=sql, values=values))

    async def aclose(self) -> None:
        await self._thread.aclose()


def _bounds(persistence_id: PersistenceId, criteria: SnapshotCriteria) -> tuple[Any, ...]:
    return (
        str(persistence_id),
        criteria.min_seq_nr,
        criteria.max_seq_nr,
        criteria.min_timestamp_ms,
        criteria.max_timestamp_ms,
    )


def _execute(connection: sqlite3.Connection, sql: str, values: tuple[Any, ...]) -> None:
    connection.execute(sql, values)


def _fetch_one(
    connection: sqlite3.Connection, sql: str, values: tuple[Any, ...]
) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = connection.execute(sql, values).fetchone()
    return row


def _decode(row: tuple[Any, ...]) -> SnapshotRecord:
    pid, seq_nr, epoch, timestamp_ms, state_type, version, payload, metadata = row
    return SnapshotRecord(
        persistence_id=PersistenceId.parse(pid),
        seq_nr=seq_nr,
        writer_epoch=epoch,
        timestamp_ms=timestamp_ms,
        state_type=state_type,
        schema_version=version,
        payload=bytes(payload),
        metadata=unpack_metadata(metadata),
    )

"""The SQLite journal: the embedded default, one file, WAL, one writer thread with group commit.

Appends from many tasks meet on the writer thread and are committed together, one transaction
per group, which also carries the outbox's delivery marks queued meanwhile; reads run on a
second thread with their own connection (WAL lets them proceed while a write commits), and WAL
checkpoints on a third (``_sqlite_checkpoint``). Both modes; the outbox of emitted commands
lives in the same file.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from repertory.config import JournalSettings
from repertory.errors import JournalUnavailable
from repertory.persistence import _sqlite_ops as ops
from repertory.persistence._chain import Anchor
from repertory.persistence._contract import EntityIndex, Outbox
from repertory.persistence._records import (
    AtomicWrite,
    EventRecord,
    JournalMode,
    OutboxRecord,
    PersistenceId,
    WriteResult,
)
from repertory.persistence._resolving import ResolvingJournal
from repertory.persistence._rules import validate_writes
from repertory.persistence._sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from repertory.persistence._sqlite_conditional import HeadCache
from repertory.persistence._sqlite_prepared import PreparedWrite
from repertory.persistence._sqlite_schema import ensure_schema
from repertory.persistence._sqlite_thread import GroupCommit, SqliteThread, connect

__all__ = ["SqliteJournal"]

Synchronous = Literal["NORMAL", "FULL"]

_WRITER_CACHE_KIB = 32 * 1024
"""The writer's page cache. A group's rows land on the last page of each of its entities:
with SQLite's default 2 MiB most of those pages were read back from the file every group (a
thousand entities already need about 4 MiB); 32 MiB cut the writer's SQLite time per write by
about a fifth in the bank workload. Pages are allocated as used, up to this."""


@dataclass(frozen=True, slots=True)
class _Marks:
    """Outbox rows to mark delivered, queued with the appends: they share a transaction."""

    message_ids: list[str]


_Item = PreparedWrite | _Marks
_Outcome = WriteResult | bool  # a write's result; for marks, whether they were stored


class SqliteJournal(ResolvingJournal, Outbox, EntityIndex):
    """A journal in one SQLite file. Open with :meth:`open` (or :meth:`from_settings`).

    Several processes may open one file in conditional mode: each write transaction takes
    SQLite's write lock, so the head compare-and-set holds across them.
    """

    def __init__(
        self,
        path: Path,
        *,
        mode: JournalMode,
        partition_size: int,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 5.0,
        max_group_writes: int = 2000,
    ) -> None:
        opener = functools.partial(connect, path, synchronous, busy_timeout)
        self._path = path
        self._mode = mode
        self._partition_size = partition_size
        self._synchronous = synchronous
        writer = functools.partial(
            opener, autocheckpoint=BACKSTOP_PAGES, cache_kib=_WRITER_CACHE_KIB
        )
        self._writer = SqliteThread(writer, "repertory-sqlite-writer")
        self._reader = SqliteThread(opener, "repertory-sqlite-reader")
        self._checkpointer = Checkpointer(SqliteThread(opener, "repertory-sqlite-checkpoints"))
        self._group: GroupCommit[_Item, _Outcome] = GroupCommit(
            self._writer, self._write_group, max_group_writes
        )
        # Used on the writer's thread only.
        self._heads = HeadCache() if mode is JournalMode.CONDITIONAL else None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        mode: JournalMode,
        partition_size: int = 500_000,
        synchronous: Synchronous = "NORMAL",
        busy_timeout: float = 5.0,
        max_group_writes: int = 2000,
    ) -> SqliteJournal:
        """Open (creating if needed) the journal in ``path``.

        Raises:
            JournalMismatch: the file records another mode or partition size.
            JournalUnavailable: the file cannot be opened.
        """
        journal = cls(
            path,
            mode=mode,
            partition_size=partition_size,
            synchronous=synchronous,
            busy_timeout=busy_timeout,
            max_group_writes=max_group_writes,
        )
        try:
            await journal._writer.call(
                functools.partial(ensure_schema, mode=mode, partition_size=partition_size)
            )
        except BaseException:
            await journal.aclose()
            raise
        return journal

    @classmethod
    async def from_settings(cls, settings: JournalSettings) -> SqliteJournal:
        """Open the journal the ``journal`` settings section describes."""
        return await cls.open(
            settings.sqlite_path,
            mode=JournalMode(settings.mode),
            partition_size=settings.partition_size,
            synchronous=settings.sqlite_synchronous,
            busy_timeout=settings.sqlite_busy_timeout,
            max_group_writes=settings.max_group_writes,
        )

    def __repr__(self) -> str:
        return (
            f"SqliteJournal(path={str(self._path)!r}, mode={self._mode.value}, "
            f"synchronous={self._synchronous}, closed={self._closed})"
        )

    @property
    def mode(self) -> JournalMode:
        return self._mode

    @property
    def partition_size(self) -> int:
        return self._partition_size

    @property
    def supports_outbox(self) -> bool:
        return True

    async def claim_epoch(self) -> int:
        if self._mode is JournalMode.CONDITIONAL:
            return 0
        return await self._writer.call(ops.claim_epoch)

    async def append(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        validate_writes(
            writes, mode=self._mode, partition_size=self._partition_size, supports_outbox=True
        )
        if not writes:
            return []
        # Rows are built here, not on the writer thread, whose groups wait for each other.
        size = self._partition_size
        outcomes = await self._group.run([PreparedWrite(w, size) for w in writes])
        return [r for r in outcomes if isinstance(r, WriteResult)]

    def _write_group(self, connection: sqlite3.Connection, items: list[_Item]) -> list[_Outcome]:
        writes = [i for i in items if isinstance(i, PreparedWrite)]
        marks = [m for i in items if isinstance(i, _Marks) for m in i.message_ids]
        results, committed = ops.write_group(connection, writes, self._heads, marks)
        if committed:
            self._checkpointer.committed(sum(len(w.events) for w in writes) + len(marks))
        if len(writes) == len(items):
            return list(results)
        stored = iter(results)
        return [committed if isinstance(i, _Marks) else next(stored) for i in items]

    async def _read_rows(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[Anchor, list[EventRecord]]:
        job = functools.partial(
            ops.read_rows,
            persistence_id=persistence_id,
            anchor=anchor,
            partition_size=self._partition_size,
        )
        return await self._reader.call(job)

    async def _raise_marker(self, persistence_id: PersistenceId, marker: Anchor) -> Anchor:
        job = functools.partial(ops.raise_marker, persistence_id=persistence_id, marker=marker)
        return await self._writer.call(job)

    async def _persistence_ids(self) -> list[PersistenceId]:
        return await self._reader.call(ops.list_persistence_ids)

    async def known_entities(self, limit: int) -> set[str] | None:
        """Every entity this conditional journal holds rows, a deletion marker or a snapshot
        for (as persistence id strings); None past ``limit`` entities or in fenced mode.

        Raises:
            JournalUnavailable: the file could not be read.
        """
        if self._mode is not JournalMode.CONDITIONAL:
            return None
        return await self._reader.call(functools.partial(ops.known_entities, limit=limit))

    async def outbox_pending(
        self, max_count: int = 100, *, after_position: int = 0
    ) -> list[OutboxRecord]:
        job = functools.partial(ops.pending_outbox, max_count=max_count, after=after_position)
        return await self._reader.call(job)

    async def mark_delivered(self, positions: Sequence[int]) -> None:
        job = functools.partial(ops.mark_delivered, positions=list(positions))
        await self._writer.call(job)

    async def mark_delivered_messages(self, message_ids: Sequence[str]) -> None:
        """Mark rows delivered in the next group's transaction (no transaction of their own)."""
        if not message_ids:
            return
        (committed,) = await self._group.run([_Marks(list(message_ids))])
        if committed is not True:
            raise JournalUnavailable("SQLite failed: the outbox marks were rolled back")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._writer.aclose()
        await self._reader.aclose()
        await self._checkpointer.aclose()

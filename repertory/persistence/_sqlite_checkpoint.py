"""WAL checkpoints on a thread of their own, so the writer's commits never wait for them.

In WAL mode a commit appends its pages to the ``-wal`` file; a checkpoint later copies them
into the database file and, with ``synchronous=NORMAL``, syncs both files. By default SQLite
runs it inside the commit that takes the WAL past 1,000 pages, on the writer's thread: in the
embedded bank workload (``benchmarks/bench_embedded.py``) that was 60% of the writer's commit
time and held every command of the group meanwhile. Here the writer counts the rows it commits
and, past :data:`ROWS_PER_CHECKPOINT` since the last request, asks this thread for a PASSIVE
checkpoint (it never blocks a writer or a reader; it copies what no reader still needs) unless
one is already running. The writer's own automatic checkpoint stays on, at
:data:`BACKSTOP_PAGES`, for the case this thread falls behind.

Durability is unchanged: a transaction is committed when its COMMIT returns, whoever later
copies its pages; what ``synchronous`` promises for that moment is the same.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from typing import Any

from repertory.persistence._sqlite_thread import SqliteThread

__all__ = ["BACKSTOP_PAGES", "ROWS_PER_CHECKPOINT", "Checkpointer"]

ROWS_PER_CHECKPOINT = 8_000
"""Rows committed between two checkpoint requests. A checkpoint copies each page changed since
the last one once, however often it was rewritten meanwhile, so fewer checkpoints copy less:
in the bank workload 8,000 rather than 2,000 gave 2.5% more commands/s (``bench_embedded.py``,
medians of seven alternated runs), with about a quarter as many checkpoints using about half
the CPU (a scratch timing of this thread). The WAL peaked near the backstop's 80 MB either
way: SQLite restarts it from the beginning only when a write transaction starts with every
frame copied, and under a steady stream a passive checkpoint on another thread rarely catches
up with the writer in time."""

BACKSTOP_PAGES = 20_000
"""The writer connection's ``wal_autocheckpoint``: 80 MB of WAL at 4 KiB pages."""


class Checkpointer:
    """Runs passive checkpoints of one database on ``thread`` when the writer has written enough.

    Args:
        thread: a thread with its own connection to the database.
        rows_per_checkpoint: rows committed between two requests.
    """

    def __init__(self, thread: SqliteThread, rows_per_checkpoint: int = ROWS_PER_CHECKPOINT):
        self._thread = thread
        self._every = rows_per_checkpoint
        self._rows = 0
        self._running = False
        self.checkpoints = 0

    def __repr__(self) -> str:
        return f"Checkpointer(rows_since={self._rows}, running={self._running})"

    def committed(self, rows: int) -> None:
        """Note ``rows`` committed (on the writer's thread); maybe request a checkpoint."""
        self._rows += rows
        if self._rows < self._every or self._running:
            return
        self._rows = 0
        self._running = True
        try:
            future = self._thread.submit(_checkpoint)
        except Exception:  # closing: the last connection to close checkpoints anyway
            self._running = False
            return
        future.add_done_callback(self._done)

    async def aclose(self) -> None:
        await self._thread.aclose()

    def _done(self, future: Future[Any]) -> None:
        self.checkpoints += 1
        self._running = False


def _checkpoint(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

"""SQLite off the event loop: one thread per connection, and group commit on the writer's.

A connection is created, used and closed by its own thread, so sqlite3's thread rules hold and
the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Generic, TypeVar

from repertory.errors import JournalUnavailable

__all__ = ["GroupCommit", "SqliteThread", "connect"]

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - an item of a group
R = TypeVar("R")

_Job = Callable[[sqlite3.Connection], Any]


def connect(
    path: Path,
    synchronous: str,
    busy_timeout: float,
    *,
    autocheckpoint: int | None = None,
    cache_kib: int | None = None,
) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit), WAL, ``synchronous``.

    Args:
        autocheckpoint: WAL pages past which a commit checkpoints (None: SQLite's 1,000).
        cache_kib: the page cache's size (None: SQLite's 2 MiB).
    """
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    (current,) = connection.execute("PRAGMA journal_mode").fetchone()
    if str(current).lower() != "wal":  # switching takes an exclusive lock: only when needed
        connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    if autocheckpoint is not None:
        connection.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")
    if cache_kib is not None:
        connection.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    return connection


class SqliteThread:
    """A thread owning one SQLite connection and running submitted jobs one at a time.

    Args:
        opener: opens the connection (called on the thread).
        name: the thread's name.
    """

    def __init__(self, opener: Callable[[], sqlite3.Connection], name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[_Job, Future[Any]] | None] = queue.SimpleQueue()
        self._opener = opener
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"SqliteThread(name={self._thread.name!r}, closed={self._closed})"

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``job`` on the thread; its result or error lands in the returned future."""
        if self._closed:
            raise JournalUnavailable(f"the SQLite thread [{self._thread.name}] is closed")
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future

    async def call(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` on the thread and await its result.

        Raises:
            JournalUnavailable: SQLite failed (the original error is the cause).
        """
        try:
            return await asyncio.wrap_future(self.submit(job))
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"SQLite failed: {exc}") from exc

    async def aclose(self) -> None:
        """Finish queued jobs, close the connection and join the thread."""
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        # The connection opens with the first job, so a reader thread never races the writer
        # that creates the file and switches it to WAL.
        connection: sqlite3.Connection | None = None
        while (item := self._jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                if connection is None:
                    connection = self._opener()
                future.set_result(job(connection))
            except BaseException as exc:
                future.set_exception(exc)
        if connection is not None:
            connection.close()


_Call = tuple[list[I], "asyncio.Future[list[R]]", asyncio.AbstractEventLoop]
"""One ``GroupCommit.run``: its items, the future awaiting their results, and its loop."""


class GroupCommit(Generic[I, R]):
    """Collects item lists from many tasks and runs them in groups on one thread.

    While a group runs, new calls wait; the next group takes whole calls, in arrival order (so
    one entity's writes keep their order), until it holds ``max_items`` (at least one call).
    A group's results go back to the event loop in one ``call_soon_threadsafe``, not one per
    call: each hand-off wakes the loop and makes this thread take the GIL once more. A caller
    that stopped waiting (cancelled) only loses its own results.

    Args:
        thread: the writer thread.
        run_group: runs one group on the connection; one result per item, in order.
        max_items: the most items in one group, unless one call alone holds more.
    """

    def __init__(
        self,
        thread: SqliteThread,
        run_group: Callable[[sqlite3.Connection, list[I]], list[R]],
        max_items: int,
    ) -> None:
        self._thread = thread
        self._run_group = run_group
        self._max_items = max_items
        self._lock = threading.Lock()
        self._pending: list[_Call[I, R]] = []
        self._scheduled = False

    def __repr__(self) -> str:
        return f"GroupCommit(pending_calls={len(self._pending)}, max_items={self._max_items})"

    async def run(self, items: list[I]) -> list[R]:
        """Queue ``items`` and await their results (one per item, in order)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[R]] = loop.create_future()
        with self._lock:
            self._pending.append((items, future, loop))
            if not self._scheduled:
                self._thread.submit(self._flush)
                self._scheduled = True
        return await future

    def _take(self) -> list[_Call[I, R]]:
        with self._lock:
            taken, count = 0, 0
            while taken < len(self._pending) and (
                taken == 0 or count + len(self._pending[taken][0]) <= self._max_items
            ):
                count += len(self._pending[taken][0])
                taken += 1
            group, self._pending = self._pending[:taken], self._pending[taken:]
            if self._pending:
                self._thread.submit(self._flush)
            else:
                self._scheduled = False
        return group

    def _flush(self, connection: sqlite3.Connection) -> None:
        group = self._take()
        outcomes: list[list[R] | BaseException]
        try:
            results = self._run_group(connection, [item for items, _, _ in group for item in items])
        except BaseException as exc:
            outcomes = [exc] * len(group)
        else:
            outcomes, start = [], 0
            for items, _, _ in group:
                outcomes.append(results[start : start + len(items)])
                start += len(items)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[R]], Any]]] = {}
        for (_, future, loop), outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting there
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """On the loop: hand each call its results, or the group's error."""
    for future, outcome in settled:
        if future.done():  # cancelled meanwhile
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

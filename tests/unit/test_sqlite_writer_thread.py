"""The SQLite writer's helpers: group commit hands results back per group and survives a
cancelled caller; WAL checkpoints run on their own thread once enough rows are committed."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from pathlib import Path

from repertory.persistence import ChainTip, JournalMode, PersistenceId, SqliteJournal
from repertory.persistence._sqlite_checkpoint import ROWS_PER_CHECKPOINT, Checkpointer
from repertory.persistence._sqlite_thread import GroupCommit, SqliteThread, connect
from repertory.testing._journal_helpers import write


def _thread(path: Path, name: str) -> SqliteThread:
    return SqliteThread(functools.partial(connect, path, "NORMAL", 5.0), name)


async def test_a_cancelled_caller_does_not_strand_the_rest_of_its_group(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()
    groups: list[list[int]] = []

    def run_group(connection: sqlite3.Connection, items: list[int]) -> list[int]:
        started.set()
        release.wait(5.0)
        groups.append(items)
        return [i * 10 for i in items]

    thread = _thread(tmp_path / "g.sqlite3", "test-writer")
    commit: GroupCommit[int, int] = GroupCommit(thread, run_group, max_items=100)
    try:
        first = asyncio.ensure_future(commit.run([1]))
        assert await asyncio.to_thread(started.wait, 5.0)  # the first group is running
        second = asyncio.ensure_future(commit.run([2]))
        third = asyncio.ensure_future(commit.run([3, 4]))
        await asyncio.sleep(0)
        second.cancel()
        release.set()
        assert await asyncio.wait_for(first, 5.0) == [10]
        assert await asyncio.wait_for(third, 5.0) == [30, 40]
        assert second.cancelled()
        assert groups == [[1], [2, 3, 4]]  # the waiting calls shared one group
    finally:
        release.set()
        await thread.aclose()


async def test_a_checkpoint_is_requested_once_enough_rows_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.execute("PRAGMA wal_autocheckpoint = 0")
    setup.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    setup.commit()
    thread = _thread(path, "test-checkpoints")
    checkpointer = Checkpointer(thread, rows_per_checkpoint=10)
    try:
        checkpointer.committed(9)
        await thread.call(lambda connection: None)  # anything requested has run by now
        assert checkpointer.checkpoints == 0
        checkpointer.committed(1)
        await thread.call(lambda connection: None)
        assert checkpointer.checkpoints == 1
        _, frames, copied = setup.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames == copied  # nothing was left for this connection to copy
    finally:
        setup.close()
        await checkpointer.aclose()


async def test_the_journal_checkpoints_off_its_writer(tmp_path: Path) -> None:
    journal = await SqliteJournal.open(tmp_path / "j.sqlite3", mode=JournalMode.CONDITIONAL)
    try:
        pids = [PersistenceId("model", str(i)) for i in range(ROWS_PER_CHECKPOINT + 100)]
        await journal.append([write(pid, 0, ChainTip()) for pid in pids])
        checkpoints = journal._checkpointer
        await checkpoints._thread.call(lambda connection: None)
        assert checkpoints.checkpoints == 1
    finally:
        await journal.aclose()

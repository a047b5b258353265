"""Conditional group commit on SQLite: writes of one call are judged as if one after another
(one head read for the group), and the demo's acks are written once per loop turn."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from repertory.cli_commands.demo._acks import AckLog
from repertory.persistence import ChainTip, JournalMode, PersistenceId, SqliteJournal, WriteOutcome
from repertory.persistence._sqlite_conditional import HeadCache
from repertory.persistence._sqlite_ops import write_group
from repertory.persistence._sqlite_prepared import PreparedWrite
from repertory.persistence._sqlite_schema import ensure_schema
from repertory.testing._journal_helpers import positions, replayed, write

A, B = PersistenceId("model", "a"), PersistenceId("model", "b")
STORED, REJECTED = WriteOutcome.STORED, WriteOutcome.REJECTED


async def test_one_call_judges_its_writes_in_order(tmp_path: Path) -> None:
    journal = await SqliteJournal.open(tmp_path / "j.sqlite3", mode=JournalMode.CONDITIONAL)
    try:
        first = write(A, 0, ChainTip(), 2)
        results = await journal.append(
            [
                first,
                write(B, 0, ChainTip()),
                write(A, 0, ChainTip(2, 0, 0), 1),  # continues the first, in the same call
                write(A, 0, ChainTip(), 1, tag="other"),  # a stale writer: loses the race
                first,  # the first again, unchanged: an identical retry is stored
            ]
        )
        outcomes = [r.outcome for r in results]
        assert outcomes == [STORED, STORED, STORED, REJECTED, STORED]
        assert results[2].tip == ChainTip(3, 0, 0)
        assert positions(await replayed(journal, A)) == [(1, 0), (2, 0), (3, 0)]
        assert positions(await replayed(journal, B)) == [(1, 0)]
    finally:
        await journal.aclose()


async def test_a_head_another_journal_moved_is_read_again_not_trusted(tmp_path: Path) -> None:
    # Two journals on one file, as two processes in conditional mode: the first keeps the
    # heads it wrote between groups, and must not trust them once the second has committed.
    path = tmp_path / "j.sqlite3"
    first = await SqliteJournal.open(path, mode=JournalMode.CONDITIONAL)
    second = await SqliteJournal.open(path, mode=JournalMode.CONDITIONAL)
    try:
        tip = (await first.append([write(A, 0, ChainTip())]))[0].tip
        assert tip is not None
        (by_second,) = await second.append([write(A, 0, tip, tag="second")])
        (stale,) = await first.append([write(A, 0, tip, tag="first")])
        (fresh,) = await first.append([write(B, 0, ChainTip())])
        assert (by_second.outcome, stale.outcome, fresh.outcome) == (STORED, REJECTED, STORED)
        rows = await replayed(first, A)
        assert positions(rows) == [(1, 0), (2, 0)]
        assert rows[1].payload == b"second-2"
    finally:
        await first.aclose()
        await second.aclose()


class _FailingCommit(sqlite3.Connection):
    """A connection whose next COMMIT fails, as a full disk would make it."""

    fail_next_commit = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.fail_next_commit:
            self.fail_next_commit = False
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def test_a_group_that_did_not_commit_leaves_no_head_behind(tmp_path: Path) -> None:
    connection = sqlite3.connect(
        tmp_path / "j.sqlite3", isolation_level=None, factory=_FailingCommit
    )
    ensure_schema(connection, JournalMode.CONDITIONAL, 100)
    heads = HeadCache()
    first = write(A, 0, ChainTip())
    ([stored], _) = write_group(connection, [PreparedWrite(first, 100)], heads)
    assert stored.outcome is STORED and stored.tip is not None
    connection.fail_next_commit = True
    lost = PreparedWrite(write(A, 0, stored.tip, tag="lost"), 100)
    ([failed], committed) = write_group(connection, [lost], heads)
    assert failed.outcome is WriteOutcome.FAILED and not committed
    again = PreparedWrite(write(A, 0, stored.tip, tag="again"), 100)
    ([result], _) = write_group(connection, [again], heads)
    assert result.outcome is STORED  # the lost write's head was never stored, nor kept
    connection.close()


async def test_acks_of_one_turn_are_written_together_and_counted() -> None:
    out, counter, reached = StringIO(), SimpleNamespace(value=0), asyncio.Event()
    log = AckLog(out, counter, limit=3, reached=reached)
    log.add(1, "ok")
    log.add(2, "rejected:InsufficientFunds")
    assert out.getvalue() == "" and counter.value == 0  # written on the next turn
    await asyncio.sleep(0)
    assert out.getvalue() == "1 ok\n2 rejected:InsufficientFunds\n" and counter.value == 2
    assert not reached.is_set()
    log.add(3, "ok")
    log.flush()
    assert counter.value == 3 and reached.is_set()


async def test_acks_hold_the_process_still_once_the_kill_point_is_reached() -> None:
    out, counter, reached = StringIO(), SimpleNamespace(value=0), SimpleNamespace(set=lambda: None)
    log = AckLog(out, counter, limit=1, reached=reached, hold=0.2)
    log.add(1, "ok")
    began = time.monotonic()
    log.flush()
    assert time.monotonic() - began >= 0.2 and counter.value == 1
    log.add(2, "ok")
    began = time.monotonic()
    log.flush()  # held once only
    assert time.monotonic() - began < 0.2 and counter.value == 2

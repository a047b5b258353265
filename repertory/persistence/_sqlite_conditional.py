"""Conditional-mode group commit on SQLite: at most one head read per group, few statements.

Every write of a group is checked against its partition's head (compare-and-set) as if the
writes ran one after another: the heads of the whole group are known up front and kept up to
date in memory as writes are accepted, so a later write of the same entity in the group sees
the head an earlier one left. Heads this connection read or wrote are kept between groups
(:class:`HeadCache`) for as long as no other connection commits to the file; the rest are read
in one query. Accepted rows go to SQLite in multi-row inserts, a few per table
(``_sqlite_many``). A write that loses its compare-and-set is settled against the stored rows
(identical retry → STORED, else REJECTED), after the rows accepted before it are inserted.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from repertory.persistence._records import WriteResult
from repertory.persistence._rules import (
    is_identical_retry,
    rejected_result,
    settle_unknown_head,
)
from repertory.persistence._sqlite_many import insert_rows, select_json
from repertory.persistence._sqlite_prepared import PreparedWrite
from repertory.persistence._sqlite_schema import (
    EVENT_COLUMNS,
    EVENT_WIDTH,
    INSERT_EVENT,
    INSERT_OUTBOX,
    OUTBOX_WIDTH,
    decode_event,
)

__all__ = ["HeadCache", "write_conditional_group"]

_HeadKey = tuple[str, int]
_INSERT_HEAD = "INSERT OR REPLACE INTO partition_heads (persistence_id, partition_nr, head_seq)"
_SELECT_HEADS = (  # the primary key's prefix: one index seek per entity, one row in all
    "SELECT json_group_array(json_array(persistence_id, partition_nr, head_seq))"
    " FROM partition_heads WHERE persistence_id IN (SELECT value FROM json_each(?))"
    " AND partition_nr >= ?"
)


_UNKNOWN = -1  # a head never is: partitions start at seq_nr 1


class HeadCache:
    """Partition heads as this connection last read or wrote them (None: not open).

    SQLite's ``data_version`` changes when another connection commits to the file (another
    process in conditional mode, the snapshot store), and then everything kept is dropped. A
    group that does not commit drops it too: its heads were never stored.

    Args:
        limit: the most heads kept; past it the cache starts empty again.
    """

    __slots__ = ("_heads", "_limit", "_version")

    def __init__(self, limit: int = 200_000) -> None:
        self._heads: dict[_HeadKey, int | None] = {}
        self._limit = limit
        self._version: int | None = None

    def __repr__(self) -> str:
        return f"HeadCache(heads={len(self._heads)}, limit={self._limit})"

    def valid(self, connection: sqlite3.Connection) -> dict[_HeadKey, int | None]:
        """The heads still true, read inside the write transaction (its lock keeps them so)."""
        (version,) = connection.execute("PRAGMA data_version").fetchone()
        if version != self._version or len(self._heads) > self._limit:
            self._heads = {}
            self._version = version
        return self._heads

    def discard(self) -> None:
        """Forget every head (the group's transaction did not commit)."""
        self._heads = {}
        self._version = None


class _Pending:
    """Rows of accepted writes not yet sent to SQLite."""

    __slots__ = ("events", "heads", "outbox")

    def __init__(self) -> None:
        self.heads: list[tuple[str, int, int]] = []
        self.events: list[tuple[Any, ...]] = []
        self.outbox: list[tuple[Any, ...]] = []

    def flush(self, connection: sqlite3.Connection) -> None:
        insert_rows(connection, _INSERT_HEAD, 3, self.heads)
        insert_rows(connection, INSERT_EVENT, EVENT_WIDTH, self.events)
        insert_rows(connection, INSERT_OUTBOX, OUTBOX_WIDTH, self.outbox)
        self.heads, self.events, self.outbox = [], [], []


def write_conditional_group(
    connection: sqlite3.Connection, writes: list[PreparedWrite], cache: HeadCache
) -> list[WriteResult]:
    """Apply conditional writes in order, inside the caller's transaction; ``cache`` must be
    discarded if that transaction does not commit."""
    heads = cache.valid(connection)
    missing = {w.key for w in writes if heads.get(w.key, _UNKNOWN) == _UNKNOWN}
    if missing:
        found = _read_heads(connection, missing)
        heads.update((key, found.get(key)) for key in missing)
    pending = _Pending()
    results: list[WriteResult] = []
    for prepared in writes:
        key, write = prepared.key, prepared.write
        head = heads.get(key)
        after = write.after
        if after.partition_nr is None:
            expected = settle_unknown_head(write, head)
        else:
            expected = after.seq_nr if after.partition_nr == key[1] else None
        if head != expected:
            pending.flush(connection)  # the rows it may retry could be among them
            results.append(_settle_collision(connection, prepared))
            continue
        heads[key] = prepared.last
        pending.heads.append((*key, prepared.last))
        pending.events += prepared.events
        if prepared.outbox:
            pending.outbox += prepared.outbox
        results.append(prepared.stored)
    pending.flush(connection)
    return results


def _read_heads(connection: sqlite3.Connection, wanted: set[_HeadKey]) -> dict[_HeadKey, int]:
    """The stored heads of ``wanted`` (absent: the partition is not open)."""
    pids = json.dumps(list({pid for pid, _ in wanted}))
    lowest = min(partition for _, partition in wanted)
    rows = select_json(connection, _SELECT_HEADS, (pids, lowest))
    return {(p, n): head for p, n, head in rows if (p, n) in wanted}


def _settle_collision(connection: sqlite3.Connection, prepared: PreparedWrite) -> WriteResult:
    """STORED if the stored rows are this write's own (an identical retry), else REJECTED."""
    write, (pid, partition) = prepared.write, prepared.key
    stored = connection.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE persistence_id = ? AND partition_nr = ?"
        " AND seq_nr BETWEEN ? AND ?",
        (pid, partition, write.first_seq_nr, write.last_seq_nr),
    ).fetchall()
    rows = write.records(partition)
    if is_identical_retry(rows, [decode_event(values) for values in stored]):
        return prepared.stored
    return rejected_result(write)

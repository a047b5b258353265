"""Conditional-mode group commit on SQLite: one head read per group, one statement per table.

Every write of a group is checked against its partition's head (compare-and-set) as if the
writes ran one after another: the heads of the whole group are read in one query up front and
kept up to date in memory as writes are accepted, so a later write of the same entity in the
group sees the head an earlier one left. Accepted rows go to SQLite in one ``executemany`` per
table. A write that loses its compare-and-set is settled against the stored rows (identical
retry → STORED, else REJECTED), after the rows accepted before it are inserted.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from repertory.persistence._records import AtomicWrite, WriteResult
from repertory.persistence._rules import (
    is_identical_retry,
    rejected_result,
    settle_unknown_head,
    stored_result,
    target_partition,
)
from repertory.persistence._sqlite_schema import (
    EVENT_COLUMNS,
    decode_event,
    encode_write,
    pack_metadata,
)

__all__ = ["write_conditional_group"]

_HeadKey = tuple[str, int]
_CHUNK = 500  # entities per head query: parameters far below SQLite's limit
_INSERT_EVENT = f"INSERT OR REPLACE INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 15)})"
_INSERT_HEAD = "INSERT OR REPLACE INTO partition_heads VALUES (?, ?, ?)"
_INSERT_OUTBOX = (
    "INSERT OR IGNORE INTO outbox (message_id, persistence_id, seq_nr, destination, "
    "message_type, schema_version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class _Pending:
    """Rows of accepted writes not yet sent to SQLite."""

    __slots__ = ("events", "heads", "outbox")

    def __init__(self) -> None:
        self.heads: list[tuple[str, int, int]] = []
        self.events: list[tuple[Any, ...]] = []
        self.outbox: list[tuple[Any, ...]] = []

    def flush(self, connection: sqlite3.Connection) -> None:
        if self.heads:
            connection.executemany(_INSERT_HEAD, self.heads)
        if self.events:
            connection.executemany(_INSERT_EVENT, self.events)
        if self.outbox:
            connection.executemany(_INSERT_OUTBOX, self.outbox)
        self.heads, self.events, self.outbox = [], [], []


def write_conditional_group(
    connection: sqlite3.Connection, writes: list[AtomicWrite], partition_size: int
) -> list[WriteResult]:
    """Apply conditional writes in order, inside the caller's transaction."""
    # Each write's key and last seq_nr are worked out once: this loop holds the GIL, which
    # the event loop's thread is waiting for.
    keys = [(str(w.persistence_id), target_partition(w, partition_size)) for w in writes]
    heads = _read_heads(connection, keys)
    pending = _Pending()
    results: list[WriteResult] = []
    for write, key in zip(writes, keys, strict=True):
        head = heads.get(key)
        after = write.after
        if after.partition_nr is None:
            expected = settle_unknown_head(write, head)
        else:
            expected = after.seq_nr if after.partition_nr == key[1] else None
        if head != expected:
            pending.flush(connection)  # the rows it may retry could be among them
            results.append(_settle_collision(connection, write, key))
            continue
        pid, partition = key
        last = after.seq_nr + len(write.events)
        heads[key] = last
        pending.heads.append((pid, partition, last))
        pending.events.extend(encode_write(write, partition, pid))
        if write.outbox:
            pending.outbox.extend(_outbox_rows(pid, last, write))
        results.append(stored_result(write, partition))
    pending.flush(connection)
    return results


def _read_heads(connection: sqlite3.Connection, keys: list[_HeadKey]) -> dict[_HeadKey, int]:
    """The stored heads of ``keys`` (absent: the partition is not open)."""
    wanted = set(keys)
    pids = list(dict.fromkeys(pid for pid, _ in keys))
    lowest = min(partition for _, partition in keys)
    heads: dict[_HeadKey, int] = {}
    for first in range(0, len(pids), _CHUNK):
        chunk = pids[first : first + _CHUNK]
        rows = connection.execute(  # the primary key's prefix: one index seek per entity
            "SELECT persistence_id, partition_nr, head_seq FROM partition_heads"
            f" WHERE persistence_id IN ({', '.join('?' * len(chunk))}) AND partition_nr >= ?",
            [*chunk, lowest],
        ).fetchall()
        heads.update(((p, n), head) for p, n, head in rows if (p, n) in wanted)
    return heads


def _settle_collision(
    connection: sqlite3.Connection, write: AtomicWrite, key: _HeadKey
) -> WriteResult:
    pid, partition = key
    stored = connection.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE persistence_id = ? AND partition_nr = ?"
        " AND seq_nr BETWEEN ? AND ?",
        (pid, partition, write.first_seq_nr, write.last_seq_nr),
    ).fetchall()
    rows = write.records(partition)
    if is_identical_retry(rows, [decode_event(values) for values in stored]):
        return stored_result(write, partition)
    return rejected_result(write)


def _outbox_rows(pid: str, last: int, write: AtomicWrite) -> list[tuple[Any, ...]]:
    return [
        (
            entry.message_id,
            pid,
            last,
            entry.destination,
            entry.message_type,
            entry.schema_version,
            entry.payload,
            pack_metadata(entry.metadata),
        )
        for entry in write.outbox
    ]

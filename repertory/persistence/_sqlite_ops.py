"""The SQLite journal's statements, run on its threads: group writes, reads, markers, claims.

Every function takes the thread's connection and manages its own transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from repertory.persistence._chain import Anchor
from repertory.persistence._records import (
    AtomicWrite,
    EventRecord,
    JournalMode,
    OutboxRecord,
    PersistenceId,
    WriteResult,
)
from repertory.persistence._resolving import effective_anchor
from repertory.persistence._rules import (
    failed_result,
    partition_nr,
    stored_result,
    target_partition,
)
from repertory.persistence._sqlite_conditional import write_conditional_group
from repertory.persistence._sqlite_schema import (
    EVENT_COLUMNS,
    OUTBOX_COLUMNS,
    decode_event,
    decode_outbox,
    encode_write,
    pack_metadata,
)

__all__ = [
    "claim_epoch",
    "known_entities",
    "list_persistence_ids",
    "mark_delivered",
    "pending_outbox",
    "raise_marker",
    "read_rows",
    "write_group",
]

_INSERT_EVENT = f"INSERT OR REPLACE INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 15)})"
_INSERT_OUTBOX = (
    "INSERT OR IGNORE INTO outbox (message_id, persistence_id, seq_nr, destination, "
    "message_type, schema_version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

_MARK_MESSAGE = "UPDATE outbox SET delivered = 1 WHERE message_id = ?"


def write_group(
    connection: sqlite3.Connection,
    writes: list[AtomicWrite],
    mode: JournalMode,
    partition_size: int,
    marks: Sequence[str] = (),
) -> tuple[list[WriteResult], bool]:
    """Apply many entities' atomic writes in one transaction (group commit), in order, and
    mark the outbox rows of ``marks`` (message ids) delivered in it too.

    An SQLite error rolls the whole group back and makes every result FAILED (retry them).

    Returns:
        one result per write, and whether the transaction committed (the marks with it).
    """
    try:
        connection.execute("BEGIN IMMEDIATE")
        if not writes:
            results = []
        elif mode is JournalMode.FENCED:
            results = _write_fenced(connection, writes, partition_size)
        else:
            results = write_conditional_group(connection, writes, partition_size)
        if marks:
            connection.executemany(_MARK_MESSAGE, [(m,) for m in marks])
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        return [failed_result(write, f"SQLite failed: {exc}") for write in writes], False
    return results, True


def _write_fenced(
    connection: sqlite3.Connection, writes: list[AtomicWrite], partition_size: int
) -> list[WriteResult]:
    results: list[WriteResult] = []
    rows: list[tuple[object, ...]] = []
    for write in writes:
        partition = target_partition(write, partition_size)
        rows.extend(encode_write(write, partition))
        results.append(stored_result(write, partition))
    connection.executemany(_INSERT_EVENT, rows)
    _insert_outbox(connection, writes)
    return results


def _insert_outbox(connection: sqlite3.Connection, writes: Sequence[AtomicWrite]) -> None:
    entries = [
        (
            entry.message_id,
            str(write.persistence_id),
            write.last_seq_nr,
            entry.destination,
            entry.message_type,
            entry.schema_version,
            entry.payload,
            pack_metadata(entry.metadata),
        )
        for write in writes
        for entry in write.outbox
    ]
    if entries:
        connection.executemany(_INSERT_OUTBOX, entries)


def read_rows(
    connection: sqlite3.Connection,
    persistence_id: PersistenceId,
    anchor: Anchor | None,
    partition_size: int,
) -> tuple[Anchor, list[EventRecord]]:
    """The effective anchor and every row above it, in one read transaction.

    Like Cassandra, it reads from the partition before the first seq_nr's: a write starting
    there may overrun into this range.
    """
    pid = str(persistence_id)
    connection.execute("BEGIN")
    try:
        found = connection.execute(
            "SELECT seq_nr, writer_epoch FROM deletion_markers WHERE persistence_id = ?", (pid,)
        ).fetchone()
        effective = effective_anchor(anchor, Anchor(*found) if found else None)
        first_partition = max(partition_nr(effective.seq_nr + 1, partition_size) - 1, 0)
        values = connection.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE persistence_id = ? AND partition_nr >= ?"
            " AND seq_nr > ?",
            (pid, first_partition, effective.seq_nr),
        ).fetchall()
    finally:
        connection.execute("COMMIT")
    return effective, [decode_event(row) for row in values]


def raise_marker(
    connection: sqlite3.Connection, persistence_id: PersistenceId, marker: Anchor
) -> Anchor:
    """Store ``marker`` unless a higher one is stored, then delete the rows up to the result."""
    pid = str(persistence_id)
    connection.execute("BEGIN IMMEDIATE")
    try:
        found = connection.execute(
            "SELECT seq_nr, writer_epoch FROM deletion_markers WHERE persistence_id = ?", (pid,)
        ).fetchone()
        current = Anchor(*found) if found else None
        if current is None or marker.seq_nr > current.seq_nr:
            connection.execute(
                "INSERT OR REPLACE INTO deletion_markers VALUES (?, ?, ?)",
                (pid, marker.seq_nr, marker.epoch),
            )
            current = marker
        connection.execute(
            "DELETE FROM events WHERE persistence_id = ? AND seq_nr <= ?", (pid, current.seq_nr)
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return current


def claim_epoch(connection: sqlite3.Connection) -> int:
    """Insert max + 1 into the claims table; the write lock makes it unique across processes."""
    now_ms = int(time.time() * 1000)
    connection.execute("BEGIN IMMEDIATE")
    try:
        (epoch,) = connection.execute(
            "INSERT INTO epoch_claims (epoch, claimed_at_ms) "
            "SELECT COALESCE(MAX(epoch), 0) + 1, ? FROM epoch_claims RETURNING epoch",
            (now_ms,),
        ).fetchone()
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return int(epoch)


def list_persistence_ids(connection: sqlite3.Connection) -> list[PersistenceId]:
    """Every entity with rows or a deletion marker."""
    values = connection.execute(
        "SELECT persistence_id FROM events UNION SELECT persistence_id FROM deletion_markers"
    ).fetchall()
    return sorted(PersistenceId.parse(pid) for (pid,) in values)


def known_entities(connection: sqlite3.Connection, limit: int) -> set[str] | None:
    """Every entity with an opened partition, a deletion marker or a snapshot; None past
    ``limit``. Conditional mode opens a partition (its head) with every first write there, so
    this reads the small heads table, not the events."""
    values = connection.execute(
        "SELECT persistence_id FROM partition_heads UNION SELECT persistence_id FROM "
        "deletion_markers UNION SELECT persistence_id FROM snapshots LIMIT ?",
        (limit + 1,),
    ).fetchall()
    return None if len(values) > limit else {pid for (pid,) in values}


def pending_outbox(
    connection: sqlite3.Connection, max_count: int, after: int = 0
) -> list[OutboxRecord]:
    """Undelivered outbox rows above position ``after``, oldest first."""
    values = connection.execute(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivered = 0 AND position > ?"
        " ORDER BY position LIMIT ?",
        (after, max_count),
    ).fetchall()
    return [decode_outbox(row) for row in values]


def mark_delivered(connection: sqlite3.Connection, positions: Sequence[int]) -> None:
    """Mark outbox rows delivered."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(
            "UPDATE outbox SET delivered = 1 WHERE position = ?", [(p,) for p in positions]
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise

"""The SQLite journal's statements, run on its threads: group writes, reads, markers, claims.

Every function takes the thread's connection and manages its own transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from repertory.persistence._chain import Anchor
from repertory.persistence._records import (
    EventRecord,
    OutboxRecord,
    PersistenceId,
    WriteResult,
)
from repertory.persistence._resolving import effective_anchor
from repertory.persistence._rules import failed_result, partition_nr
from repertory.persistence._sqlite_conditional import HeadCache, write_conditional_group
from repertory.persistence._sqlite_many import insert_rows, update_where_in
from repertory.persistence._sqlite_prepared import PreparedWrite
from repertory.persistence._sqlite_schema import (
    EVENT_COLUMNS,
    EVENT_WIDTH,
    INSERT_EVENT,
    INSERT_OUTBOX,
    OUTBOX_COLUMNS,
    OUTBOX_WIDTH,
    decode_event,
    decode_outbox,
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


def write_group(
    connection: sqlite3.Connection,
    writes: list[PreparedWrite],
    heads: HeadCache | None,
    marks: Sequence[str] = (),
) -> tuple[list[WriteResult], bool]:
    """Apply many entities' atomic writes in one transaction (group commit), in order, and
    mark the outbox rows of ``marks`` (message ids) delivered in it too.

    An SQLite error rolls the whole group back and makes every result FAILED (retry them).

    Args:
        heads: the writer's head cache in conditional mode; None in fenced mode.

    Returns:
        one result per write, and whether the transaction committed (the marks with it).
    """
    committed = False
    try:
        connection.execute("BEGIN IMMEDIATE")
        if not writes:
            results = []
        elif heads is None:
            results = _write_fenced(connection, writes)
        else:
            results = write_conditional_group(connection, writes, heads)
        update_where_in(connection, "UPDATE outbox SET delivered = 1", "message_id", marks)
        connection.execute("COMMIT")
        committed = True
    except sqlite3.Error as exc:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        return [failed_result(w.write, f"SQLite failed: {exc}") for w in writes], False
    finally:
        if heads is not None and not committed:
            heads.discard()
    return results, True


def _write_fenced(connection: sqlite3.Connection, writes: list[PreparedWrite]) -> list[WriteResult]:
    insert_rows(connection, INSERT_EVENT, EVENT_WIDTH, [r for w in writes for r in w.events])
    insert_rows(connection, INSERT_OUTBOX, OUTBOX_WIDTH, [r for w in writes for r in w.outbox])
    return [w.stored for w in writes]


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
        update_where_in(connection, "UPDATE outbox SET delivered = 1", "position", positions)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise

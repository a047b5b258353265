"""The SQLite journal's tables, its recorded mode and partition size, and row conversion.

The tables mirror the Cassandra schema: events keyed by (persistence_id, partition_nr, seq_nr,
writer_epoch), a head per partition, deletion markers, epoch claims, plus snapshots and the
outbox of emitted commands.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import msgpack

from repertory.errors import JournalMismatch
from repertory.persistence._records import (
    AtomicWrite,
    EventRecord,
    JournalMode,
    OutboxEntry,
    OutboxRecord,
    PersistenceId,
    RecordSource,
)

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_WIDTH",
    "INSERT_EVENT",
    "INSERT_OUTBOX",
    "OUTBOX_WIDTH",
    "decode_event",
    "decode_outbox",
    "encode_event",
    "encode_write",
    "ensure_schema",
]

_DDL = """
CREATE TABLE IF NOT EXISTS journal_metadata (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    persistence_id TEXT NOT NULL,
    partition_nr INTEGER NOT NULL,
    seq_nr INTEGER NOT NULL,
    writer_epoch INTEGER NOT NULL,
    prev_epoch INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    command_id TEXT NOT NULL,
    source_topic TEXT,
    source_partition INTEGER,
    source_offset INTEGER,
    reply BLOB,
    metadata BLOB,
    PRIMARY KEY (persistence_id, partition_nr, seq_nr, writer_epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_heads (
    persistence_id TEXT NOT NULL,
    partition_nr INTEGER NOT NULL,
    head_seq INTEGER NOT NULL,
    PRIMARY KEY (persistence_id, partition_nr)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deletion_markers (
    persistence_id TEXT PRIMARY KEY,
    seq_nr INTEGER NOT NULL,
    writer_epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS epoch_claims (
    epoch INTEGER PRIMARY KEY,
    claimed_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    persistence_id TEXT NOT NULL,
    seq_nr INTEGER NOT NULL,
    writer_epoch INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    state_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    metadata BLOB,
    PRIMARY KEY (persistence_id, seq_nr)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    persistence_id TEXT NOT NULL,
    seq_nr INTEGER NOT NULL,
    destination TEXT NOT NULL,
    message_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload BLOB NOT NULL,
    metadata BLOB,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_undelivered ON outbox (position) WHERE delivered = 0;
"""

EVENT_COLUMNS = (
    "persistence_id, partition_nr, seq_nr, writer_epoch, prev_epoch, event_type, "
    "schema_version, payload, timestamp_ms, command_id, source_topic, source_partition, "
    "source_offset, reply, metadata"
)
EVENT_WIDTH = 15
INSERT_EVENT = f"INSERT OR REPLACE INTO events ({EVENT_COLUMNS})"
"""Without its values (``_sqlite_many.insert_rows`` adds them)."""

OUTBOX_WIDTH = 8
INSERT_OUTBOX = (
    "INSERT OR IGNORE INTO outbox (message_id, persistence_id, seq_nr, destination, "
    "message_type, schema_version, payload, metadata)"
)


def ensure_schema(
    connection: sqlite3.Connection, mode: JournalMode | None, partition_size: int | None
) -> None:
    """Create the tables, record mode and partition size on first use, and check them after.

    Args:
        mode: the mode of the journal opening the file; None (a snapshot store) checks nothing.
        partition_size: likewise.

    Raises:
        JournalMismatch: the file records another mode or partition size.
    """
    wanted = {
        "mode": mode.value if mode else None,
        "partition_size": str(partition_size) if partition_size else None,
    }
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _DDL.split(";"):
            if statement.strip():
                connection.execute(statement)
        recorded = dict(connection.execute("SELECT name, value FROM journal_metadata").fetchall())
        for name, value in wanted.items():
            if value is not None and name not in recorded:
                connection.execute("INSERT INTO journal_metadata VALUES (?, ?)", (name, value))
                recorded[name] = value
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    for name, value in wanted.items():
        _check(recorded, name, value)


def _check(recorded: Mapping[str, str], name: str, wanted: str | None) -> None:
    if wanted is not None and recorded.get(name) != wanted:
        raise JournalMismatch(
            f"the SQLite journal records {name} [{recorded.get(name)}], not [{wanted}]"
        )


def pack_metadata(metadata: Mapping[str, str]) -> bytes | None:
    return msgpack.packb(dict(metadata)) if metadata else None


def unpack_metadata(blob: bytes | None) -> dict[str, str]:
    return dict(msgpack.unpackb(blob)) if blob else {}


def encode_event(row: EventRecord) -> tuple[Any, ...]:
    """The values of ``row`` in :data:`EVENT_COLUMNS` order."""
    source = row.source
    return (
        str(row.persistence_id),
        row.partition_nr,
        row.seq_nr,
        row.writer_epoch,
        row.prev_epoch,
        row.event_type,
        row.schema_version,
        row.payload,
        row.timestamp_ms,
        row.command_id,
        source.topic if source else None,
        source.partition if source else None,
        source.offset if source else None,
        row.reply,
        pack_metadata(row.metadata),
    )


def encode_write(write: AtomicWrite, partition_nr: int, pid: str) -> list[tuple[Any, ...]]:
    """The values of ``write.records(partition_nr)``, each as :func:`encode_event` gives them,
    built without the records (``pid``: ``str(write.persistence_id)``)."""
    first, epoch = write.after.seq_nr + 1, write.writer_epoch
    prev = write.after.epoch
    rows = []
    for i, data in enumerate(write.events):
        source, metadata = data.source, data.metadata
        rows.append(
            (
                pid,
                partition_nr,
                first + i,
                epoch,
                epoch if i else prev,
                data.event_type,
                data.schema_version,
                data.payload,
                data.timestamp_ms,
                data.command_id,
                source.topic if source else None,
                source.partition if source else None,
                source.offset if source else None,
                data.reply,
                pack_metadata(metadata) if metadata else None,
            )
        )
    return rows


def decode_event(values: tuple[Any, ...]) -> EventRecord:
    """An :class:`EventRecord` from a row selected as :data:`EVENT_COLUMNS`."""
    (pid, partition, seq, epoch, prev, etype, version, payload, ts, cid, topic, part, offset,
     reply, metadata) = values  # fmt: skip
    source = None if topic is None else RecordSource(topic=topic, partition=part, offset=offset)
    return EventRecord(
        persistence_id=PersistenceId.parse(pid),
        seq_nr=seq,
        writer_epoch=epoch,
        prev_epoch=prev,
        partition_nr=partition,
        event_type=etype,
        schema_version=version,
        payload=bytes(payload),
        timestamp_ms=ts,
        command_id=cid,
        source=source,
        reply=None if reply is None else bytes(reply),
        metadata=unpack_metadata(metadata),
    )


OUTBOX_COLUMNS = (
    "position, persistence_id, seq_nr, message_id, destination, message_type, "
    "schema_version, payload, metadata, delivered"
)


def decode_outbox(values: tuple[Any, ...]) -> OutboxRecord:
    """An :class:`OutboxRecord` from a row selected as :data:`OUTBOX_COLUMNS`."""
    position, pid, seq, message_id, destination, mtype, version, payload, metadata, done = values
    entry = OutboxEntry(
        message_id=message_id,
        destination=destination,
        message_type=mtype,
        schema_version=version,
        payload=bytes(payload),
        metadata=unpack_metadata(metadata),
    )
    return OutboxRecord(
        position=position,
        persistence_id=PersistenceId.parse(pid),
        seq_nr=seq,
        entry=entry,
        delivered=bool(done),
    )

"""The events table's columns: binding an atomic write's rows and decoding rows read back.

One place names the columns so the insert, the replay select and the decoder cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from cassandra.query import UNSET_VALUE

from repertory.persistence._records import (
    AtomicWrite,
    EventData,
    EventRecord,
    PersistenceId,
    RecordSource,
)

Row = tuple[Any, ...]
_RowData = EventRecord | EventData
"""What a row's position-free values come from: a stored record or an event to write."""

EVENT_COLUMNS = (
    "persistence_id",
    "partition_nr",
    "seq_nr",
    "writer_epoch",
    "prev_epoch",
    "event_type",
    "schema_version",
    "payload",
    "timestamp_ms",
    "command_id",
    "source_topic",
    "source_partition",
    "source_offset",
    "reply",
    "metadata",
)

ROW_OVERHEAD = 320
"""Bytes counted per row besides its variable fields: the server's measure of a mutation counts
the clustering key, the row's liveness info and about 20 bytes of header per cell (timestamp,
TTL, deletion time). An over-estimate, so a batch sized with it stays under the server's
``batch_size_fail_threshold`` measure of the same mutation."""


def insert_cql(keyspace: str) -> str:
    names = ", ".join(EVENT_COLUMNS)
    marks = ", ".join("?" for _ in EVENT_COLUMNS)
    return f"INSERT INTO {keyspace}.events ({names}) VALUES ({marks})"


def select_cql(keyspace: str) -> str:
    """Rows of one partition in a seq_nr range, in clustering order."""
    names = ", ".join(EVENT_COLUMNS[1:])
    return (
        f"SELECT {names} FROM {keyspace}.events WHERE persistence_id = ? AND partition_nr = ?"
        " AND seq_nr >= ? AND seq_nr <= ?"
    )


def select_first_cql(keyspace: str) -> str:
    """Rows of partitions 0 and 1 in a seq_nr range (a small entity's single-pass read)."""
    names = ", ".join(EVENT_COLUMNS[1:])
    return (
        f"SELECT {names} FROM {keyspace}.events WHERE persistence_id = ?"
        " AND partition_nr IN (0, 1) AND seq_nr >= ? AND seq_nr <= ?"
    )


def select_first_many_cql(keyspace: str) -> str:
    """``select_first_cql`` for many entities at once; rows lead with the persistence id."""
    return (
        f"SELECT {', '.join(EVENT_COLUMNS)}"
        f" FROM {keyspace}.events WHERE persistence_id IN ?"
        " AND partition_nr IN (0, 1) AND seq_nr >= ? AND seq_nr <= ?"
    )


def select_keys_cql(keyspace: str) -> str:
    return (
        f"SELECT seq_nr, writer_epoch, prev_epoch FROM {keyspace}.events"
        " WHERE persistence_id = ? AND partition_nr = ? AND seq_nr > ?"
    )


def bind_values(row: EventRecord) -> tuple[Any, ...]:
    """The insert's values for one row, in ``EVENT_COLUMNS`` order.

    Absent optional values are left unset, not null: a null in an INSERT writes a tombstone
    (and an empty map a collection tombstone), which costs space, reads and batch bytes.
    """
    return _values(
        str(row.persistence_id),
        row.partition_nr,
        row.seq_nr,
        row.writer_epoch,
        row.prev_epoch,
        row,
    )


def write_values(write: AtomicWrite, partition_nr: int) -> list[tuple[Any, ...]]:
    """``bind_values`` of each of ``write.records(partition_nr)``, without building the
    records: a fenced write binds hundreds of rows per request, and the frozen records cost
    more to build than the values."""
    pid, epoch = str(write.persistence_id), write.writer_epoch
    seq_nr, prev_epoch = write.first_seq_nr, write.after.epoch
    values = []
    for data in write.events:
        values.append(_values(pid, partition_nr, seq_nr, epoch, prev_epoch, data))
        seq_nr, prev_epoch = seq_nr + 1, epoch
    return values


def _values(
    pid: str, partition_nr: int, seq_nr: int, epoch: int, prev_epoch: int, data: _RowData
) -> tuple[Any, ...]:
    source, unset = data.source, UNSET_VALUE
    return (
        pid,
        partition_nr,
        seq_nr,
        epoch,
        prev_epoch,
        data.event_type,
        data.schema_version,
        data.payload,
        data.timestamp_ms,
        data.command_id,
        source.topic if source else unset,
        source.partition if source else unset,
        source.offset if source else unset,
        data.reply if data.reply is not None else unset,
        dict(data.metadata) if data.metadata else unset,
    )


def row_size(row: _RowData) -> int:
    """An upper estimate of the bytes the row adds to a batch mutation."""
    size = ROW_OVERHEAD + len(row.payload) + len(row.event_type) + len(row.command_id)
    size += len(row.reply) if row.reply else 0
    size += len(row.source.topic) if row.source else 0
    return size + sum(len(k) + len(v) + 8 for k, v in row.metadata.items())


def decode_row(persistence_id: PersistenceId, row: Row) -> EventRecord:
    """An ``EventRecord`` from a row selected with ``select_cql`` (columns after the id)."""
    return decode_rows(persistence_id, (row,))[0]


def decode_rows(persistence_id: PersistenceId, rows: Iterable[Row]) -> list[EventRecord]:
    """``decode_row`` of many rows of one entity, for a replay's pages.

    A frozen dataclass's ``__init__`` pays a keyword call and an ``object.__setattr__`` per
    field, and a long replay decodes hundreds of thousands of rows: the slots are filled
    directly instead (``_record_slots`` fails at import if ``EventRecord``'s fields change).
    """
    new = object.__new__
    (
        set_pid,
        set_seq,
        set_epoch,
        set_prev,
        set_partition,
        set_type,
        set_version,
        set_payload,
        set_ts,
        set_cmd,
        set_source,
        set_reply,
        set_meta,
    ) = _RECORD_SLOTS
    decoded = []
    for row in rows:
        (
            partition,
            seq,
            epoch,
            prev,
            etype,
            version,
            payload,
            ts,
            cmd,
            topic,
            part,
            off,
            reply,
            meta,
        ) = row
        record = new(EventRecord)
        set_pid(record, persistence_id)
        set_seq(record, seq)
        set_epoch(record, epoch)
        set_prev(record, prev)
        set_partition(record, partition)
        set_type(record, etype)
        set_version(record, version)
        set_payload(record, payload if payload is not None else b"")
        set_ts(record, ts)
        set_cmd(record, cmd or "")
        set_source(record, RecordSource(topic=topic, partition=part, offset=off) if topic else None)
        set_reply(record, reply)
        set_meta(record, dict(meta) if meta else {})
        decoded.append(record)
    return decoded


def _record_slots() -> tuple[Callable[[EventRecord, Any], None], ...]:
    names = tuple(field.name for field in fields(EventRecord))
    if names != _RECORD_FIELDS:
        raise RuntimeError(f"EventRecord fields {names} are not the decoded {_RECORD_FIELDS}")
    return tuple(getattr(EventRecord, name).__set__ for name in names)


_RECORD_FIELDS = (
    "persistence_id",
    "seq_nr",
    "writer_epoch",
    "prev_epoch",
    "partition_nr",
    "event_type",
    "schema_version",
    "payload",
    "timestamp_ms",
    "command_id",
    "source",
    "reply",
    "metadata",
)
_RECORD_SLOTS = _record_slots()

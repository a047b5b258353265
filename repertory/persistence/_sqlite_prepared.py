"""A write's rows, built on the caller's thread before the writer thread takes the write.

The writer thread runs one group at a time, and every group waits for the one before it: the
less Python it runs per write, the sooner the group commits. So each write's event and outbox
rows, its key and its STORED result are worked out where it is appended; the writer thread
only compares heads and inserts.
"""

from __future__ import annotations

from typing import Any

from repertory.persistence._records import AtomicWrite, WriteResult
from repertory.persistence._rules import stored_result, target_partition
from repertory.persistence._sqlite_schema import encode_write, pack_metadata

__all__ = ["PreparedWrite"]


class PreparedWrite:
    """``write`` with the values the SQLite writer thread needs.

    Attributes:
        write: the atomic write.
        key: ``(persistence id, target partition)``, the key of its partition head.
        last: its last seq_nr, the head it leaves.
        events: its event rows, in ``EVENT_COLUMNS`` order.
        outbox: its outbox rows, in ``INSERT_OUTBOX`` order.
        stored: its result if stored.
    """

    __slots__ = ("events", "key", "last", "outbox", "stored", "write")

    def __init__(self, write: AtomicWrite, partition_size: int) -> None:
        pid = str(write.persistence_id)
        partition = target_partition(write, partition_size)
        last = write.after.seq_nr + len(write.events)
        self.write = write
        self.key = (pid, partition)
        self.last = last
        self.events = encode_write(write, partition, pid)
        self.outbox: list[tuple[Any, ...]] = [
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
        self.stored: WriteResult = stored_result(write, partition)

    def __repr__(self) -> str:
        return f"PreparedWrite({self.key!r}, last={self.last})"

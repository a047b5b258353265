"""The in-memory journal and snapshot store: a verified fake that passes the contract suite.

Same rows, partitions, heads, markers and rules as the real journals; several handles may share
one :class:`MemoryStore` (like processes sharing a database). Faults can be injected per write.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from repertory.errors import JournalMismatch, JournalUnavailable
from repertory.persistence._chain import Anchor
from repertory.persistence._contract import Outbox, SnapshotStore
from repertory.persistence._records import (
    AtomicWrite,
    EventRecord,
    JournalMode,
    OutboxRecord,
    PersistenceId,
    SnapshotCriteria,
    SnapshotRecord,
    WriteResult,
)
from repertory.persistence._resolving import ResolvingJournal, effective_anchor
from repertory.persistence._rules import (
    expected_head,
    failed_result,
    is_identical_retry,
    rejected_result,
    settle_unknown_head,
    stored_result,
    target_partition,
    validate_writes,
)

__all__ = ["Fault", "FaultHook", "InMemoryJournal", "InMemorySnapshotStore", "MemoryStore"]

_RowKey = tuple[int, int, int]  # (partition_nr, seq_nr, writer_epoch)


class Fault(enum.Enum):
    """A failure to inject into one atomic write."""

    FAIL_STORED = "fail-stored"
    """Apply the write, then report FAILED (the acknowledgement was lost)."""

    FAIL_NOT_STORED = "fail-not-stored"
    """Report FAILED without applying anything (the request was lost)."""


FaultHook = Callable[[AtomicWrite], Fault | None]
"""Called once per atomic write before it is applied; returns the fault to inject, or None."""


@dataclass(slots=True)
class MemoryStore:
    """The shared state behind in-memory journal handles."""

    mode: JournalMode
    partition_size: int = 1000
    rows: dict[PersistenceId, dict[_RowKey, EventRecord]] = field(default_factory=dict)
    heads: dict[tuple[PersistenceId, int], int] = field(default_factory=dict)
    markers: dict[PersistenceId, Anchor] = field(default_factory=dict)
    last_epoch: int = 0
    outbox: dict[int, OutboxRecord] = field(default_factory=dict)
    outbox_ids: set[str] = field(default_factory=set)
    outbox_positions: dict[str, int] = field(default_factory=dict)
    snapshots: dict[PersistenceId, dict[int, SnapshotRecord]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.partition_size < 1:
            raise ValueError(f"partition size [{self.partition_size}] must be at least 1")


class InMemoryJournal(ResolvingJournal, Outbox):
    """A journal held in a :class:`MemoryStore`; for tests and examples.

    Args:
        store: the shared state (a new one in ``mode`` if omitted).
        mode: the mode expected; must match the store's.
        partition_size: for a new store only.
        fault_hook: decides per atomic write whether to inject a :class:`Fault`.

    Raises:
        JournalMismatch: ``mode`` differs from the store's.
    """

    def __init__(
        self,
        store: MemoryStore | None = None,
        *,
        mode: JournalMode = JournalMode.FENCED,
        partition_size: int = 1000,
        fault_hook: FaultHook | None = None,
    ) -> None:
        self._store = store or MemoryStore(mode=mode, partition_size=partition_size)
        if self._store.mode is not mode:
            raise JournalMismatch(f"store mode [{self._store.mode.value}] is not [{mode.value}]")
        self.fault_hook = fault_hook
        self.unavailable = False
        """When true, reads raise JournalUnavailable and writes come back FAILED, unapplied."""
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"InMemoryJournal(mode={self.mode.value}, entities={len(self._store.rows)}, "
            f"last_epoch={self._store.last_epoch}, closed={self._closed})"
        )

    @property
    def store(self) -> MemoryStore:
        return self._store

    @property
    def mode(self) -> JournalMode:
        return self._store.mode

    @property
    def partition_size(self) -> int:
        return self._store.partition_size

    @property
    def supports_outbox(self) -> bool:
        return True

    def _ensure_available(self) -> None:
        if self._closed:
            raise JournalUnavailable("the in-memory journal is closed")
        if self.unavailable:
            raise JournalUnavailable("the in-memory journal is unavailable (injected)")

    async def claim_epoch(self) -> int:
        self._ensure_available()
        if self.mode is JournalMode.CONDITIONAL:
            return 0
        self._store.last_epoch += 1
        return self._store.last_epoch

    async def append(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        validate_writes(
            writes, mode=self.mode, partition_size=self.partition_size, supports_outbox=True
        )
        return [self._append_one(write) for write in writes]

    def _append_one(self, write: AtomicWrite) -> WriteResult:
        fault = self.fault_hook(write) if self.fault_hook else None
        if self._closed or self.unavailable or fault is Fault.FAIL_NOT_STORED:
            return failed_result(write, "the write was not sent")
        result = self._apply(write)
        if fault is Fault.FAIL_STORED:
            return failed_result(write, "the acknowledgement was lost")
        return result

    def _apply(self, write: AtomicWrite) -> WriteResult:
        pid = write.persistence_id
        partition = target_partition(write, self.partition_size)
        rows = write.records(partition)
        if self.mode is JournalMode.CONDITIONAL:
            head = self._store.heads.get((pid, partition))
            if write.after.partition_nr is None:
                expected = settle_unknown_head(write, head)
            else:
                expected = expected_head(write, self.partition_size)
            if head != expected:
                stored = [
                    row
                    for (part, _, _), row in self._store.rows.get(pid, {}).items()
                    if part == partition
                ]
                if is_identical_retry(rows, stored):
                    return stored_result(write, partition)
                return rejected_result(write)
            self._store.heads[(pid, partition)] = write.last_seq_nr
        entity_rows = self._store.rows.setdefault(pid, {})
        for row in rows:
            entity_rows[(partition, row.seq_nr, row.writer_epoch)] = row
        self._add_outbox(write)
        return stored_result(write, partition)

    def _add_outbox(self, write: AtomicWrite) -> None:
        for entry in write.outbox:
            if entry.message_id in self._store.outbox_ids:
                continue
            self._store.outbox_ids.add(entry.message_id)
            position = len(self._store.outbox) + 1
            self._store.outbox_positions[entry.message_id] = position
            self._store.outbox[position] = OutboxRecord(
                position=position,
                persistence_id=write.persistence_id,
                seq_nr=write.last_seq_nr,
                entry=entry,
            )

    async def _read_rows(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[Anchor, list[EventRecord]]:
        self._ensure_available()
        effective = effective_anchor(anchor, self._store.markers.get(persistence_id))
        rows = self._store.rows.get(persistence_id, {}).values()
        return effective, [row for row in rows if row.seq_nr > effective.seq_nr]

    async def _raise_marker(self, persistence_id: PersistenceId, marker: Anchor) -> Anchor:
        self._ensure_available()
        current = self._store.markers.get(persistence_id)
        if current is None or marker.seq_nr > current.seq_nr:
            self._store.markers[persistence_id] = marker
            current = marker
        rows = self._store.rows.get(persistence_id, {})
        for key in [key for key in rows if key[1] <= current.seq_nr]:
            del rows[key]
        return current

    async def _persistence_ids(self) -> list[PersistenceId]:
        self._ensure_available()
        return sorted(set(self._store.rows) | set(self._store.markers))

    async def outbox_pending(
        self, max_count: int = 100, *, after_position: int = 0
    ) -> list[OutboxRecord]:
        self._ensure_available()
        pending = [
            record
            for record in self._store.outbox.values()
            if not record.delivered and record.position > after_position
        ]
        return pending[:max_count]

    async def mark_delivered(self, positions: Sequence[int]) -> None:
        self._ensure_available()
        for position in positions:
            record = self._store.outbox.get(position)
            if record is not None:
                self._store.outbox[position] = replace(record, delivered=True)

    async def mark_delivered_messages(self, message_ids: Sequence[str]) -> None:
        self._ensure_available()
        positions = self._store.outbox_positions
        await self.mark_delivered([positions[m] for m in message_ids if m in positions])

    async def aclose(self) -> None:
        self._closed = True


class InMemorySnapshotStore(SnapshotStore):
    """Snapshots held in a :class:`MemoryStore` (a new fenced one if omitted)."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self._store = store or MemoryStore(mode=JournalMode.FENCED)

    def __repr__(self) -> str:
        return f"InMemorySnapshotStore(entities={len(self._store.snapshots)})"

    async def save(self, snapshot: SnapshotRecord) -> None:
        self._store.snapshots.setdefault(snapshot.persistence_id, {})[snapshot.seq_nr] = snapshot

    async def load(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria | None = None
    ) -> SnapshotRecord | None:
        wanted = criteria or SnapshotCriteria()
        found = [
            s for s in self._store.snapshots.get(persistence_id, {}).values() if wanted.matches(s)
        ]
        return max(found, key=lambda s: s.seq_nr, default=None)

    async def delete(self, persistence_id: PersistenceId, seq_nr: int) -> None:
        self._store.snapshots.get(persistence_id, {}).pop(seq_nr, None)

    async def delete_matching(
        self, persistence_id: PersistenceId, criteria: SnapshotCriteria
    ) -> None:
        snapshots = self._store.snapshots.get(persistence_id, {})
        for seq_nr in [seq for seq, s in snapshots.items() if criteria.matches(s)]:
            del snapshots[seq_nr]

    async def aclose(self) -> None:
        return None

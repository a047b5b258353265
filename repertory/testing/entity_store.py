"""An in-process ``EventStore`` for entity tests and benchmarks, with faults on demand.

It keeps the runtime's own objects (no encoding) and behaves like a conditional journal: a
write whose position is not the entity's last seq_nr is REJECTED, unless it is an identical
retry of what is stored (then STORED). ``fault`` decides per write whether to reject it, lose
it, or store it and lose the acknowledgement. With ``known_empty`` it also answers the optional
``empty_recovery``, so the runtime activates entities it never stored anything for without a
recovery task (what a store with an in-memory index of its entities could do).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

from repertory.actors import (
    EntitySnapshot,
    EntityWrite,
    Recovery,
    StoredEvent,
    WriteAck,
    WriteStatus,
)

__all__ = ["MemoryEventStore", "StoreFault"]


class StoreFault(enum.Enum):
    """A failure to inject into one atomic write."""

    REJECT = "reject"
    """Report REJECTED without storing (as if another writer won)."""

    LOSE_REQUEST = "lose-request"
    """Report FAILED without storing."""

    LOSE_ACK = "lose-ack"
    """Store, then report FAILED."""


_EMPTY = Recovery(events=(), position=0)


class MemoryEventStore:
    """Events and snapshots in dictionaries; see the module doc.

    Args:
        fault: called once per write; returns the fault to inject or None.
        known_empty: answer ``empty_recovery`` (see the module doc); off by default, so tests
            see recoveries go through ``load_snapshot`` and ``replay``.

    Attributes:
        calls: the number of writes of each ``write`` call, in order.
        replays: recoveries served (by ``replay`` or ``empty_recovery``).
    """

    def __init__(
        self,
        fault: Callable[[EntityWrite], StoreFault | None] | None = None,
        *,
        known_empty: bool = False,
    ) -> None:
        self.events: dict[str, list[StoredEvent]] = {}
        self.snapshots: dict[str, list[EntitySnapshot]] = {}
        self.fault = fault
        self.known_empty = known_empty
        self.calls: list[int] = []
        self.replays = 0

    def empty_recovery(self, persistence_id: str) -> Recovery | None:
        """The recovery of an entity with no events and no snapshot; None if unsure."""
        if (
            not self.known_empty
            or self.events.get(persistence_id)
            or (self.snapshots.get(persistence_id))
        ):
            return None
        self.replays += 1
        return _EMPTY

    async def load_snapshot(self, persistence_id: str) -> EntitySnapshot | None:
        snapshots = self.snapshots.get(persistence_id)
        return snapshots[-1] if snapshots else None

    async def replay(self, persistence_id: str, snapshot: EntitySnapshot | None) -> Recovery:
        self.replays += 1
        events = self.events.get(persistence_id, ())
        after = snapshot.seq_nr if snapshot is not None else 0
        tail = list(events[after:])
        return Recovery(events=tail, position=len(events))

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        self.calls.append(len(writes))
        return [self._write_one(write) for write in writes]

    def _write_one(self, write: EntityWrite) -> WriteAck:
        fault = self.fault(write) if self.fault is not None else None
        if fault is StoreFault.REJECT:
            return WriteAck(WriteStatus.REJECTED)
        if fault is StoreFault.LOSE_REQUEST:
            return WriteAck(WriteStatus.FAILED)
        stored = self.events.setdefault(write.persistence_id, [])
        start = int(write.position or 0)
        end = start + len(write.events)
        if len(stored) != start:
            if tuple(stored[start:end]) == write.events:
                return WriteAck(WriteStatus.STORED, end)  # an identical retry
            return WriteAck(WriteStatus.REJECTED)
        stored.extend(write.events)
        if fault is StoreFault.LOSE_ACK:
            return WriteAck(WriteStatus.FAILED)
        return WriteAck(WriteStatus.STORED, end)

    async def save_snapshot(self, snapshot: EntitySnapshot, keep: int) -> None:
        kept = self.snapshots.setdefault(snapshot.persistence_id, [])
        kept.append(snapshot)
        del kept[:-keep]

    def size_of(self, event: StoredEvent) -> int:
        return 64

    def user_events(self, persistence_id: str) -> list[Any]:
        """The user events stored for one entity, in order."""
        return [stored.event for stored in self.events.get(persistence_id, ())]

"""The event store as egress sees it: every acknowledged write is captured for publishing.

Wrapping the runtime's store (rather than asking the runtime for events) means egress learns
of an event exactly when the journal acknowledged it, which is what guarantee 4 needs: nothing
unjournaled is published, and a command's events are known before its ask settles (the runtime
settles only after the acknowledgement). Replays are watched too: an event whose source offset
is not yet committed was journaled by an earlier owner (or incarnation) whose transaction never
committed; its record will be redelivered, found to be a duplicate, and must be republished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from repertory.actors import (
    EntitySnapshot,
    EntityWrite,
    EventStore,
    Recovery,
    StoredEvent,
    WriteAck,
    WriteStatus,
)
from repertory.kafka._encoding import EgressEncoder
from repertory.kafka._records import OutRecord
from repertory.persistence import AtomicWrite
from repertory.protocols import StateChange

__all__ = ["Captured", "CapturingStore", "SourceKey"]

SourceKey = tuple[str, int, int]
"""``(topic, partition, offset)`` of an input record."""


@dataclass(slots=True)
class Captured:
    """What one input record's command stored: its state changes and emitted commands, and
    when (``time.monotonic()``) the journal acknowledged the first of them."""

    changes: list[StateChange] = field(default_factory=list)
    emits: list[OutRecord] = field(default_factory=list)
    journaled_at: float = 0.0


class CapturingStore:
    """An ``EventStore`` that forwards to ``inner`` and keeps what egress must publish.

    Args:
        inner: the real store (a journal adapter).
        encoder: encodes state changes and emitted commands.
        epoch: the writer epoch the inner store writes under right now.
    """

    def __init__(self, inner: EventStore, encoder: EgressEncoder, epoch: Callable[[], int]) -> None:
        self.inner = inner
        self._encoder = encoder
        self._epoch = epoch
        self._captured: dict[SourceKey, Captured] = {}
        self._uncommitted_from: dict[tuple[str, int], int] = {}
        self._replayed: dict[SourceKey, tuple[str, list[StoredEvent]]] = {}

    # -- what egress calls --------------------------------------------------------------------

    def watch(self, topic: str, partition: int, committed: int) -> None:
        """Records of this partition at or past ``committed`` are not committed yet."""
        self._uncommitted_from[(topic, partition)] = committed

    def unwatch(self, topic: str, partition: int) -> None:
        """Forget a partition that was revoked or dropped."""
        self._uncommitted_from.pop((topic, partition), None)
        for key in [k for k in self._captured if k[0] == topic and k[1] == partition]:
            del self._captured[key]
        for key in [k for k in self._replayed if k[0] == topic and k[1] == partition]:
            del self._replayed[key]

    def take(self, key: SourceKey) -> Captured | None:
        """What the command of this record stored (once; later calls return None)."""
        return self._captured.pop(key, None)

    def take_replayed(self, key: SourceKey) -> tuple[str, list[StoredEvent]] | None:
        """``(persistence id, events)`` journaled for this uncommitted record before we saw it
        (by an earlier owner or incarnation), as a replay found them; once."""
        return self._replayed.pop(key, None)

    def unpublished(self, topic: str) -> dict[int, int]:
        """Per partition of ``topic``, events of its records journaled and not yet taken for
        publishing. One pass for every partition (the in-flight bound keeps it short); it runs
        for a gauge, not per command."""
        found: dict[int, int] = {}
        for (t, p, _), captured in list(self._captured.items()):
            if t == topic:
                found[p] = found.get(p, 0) + len(captured.changes)
        return found

    # -- the EventStore protocol --------------------------------------------------------------

    async def load_snapshot(self, persistence_id: str) -> EntitySnapshot | None:
        return await self.inner.load_snapshot(persistence_id)

    async def replay(self, persistence_id: str, snapshot: EntitySnapshot | None) -> Recovery:
        recovery = await self.inner.replay(persistence_id, snapshot)
        watched = self._uncommitted_from
        if watched:
            for event in recovery.events:
                source = event.source
                if source is None:
                    continue
                start = watched.get((source.topic, source.partition))
                if start is not None and source.offset >= start:
                    key = (source.topic, source.partition, source.offset)
                    held = self._replayed.setdefault(key, (persistence_id, []))
                    if all(e.seq_nr != event.seq_nr for e in held[1]):
                        held[1].append(event)
        return recovery

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        write_encoded = getattr(self.inner, "write_encoded", None)
        if write_encoded is None:
            acks = await self.inner.write(writes)
            journaled: Sequence[AtomicWrite | None] = [None] * len(writes)
        else:  # the journal's encoded payloads go out as they are: each event encoded once
            acks, journaled = await write_encoded(writes)
        epoch = self._epoch()
        for write, ack, atomic in zip(writes, acks, journaled, strict=True):
            if ack.status is WriteStatus.STORED:
                self._capture(write, epoch, atomic)
        return acks

    async def save_snapshot(self, snapshot: EntitySnapshot, keep: int) -> None:
        await self.inner.save_snapshot(snapshot, keep)

    def size_of(self, event: StoredEvent) -> int:
        return self.inner.size_of(event)

    def _capture(self, write: EntityWrite, epoch: int, atomic: AtomicWrite | None) -> None:
        pid = write.persistence_id
        encoder = self._encoder
        now = time.monotonic()
        rows = atomic.events if atomic is not None else None
        for i, event in enumerate(write.events):
            source = event.source
            if source is None:
                continue
            key = (source.topic, source.partition, source.offset)
            captured = self._captured.get(key)
            if captured is None:
                captured = self._captured[key] = Captured(journaled_at=now)
            journaled = rows[i] if rows is not None else None
            captured.changes.append(encoder.state_change(pid, event, epoch, journaled))
            if event.emits:
                captured.emits.extend(encoder.emitted(pid, event))

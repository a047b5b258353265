"""Duplicate detection per entity: the highest applied source offsets and a window of ids.

A redelivered Kafka record at or below the highest offset an entity applied from its partition
is a duplicate; a command re-sent as a new record is caught by its id while the id is in the
window (bounded by count and age). Both are rebuilt on replay and kept in snapshots.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from repertory.actors._store import CommandSource, DedupeMemory, StoredEvent

__all__ = ["DedupeWindow", "Seen"]


class Seen:
    """A command already handled: its reply, the last seq_nr it wrote (0: none) and when."""

    __slots__ = ("at", "reply", "seq_nr")

    def __init__(self, reply: Any, seq_nr: int, at: float) -> None:
        self.reply = reply
        self.seq_nr = seq_nr
        self.at = at


class DedupeWindow:
    """Recent command ids (count- and age-bounded) and highest offsets of one entity.

    Created empty and cheap: the dictionaries appear on first use.
    """

    __slots__ = ("_ids", "_max_age", "_max_count", "_offsets")

    def __init__(self, max_count: int, max_age: float) -> None:
        self._max_count = max_count
        self._max_age = max_age
        self._ids: OrderedDict[str, Seen] | None = None
        self._offsets: dict[tuple[str, int], int] | None = None

    def __len__(self) -> int:
        return len(self._ids) if self._ids else 0

    def lookup(self, command_id: str, now: float) -> Seen | None:
        """The handled command with this id, if still in the window."""
        if not command_id or not self._ids:
            return None
        seen = self._ids.get(command_id)
        if seen is None:
            return None
        if now - seen.at > self._max_age:
            self._expire(now)
            return None
        return seen

    def applied_offset(self, source: CommandSource | None) -> bool:
        """Whether a record at this source offset was applied already."""
        if source is None or not self._offsets:
            return False
        high = self._offsets.get((source.topic, source.partition))
        return high is not None and source.offset <= high

    def remember(
        self, command_id: str, source: CommandSource | None, seen: Seen, now: float
    ) -> None:
        """Record a handled command (after its events, if any, are stored)."""
        if source is not None:
            self._note_offset(source)
        if not command_id or self._max_count == 0:
            return
        ids = self._ids
        if ids is None:
            ids = self._ids = OrderedDict()
        elif command_id in ids:
            ids.move_to_end(command_id)  # a new id goes last by itself
        ids[command_id] = seen
        while len(ids) > self._max_count:
            ids.popitem(last=False)
        if now - next(iter(ids.values())).at > self._max_age:
            self._expire(now)

    def observe(self, record: StoredEvent, now: float) -> None:
        """Rebuild from one replayed event (the reply sits on a command's last event)."""
        if record.source is not None:
            self._note_offset(record.source)
        if record.command_id and record.ends_command:
            self.remember(
                record.command_id, None, Seen(record.reply, record.seq_nr, record.timestamp), now
            )

    def memory(self) -> DedupeMemory:
        """The window as a snapshot keeps it."""
        ids = tuple((cid, s.at, s.seq_nr, s.reply) for cid, s in (self._ids or {}).items())
        offsets = tuple((t, p, o) for (t, p), o in (self._offsets or {}).items())
        return DedupeMemory(ids=ids, offsets=offsets)

    def restore(self, memory: DedupeMemory, now: float) -> None:
        """Start from a snapshot's memory (replay then continues with ``observe``)."""
        for topic, partition, offset in memory.offsets:
            self._note_offset(CommandSource(topic=topic, partition=partition, offset=offset))
        for command_id, at, seq_nr, reply in memory.ids:
            self.remember(command_id, None, Seen(reply, seq_nr, at), now)

    def _note_offset(self, source: CommandSource) -> None:
        if self._offsets is None:
            self._offsets = {}
        key = (source.topic, source.partition)
        if source.offset > self._offsets.get(key, -1):
            self._offsets[key] = source.offset

    def _expire(self, now: float) -> None:
        ids = self._ids
        while ids:
            first = next(iter(ids.values()))
            if now - first.at <= self._max_age:
                break
            ids.popitem(last=False)

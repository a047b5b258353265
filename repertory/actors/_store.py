"""The port the entity runtime writes and recovers through, in the runtime's own terms.

The runtime deals in user objects (events, replies, states) plus the metadata it needs for
dedupe; an adapter maps them onto a journal's rows (``JournalEventStore`` over the persistence
contracts) and a test fake keeps them as they are. ``position`` is opaque to the runtime: the
store hands one out on recovery and with every stored write, and the runtime passes the latest
back with its next write (a journal keeps its chain tip there).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

from repertory.actors._effect import NO_REPLY, Emit

__all__ = [
    "CommandSource",
    "DedupeMemory",
    "EntitySnapshot",
    "EntityWrite",
    "EventStore",
    "Recovery",
    "StoredEvent",
    "WriteAck",
    "WriteStatus",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSource:
    """The input record a command came from (Kafka topic, partition, offset)."""

    topic: str
    partition: int
    offset: int


class StoredEvent(NamedTuple):
    """One event and what the runtime records with it.

    ``ends_command`` marks the last event of a command, which alone carries its ``reply`` and
    ``emits``; ``timestamp`` is the command's (seconds since the epoch), so a command run twice
    stores identical rows.

    A named tuple, not a frozen dataclass: the runtime makes one per event, and a tuple is built
    in one step where a frozen dataclass sets each field through a descriptor. Build it with
    keywords: the order of the fields is the runtime's own business.
    """

    seq_nr: int
    event: Any
    timestamp: float
    command_id: str = ""
    source: CommandSource | None = None
    reply: Any = NO_REPLY
    emits: tuple[Emit, ...] = ()
    ends_command: bool = True


@dataclass(frozen=True, slots=True)
class DedupeMemory:
    """What an entity remembers to spot duplicates; kept in snapshots.

    ``ids`` holds ``(command_id, timestamp, last seq_nr, reply)``, oldest first; ``offsets``
    the highest applied offset per ``(topic, partition)``.
    """

    ids: tuple[tuple[str, float, int, Any], ...] = ()
    offsets: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitySnapshot:
    """An entity's state after ``seq_nr`` with its dedupe memory."""

    persistence_id: str
    seq_nr: int
    state: Any
    dedupe: DedupeMemory
    timestamp: float
    position: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    """The events after a snapshot (or all of them), and the position a next write continues."""

    events: Sequence[StoredEvent]
    position: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityWrite:
    """One atomic write of one entity: contiguous seq_nrs, stored all or none.

    A retry after an unknown outcome hands the store this very object again.
    """

    persistence_id: str
    events: tuple[StoredEvent, ...]
    position: Any
    size: int

    @property
    def last_seq_nr(self) -> int:
        return self.events[-1].seq_nr


class WriteStatus(enum.Enum):
    """What became of one atomic write."""

    STORED = "stored"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WriteAck:
    """A write's status and, when STORED, the position the next write continues from."""

    status: WriteStatus
    position: Any = None


class EventStore(Protocol):
    """The journal as the entity runtime sees it.

    A store may also offer ``empty_recovery(persistence_id) -> Recovery | None`` (optional, not
    part of the protocol): the recovery of an entity it knows, without any I/O, to have neither
    events nor a snapshot, or None when it would have to look. The runtime then activates such
    an entity at once, without a recovery task (the in-process test store has it).
    """

    async def load_snapshot(self, persistence_id: str) -> EntitySnapshot | None:
        """The entity's latest snapshot, or None."""
        ...

    async def replay(self, persistence_id: str, snapshot: EntitySnapshot | None) -> Recovery:
        """Every event after ``snapshot`` (after seq_nr 0 without one), in seq_nr order."""
        ...

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        """Store atomic writes of any entities; one ack per write, same order.

        A store error is a FAILED ack, not an exception (an exception fails the whole call).
        """
        ...

    async def save_snapshot(self, snapshot: EntitySnapshot, keep: int) -> None:
        """Save ``snapshot`` and keep only the newest ``keep`` of the entity."""
        ...

    def size_of(self, event: StoredEvent) -> int:
        """Estimated encoded bytes of one event (for group commit and batcher caps)."""
        ...


# Frozen dataclasses build through ``object.__setattr__`` once per field, several times slower
# than setting their slots directly. The runtime makes these records for every write, so it
# builds them with the functions below: the same fields, equality, hash and repr.
_new = object.__new__
_make_tuple = cast("Callable[[type, tuple[Any, ...]], StoredEvent]", tuple.__new__)
"""``_make_tuple(StoredEvent, fields)``: a record in one step (``new_stored_event``)."""


def slot_setters(cls: type, *names: str) -> tuple[Any, ...]:
    """The ``__set__`` of each named slot of ``cls``, to fill a frozen instance directly."""
    return tuple(cls.__dict__[name].__set__ for name in names)


_ew_persistence_id, _ew_events, _ew_position, _ew_size = slot_setters(
    EntityWrite, "persistence_id", "events", "position", "size"
)
_wa_status, _wa_position = slot_setters(WriteAck, "status", "position")


def new_stored_event(
    seq_nr: int,
    event: Any,
    timestamp: float,
    command_id: str,
    source: CommandSource | None,
    reply: Any,
    emits: tuple[Emit, ...],
    ends_command: bool,
) -> StoredEvent:
    """``StoredEvent(...)`` with positional fields, without the keyword handling."""
    return _make_tuple(
        StoredEvent, (seq_nr, event, timestamp, command_id, source, reply, emits, ends_command)
    )


def new_entity_write(
    persistence_id: str, events: tuple[StoredEvent, ...], position: Any, size: int
) -> EntityWrite:
    """``EntityWrite(...)`` with positional fields, built without the frozen-init cost."""
    write: EntityWrite = _new(EntityWrite)
    _ew_persistence_id(write, persistence_id)
    _ew_events(write, events)
    _ew_position(write, position)
    _ew_size(write, size)
    return write


def new_write_ack(status: WriteStatus, position: Any = None) -> WriteAck:
    """``WriteAck(status, position)``, built without the frozen-init cost."""
    ack: WriteAck = _new(WriteAck)
    _wa_status(ack, status)
    _wa_position(ack, position)
    return ack

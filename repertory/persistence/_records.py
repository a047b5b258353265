"""The journal's records: identities, event rows, atomic writes, outcomes, snapshots, outbox rows.

Payload-agnostic: an event is its payload bytes plus its type name and schema version.
Timestamps are integer milliseconds since the Unix epoch (UTC), supplied by the caller (the
command's timestamp), so that a command run twice writes identical rows.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from repertory.errors import PersistenceError
from repertory.persistence._chain import Anchor

__all__ = [
    "AtomicWrite",
    "ChainTip",
    "EventData",
    "EventRecord",
    "JournalMode",
    "OutboxEntry",
    "OutboxRecord",
    "PersistenceId",
    "RecordSource",
    "SnapshotCriteria",
    "SnapshotRecord",
    "WriteOutcome",
    "WriteResult",
]

_SEPARATOR = "|"


@dataclass(frozen=True, slots=True, order=True)
class PersistenceId:
    """An entity's identity in the journal; ``str()`` gives the ``<type>|<id>`` form."""

    entity_type: str
    entity_id: str

    def __post_init__(self) -> None:
        if not self.entity_type or _SEPARATOR in self.entity_type:
            raise ValueError(f"entity type [{self.entity_type}] must be non-empty, without '|'")
        if not self.entity_id:
            raise ValueError(f"entity id of [{self.entity_type}] must not be empty")

    def __str__(self) -> str:
        return f"{self.entity_type}{_SEPARATOR}{self.entity_id}"

    @classmethod
    def parse(cls, text: str) -> PersistenceId:
        """Parse ``<type>|<id>`` (the id may itself contain ``|``).

        Raises:
            ValueError: no separator, or an empty part.
        """
        entity_type, separator, entity_id = text.partition(_SEPARATOR)
        if not separator:
            raise ValueError(f"persistence id [{text}] has no '|'")
        return cls(entity_type, entity_id)


class JournalMode(enum.Enum):
    """How writers are kept from forking a journal; recorded in the store, fixed for its life."""

    FENCED = "fenced"
    """Kafka mode: plain writes under claimed writer epochs; Kafka fences zombies."""

    CONDITIONAL = "conditional"
    """No Kafka: rows carry epoch 0; each write compare-and-sets its partition's ``head_seq``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSource:
    """The input record a command came from (Kafka topic, partition, offset)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EventData:
    """One event to be written: everything of a row that does not depend on its position.

    Args:
        event_type: the registered type name of the payload.
        schema_version: the payload's schema version (for upcasters).
        payload: the encoded event.
        timestamp_ms: the command's timestamp, ms since the Unix epoch.
        command_id: the command that produced the event.
        source: the input record of the command, when it came from Kafka.
        reply: the encoded reply to the command; set on the command's last event only.
        metadata: free string pairs (tracing and the like).
    """

    event_type: str
    schema_version: int = 1
    payload: bytes
    timestamp_ms: int
    command_id: str = ""
    source: RecordSource | None = None
    reply: bytes | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """A stored event row, as replay returns it.

    ``partition_nr`` is where the row physically lives: the partition of the first seq_nr of
    the atomic write that stored it (it may differ from ``seq_nr``'s nominal partition).
    """

    persistence_id: PersistenceId
    seq_nr: int
    writer_epoch: int
    prev_epoch: int
    partition_nr: int
    event_type: str
    schema_version: int
    payload: bytes
    timestamp_ms: int
    command_id: str = ""
    source: RecordSource | None = None
    reply: bytes | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def tip(self) -> ChainTip:
        """This row as the point a next write continues from."""
        return ChainTip(self.seq_nr, self.writer_epoch, self.partition_nr)

    def same_content(self, other: EventRecord) -> bool:
        """Whether ``other`` is this row written again (an identical retry), wherever stored."""
        return _content(self) == _content(other)


def _content(row: EventRecord) -> tuple[object, ...]:
    return (
        row.persistence_id,
        row.seq_nr,
        row.writer_epoch,
        row.prev_epoch,
        row.event_type,
        row.schema_version,
        row.payload,
        row.timestamp_ms,
        row.command_id,
        row.source,
        row.reply,
        dict(row.metadata),
    )


@dataclass(frozen=True, slots=True)
class ChainTip:
    """The point a write continues from: the chain's last seq_nr, its epoch and where it lives.

    Args:
        seq_nr: the last seq_nr of the chain (0 for an empty journal).
        epoch: the writer epoch of that event (0 for the origin).
        partition_nr: the partition the row at ``seq_nr`` physically lives in, or None when
            there is no such row to ask (seq 0, a snapshot or deletion marker without rows
            after it); a conditional journal then reads the target partition's ``head_seq``.
    """

    seq_nr: int = 0
    epoch: int = 0
    partition_nr: int | None = None

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq_nr, self.epoch)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxEntry:
    """A command an event emits to another entity, stored in the same transaction as the event.

    Args:
        message_id: unique and derived from the emitting event (retries store it once).
        destination: where it goes, e.g. the target persistence id.
        message_type: the registered type name of the payload.
        schema_version: the payload's schema version.
        payload: the encoded command.
        metadata: free string pairs.
    """

    message_id: str
    destination: str
    message_type: str
    schema_version: int = 1
    payload: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRecord:
    """A stored outbox row: the entry, its position, and the event that emitted it."""

    position: int
    persistence_id: PersistenceId
    seq_nr: int
    entry: OutboxEntry
    delivered: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AtomicWrite:
    """Events of one entity stored all or none: contiguous seq_nrs, one writer epoch.

    The events take seq_nrs ``after.seq_nr + 1`` onwards; the first continues ``after.epoch``
    (its ``prev_epoch``), the rest continue the write's own epoch. The whole write lives in the
    partition of its first seq_nr, so it may hold at most ``partition_size`` events.

    Args:
        persistence_id: the entity.
        writer_epoch: the writer's claimed epoch (fenced) or 0 (conditional).
        after: the chain tip the writer saw last (from replay or its previous write's result).
        events: the events, in order; at least one.
        outbox: commands emitted by these events (journals with ``supports_outbox`` only).
    """

    persistence_id: PersistenceId
    writer_epoch: int
    after: ChainTip
    events: tuple[EventData, ...]
    outbox: tuple[OutboxEntry, ...] = ()

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError(f"an atomic write for [{self.persistence_id}] needs an event")
        if self.writer_epoch < 0 or self.after.seq_nr < 0:
            raise ValueError(f"negative epoch or seq_nr in a write for [{self.persistence_id}]")

    @property
    def first_seq_nr(self) -> int:
        return self.after.seq_nr + 1

    @property
    def last_seq_nr(self) -> int:
        return self.after.seq_nr + len(self.events)

    def records(self, partition_nr: int) -> tuple[EventRecord, ...]:
        """The rows this write stores, placed in ``partition_nr``."""
        return tuple(
            EventRecord(
                persistence_id=self.persistence_id,
                seq_nr=self.first_seq_nr + i,
                writer_epoch=self.writer_epoch,
                prev_epoch=self.after.epoch if i == 0 else self.writer_epoch,
                partition_nr=partition_nr,
                event_type=data.event_type,
                schema_version=data.schema_version,
                payload=data.payload,
                timestamp_ms=data.timestamp_ms,
                command_id=data.command_id,
                source=data.source,
                reply=data.reply,
                metadata=data.metadata,
            )
            for i, data in enumerate(self.events)
        )


class WriteOutcome(enum.Enum):
    """What became of one atomic write."""

    STORED = "stored"
    """Acknowledged: every event is stored."""

    REJECTED = "rejected"
    """Definitely not stored (a conditional collision): recover (replay) and retry."""

    FAILED = "failed"
    """Maybe stored: retry the identical write (same rows, same epoch) with backoff."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    """The outcome of one atomic write; ``tip`` (STORED only) is what the next write continues."""

    outcome: WriteOutcome
    persistence_id: PersistenceId
    tip: ChainTip | None = None
    error: PersistenceError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRecord:
    """An entity's state after ``seq_nr``, whose event was written under ``writer_epoch``.

    Saved only once that event is committed, so (seq_nr, writer_epoch) is a valid anchor.
    """

    persistence_id: PersistenceId
    seq_nr: int
    writer_epoch: int
    timestamp_ms: int
    state_type: str
    schema_version: int = 1
    payload: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.seq_nr, self.writer_epoch)


_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotCriteria:
    """Which snapshots a load or delete considers (all bounds inclusive), as in Akka."""

    max_seq_nr: int = _MAX
    max_timestamp_ms: int = _MAX
    min_seq_nr: int = 0
    min_timestamp_ms: int = 0

    def matches(self, snapshot: SnapshotRecord) -> bool:
        return (
            self.min_seq_nr <= snapshot.seq_nr <= self.max_seq_nr
            and self.min_timestamp_ms <= snapshot.timestamp_ms <= self.max_timestamp_ms
        )

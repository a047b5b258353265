"""What a run of the engine produced, as plain frozen records that Kafka and embedded tests fill.

Payloads are plain dictionaries (decoded by the test), so nothing here depends on a codec,
a driver or the engine's own message types.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Ack",
    "AckOutcome",
    "Anchor",
    "DeadLetter",
    "History",
    "JournalRow",
    "PublishedEvent",
    "SentCommand",
    "Source",
    "Tally",
]

Tally = Callable[[Sequence["SentCommand"]], Mapping[str, object]]
"""Given the successfully acknowledged commands in send order (one per command id), the
expected final state of each entity, keyed by persistence id."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a command record sits on Kafka."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SentCommand:
    """One send of a command; a duplicate send repeats the ``command_id``.

    Attributes:
        command_id: the command's id, the same for every duplicate.
        persistence_id: the target entity, ``<entity type>|<entity id>``.
        command_type: the registered type name of the command.
        payload: the command's fields as a plain dict.
        source: the record's position on Kafka; None in embedded mode, where the order of
            ``History.sent`` is the send order.
        valid: False for input the test sends on purpose to be refused (undecodable, unknown,
            oversize, misrouted, or a command it knows the handler fails on). An invalid
            command is never expected applied, lost or resolved.
    """

    command_id: str
    persistence_id: str
    command_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None
    valid: bool = True


class AckOutcome(enum.StrEnum):
    """How a command was answered."""

    OK = "ok"
    """Accepted: its events (if any) are stored."""

    REJECTED = "rejected"
    """Refused with a business error: nothing was stored."""

    ERROR = "error"
    """Failed (the handler kept raising, the entity stopped, the ask timed out)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """One reply read by a ``read_committed`` consumer, or one embedded ask answered; replies
    to command ids never sent are ignored."""

    command_id: str
    outcome: AckOutcome
    reply: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Anchor:
    """Where an entity's chain starts: seq 0 epoch 0, a deletion marker, or a snapshot."""

    seq_nr: int = 0
    epoch: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalRow:
    """One raw journal row, whichever writer wrote it and whether or not it is canonical.

    ``(persistence_id, seq_nr, writer_epoch)`` is the row's key; ``prev_epoch`` is the epoch of
    the row at ``seq_nr - 1`` that this one continues.
    """

    persistence_id: str
    seq_nr: int
    writer_epoch: int
    prev_epoch: int
    command_id: str
    event_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedEvent:
    """One state change read from Kafka; ``History.published`` keeps the order read.

    ``partition`` and ``offset`` are shown in findings and not otherwise used.
    """

    persistence_id: str
    seq_nr: int
    writer_epoch: int
    command_id: str
    event_type: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """One dead letter read; matched to a sent command by id or by source."""

    reason: str
    source: Source | None = None
    command_id: str | None = None
    persistence_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """Everything a run produced, for ``check_history``.

    Attributes:
        sent: every send, in send order (duplicates included).
        acks: every reply or answered ask, in any order.
        journal: every raw journal row of every epoch, in any order.
        anchors: the anchor per persistence id; an entity not listed starts at seq 0 epoch 0.
        published: the state changes read, in the order read; ``None`` when the run has no
            published output to read (the embedded engine: its journal is its only output), so
            that publication (guarantee 4) is not judged.
        dead_letters: the dead letters read.
        duration_s: the run's wall-clock duration in seconds (>= 0).
        tally: the domain's independent expectation; needs ``final_states``.
        final_states: the final state per persistence id as the engine reports it.

    Raises:
        ValueError: a negative duration, or a tally without final states.
    """

    sent: Sequence[SentCommand]
    duration_s: float
    acks: Sequence[Ack] = ()
    journal: Sequence[JournalRow] = ()
    anchors: Mapping[str, Anchor] = field(default_factory=dict)
    published: Sequence[PublishedEvent] | None = ()
    dead_letters: Sequence[DeadLetter] = ()
    tally: Tally | None = None
    final_states: Mapping[str, object] | None = None

    def __post_init__(self) -> None:
        if self.duration_s < 0:
            raise ValueError(f"duration_s must be >= 0, got [{self.duration_s}]")
        if self.tally is not None and self.final_states is None:
            raise ValueError("a tally needs final_states to compare with")

    def anchor_of(self, persistence_id: str) -> Anchor:
        """The anchor of ``persistence_id`` (seq 0 epoch 0 when none is given)."""
        return self.anchors.get(persistence_id, _ORIGIN)


_ORIGIN = Anchor()

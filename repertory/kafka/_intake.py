"""Turning a consumed record into a command for an entity, or into a dead letter.

Every check that can condemn a record runs before it reaches an entity: the partition must be
the one its key hashes to, the envelope and the command body must decode within the input
limits, and the entity type must be hosted here. What fails becomes a dead letter (with an
error reply when the envelope named a reply-to topic) and the partition moves on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from repertory.actors import EntityType
from repertory.errors import InputRejected, Misrouted
from repertory.kafka._contents import RecordOutcome
from repertory.kafka._dead_letters import MISROUTED, dead_letter
from repertory.kafka._encoding import EgressEncoder
from repertory.kafka._partitioner import is_misrouted
from repertory.kafka._records import SourceRecord
from repertory.protocols import Command, CommandEnvelope, InputLimits, decode_command

__all__ = ["Slot", "admit", "condemn"]


@dataclass(slots=True)
class Slot:
    """One input record on its way: decided at once (``outcome``), or awaiting its entity.

    ``attempts`` counts deliveries (a command whose entity died unanswered is delivered again);
    ``reason`` is the dead-letter reason of a record condemned at admission.
    """

    record: SourceRecord
    envelope: CommandEnvelope | None = None
    command: Any = None
    entity_type: EntityType[Any, Any, Any] | None = None
    future: asyncio.Future[Any] | None = None
    outcome: RecordOutcome | None = None
    attempts: int = 0
    reason: str | None = None


def admit(
    record: SourceRecord,
    *,
    partitions: int,
    limits: InputLimits,
    encoder: EgressEncoder,
    types: dict[str, EntityType[Any, Any, Any]],
) -> Slot:
    """Check and decode ``record``; a slot with an ``outcome`` is already decided."""
    if is_misrouted(record.key, record.partition, partitions):
        error = Misrouted(
            f"record [{record.where()}] belongs on another of the [{partitions}] partitions"
        )
        return _condemned(record, None, MISROUTED, error, encoder)
    try:
        envelope = decode_command(record.key, record.value, record.headers, limits=limits)
    except InputRejected as exc:
        return _condemned(record, None, exc.reason, exc, encoder)
    try:
        command = encoder.serializer.decode_message(
            envelope.message_type, envelope.schema_version, envelope.payload, Command
        )
    except InputRejected as exc:
        return _condemned(record, envelope, exc.reason, exc, encoder)
    entity_type = types.get(envelope.entity_type)
    if entity_type is None:
        unhosted = InputRejected("unknown_type", f"entity type [{envelope.entity_type}] not hosted")
        return _condemned(record, envelope, "unknown_entity_type", unhosted, encoder)
    return Slot(record, envelope, command, entity_type)


def _condemned(
    record: SourceRecord,
    envelope: CommandEnvelope | None,
    reason: str,
    error: Exception,
    encoder: EgressEncoder,
) -> Slot:
    slot = Slot(record, envelope, reason=reason)
    slot.outcome = condemn(record, envelope, reason, error, encoder)
    return slot


def condemn(
    record: SourceRecord,
    envelope: CommandEnvelope | None,
    reason: str,
    error: BaseException,
    encoder: EgressEncoder,
) -> RecordOutcome:
    """The outcome of a dead-lettered record: the dead letter, and an error reply if asked."""
    detail = getattr(error, "detail", None) or str(error)
    letter = dead_letter(
        record, encoder.settings.dead_letters_topic, reason, type(error).__name__, detail
    )
    out = [letter]
    if envelope is not None:
        reply = encoder.failure_record(envelope, error)
        if reply is not None:
            out.append(reply)
    return RecordOutcome(record, [], out)

"""What egress produces, encoded: state changes, emitted commands, replies.

One place turns the runtime's objects (stored events, emits, reply values, errors) into Kafka
records, so the live path and the republish path after a redelivery produce identical bytes.
"""

from __future__ import annotations

from typing import Any

from repertory.actors import StoredEvent
from repertory.config import KafkaSettings
from repertory.kafka._records import OutRecord
from repertory.kafka._replies import ReplyEnvelope, encode_reply, reply_body
from repertory.persistence import EventData, EventRecord
from repertory.protocols import (
    CommandEnvelope,
    Serializer,
    StateChange,
    encode_command,
    encode_state_change,
)

__all__ = ["EgressEncoder", "error_reply"]


class EgressEncoder:
    """Encodes egress records for one engine's topics and message registry."""

    def __init__(self, serializer: Serializer, settings: KafkaSettings) -> None:
        self.serializer = serializer
        self.settings = settings

    def state_change(
        self,
        persistence_id: str,
        event: StoredEvent,
        epoch: int,
        journaled: EventData | None = None,
    ) -> StateChange:
        """The state change of a just-stored event written under ``epoch``.

        ``journaled``: the event as the journal stored it; its encoded payload is reused
        (each event is encoded once, and the journal and the topic hold the same bytes).
        """
        entity_type, _, entity_id = persistence_id.partition("|")
        if journaled is not None:
            type_name, version, payload = (
                journaled.event_type,
                journaled.schema_version,
                journaled.payload,
            )
        else:
            type_name, version, payload = self.serializer.encode_message(event.event)
        return StateChange(
            entity_type=entity_type,
            entity_id=entity_id,
            seq_nr=event.seq_nr,
            writer_epoch=epoch,
            command_id=event.command_id,
            event_type=type_name,
            schema_version=version,
            payload=payload,
        )

    @staticmethod
    def journaled_change(row: EventRecord) -> StateChange:
        """The state change of a journal row, exactly as journaled (republish)."""
        return StateChange(
            entity_type=row.persistence_id.entity_type,
            entity_id=row.persistence_id.entity_id,
            seq_nr=row.seq_nr,
            writer_epoch=row.writer_epoch,
            command_id=row.command_id,
            event_type=row.event_type,
            schema_version=row.schema_version,
            payload=row.payload,
        )

    def change_record(self, change: StateChange) -> OutRecord:
        return OutRecord(
            topic=self.settings.state_changes_topic,
            key=change.key(),
            value=encode_state_change(change),
            headers=change.headers(),
        )

    def emitted(self, persistence_id: str, event: StoredEvent) -> list[OutRecord]:
        """The commands an event's command emitted, with ids derived from the event."""
        records = []
        for i, emit in enumerate(event.emits):
            type_name, version, payload = self.serializer.encode_message(emit.command)  # type: ignore[arg-type]
            envelope = CommandEnvelope(
                command_id=f"{persistence_id}:{event.seq_nr}:{i}",
                entity_type=emit.entity_type,
                entity_id=emit.entity_id,
                message_type=type_name,
                schema_version=version,
                timestamp_ms=int(event.timestamp * 1000),
                payload=payload,
            )
            records.append(self.command_record(envelope))
        return records

    def command_record(self, envelope: CommandEnvelope) -> OutRecord:
        return OutRecord(
            topic=self.settings.commands_topic,
            key=envelope.key(),
            value=encode_command(envelope),
            headers=envelope.headers(),
        )

    def reply_record(self, envelope: CommandEnvelope, value: Any) -> OutRecord | None:
        """The reply to a command that asked for one (``reply_to`` set), else None."""
        if envelope.reply_to is None:
            return None
        try:
            type_name, version, payload = reply_body(self.serializer, value)
        except Exception as exc:  # an unencodable reply still answers the asker
            return self.failure_record(envelope, exc)
        reply = ReplyEnvelope(
            command_id=envelope.command_id,
            correlation_id=envelope.correlation_id,
            message_type=type_name,
            schema_version=version,
            payload=payload,
        )
        return _reply_out(envelope, reply)

    def failure_record(self, envelope: CommandEnvelope, error: BaseException) -> OutRecord | None:
        """The error reply to a command that asked for one, else None."""
        if envelope.reply_to is None:
            return None
        return _reply_out(envelope, error_reply(envelope, error))


def error_reply(envelope: CommandEnvelope, error: BaseException) -> ReplyEnvelope:
    return ReplyEnvelope(
        command_id=envelope.command_id,
        correlation_id=envelope.correlation_id,
        ok=False,
        error_class=type(error).__name__,
        error=str(error)[:2000],
    )


def _reply_out(envelope: CommandEnvelope, reply: ReplyEnvelope) -> OutRecord:
    assert envelope.reply_to is not None
    return OutRecord(
        topic=envelope.reply_to,
        key=envelope.key(),
        value=encode_reply(reply),
        headers=reply.headers(),
    )

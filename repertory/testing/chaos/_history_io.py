"""Turning what a Kafka run produced into the history checker's records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from repertory.kafka import dead_letter_info, decode_reply
from repertory.protocols import Serializer, decode_state_change
from repertory.testing.chaos._domain import fold_balance
from repertory.testing.history import Ack, AckOutcome, DeadLetter, PublishedEvent, Source

__all__ = ["acks_of", "dead_letters_of", "final_balances", "published_of"]


def acks_of(records: Iterable[Any]) -> list[Ack]:
    """Replies as acks: OK, rejected (a business refusal) or error."""
    out = []
    for record in records:
        reply = decode_reply(record.value)
        if reply.ok:
            outcome = AckOutcome.OK
        elif reply.error_class == "InsufficientFunds":
            outcome = AckOutcome.REJECTED
        else:
            outcome = AckOutcome.ERROR
        out.append(Ack(command_id=reply.command_id, outcome=outcome, error=reply.error or None))
    return out


def dead_letters_of(records: Iterable[Any]) -> list[DeadLetter]:
    """Dead letters with their reason, source and (when the envelope had one) command id."""
    out = []
    for record in records:
        info = dead_letter_info(record.headers)
        headers = {k: bytes(v or b"").decode(errors="replace") for k, v in record.headers}
        out.append(
            DeadLetter(
                reason=info.get("reason", ""),
                source=Source(
                    topic=info.get("source_topic", ""),
                    partition=int(info.get("source_partition", "-1")),
                    offset=int(info.get("source_offset", "-1")),
                ),
                command_id=headers.get("command_id"),
            )
        )
    return out


def published_of(records: Iterable[Any]) -> list[PublishedEvent]:
    """State changes in the order read."""
    out = []
    for record in records:
        change = decode_state_change(record.key, record.value, record.headers)
        out.append(
            PublishedEvent(
                persistence_id=change.persistence_id,
                seq_nr=change.seq_nr,
                writer_epoch=change.writer_epoch,
                command_id=change.command_id,
                event_type=change.event_type,
                partition=record.partition,
                offset=record.offset,
            )
        )
    return out


def final_balances(records: Iterable[Any], serializer: Serializer) -> dict[str, object]:
    """Each account's balance as a downstream reader folds it: state changes deduplicated by
    ``(entity, seq_nr)`` (first one read wins), in seq_nr order."""
    events: dict[str, dict[int, tuple[str, int]]] = {}
    for record in records:
        change = decode_state_change(record.key, record.value, record.headers)
        event = serializer.decode_message(change.event_type, change.schema_version, change.payload)
        seen = events.setdefault(change.persistence_id, {})
        seen.setdefault(change.seq_nr, (change.event_type, int(getattr(event, "amount", 0))))
    return {
        pid: fold_balance([by_seq[s] for s in sorted(by_seq)]) for pid, by_seq in events.items()
    }

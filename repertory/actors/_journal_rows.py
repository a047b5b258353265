"""Builders of the journal's write records for ``JournalEventStore``, off its per-event path.

Frozen dataclasses build through ``object.__setattr__`` once per field (and ``EventData`` makes
a fresh metadata dict each time), several times slower than setting their slots directly. The
store builds a few of these per command, so it builds them here: the same fields, equality,
hash and repr as the dataclasses' own constructors give.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from repertory.actors._store import slot_setters
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    OutboxEntry,
    PersistenceId,
    RecordSource,
)

__all__ = ["new_atomic_write", "new_event_data", "new_outbox_entry", "parse_persistence_id"]

_new = object.__new__
_NO_METADATA: Mapping[str, str] = {}
"""Shared by every row without metadata; never mutated."""


(
    _ed_event_type,
    _ed_schema_version,
    _ed_payload,
    _ed_timestamp_ms,
    _ed_command_id,
    _ed_source,
    _ed_reply,
    _ed_metadata,
) = slot_setters(
    EventData,
    "event_type",
    "schema_version",
    "payload",
    "timestamp_ms",
    "command_id",
    "source",
    "reply",
    "metadata",
)
_aw_persistence_id, _aw_writer_epoch, _aw_after, _aw_events, _aw_outbox = slot_setters(
    AtomicWrite, "persistence_id", "writer_epoch", "after", "events", "outbox"
)
_oe_message_id, _oe_destination, _oe_message_type, _oe_schema_version, _oe_payload, _oe_metadata = (
    slot_setters(
        OutboxEntry,
        "message_id",
        "destination",
        "message_type",
        "schema_version",
        "payload",
        "metadata",
    )
)


def new_event_data(
    event_type: str,
    schema_version: int,
    payload: bytes,
    timestamp_ms: int,
    command_id: str,
    source: RecordSource | None,
    reply: bytes | None,
) -> EventData:
    """``EventData(...)`` without metadata, positionally."""
    data: EventData = _new(EventData)
    _ed_event_type(data, event_type)
    _ed_schema_version(data, schema_version)
    _ed_payload(data, payload)
    _ed_timestamp_ms(data, timestamp_ms)
    _ed_command_id(data, command_id)
    _ed_source(data, source)
    _ed_reply(data, reply)
    _ed_metadata(data, _NO_METADATA)
    return data


def new_atomic_write(
    persistence_id: PersistenceId,
    writer_epoch: int,
    after: ChainTip,
    events: tuple[EventData, ...],
    outbox: tuple[OutboxEntry, ...],
) -> AtomicWrite:
    """``AtomicWrite(...)`` positionally, with its checks (at least one event, no negative
    epoch or seq_nr)."""
    if not events or writer_epoch < 0 or after.seq_nr < 0:
        # The constructor raises the error that says what is wrong.
        return AtomicWrite(
            persistence_id=persistence_id,
            writer_epoch=writer_epoch,
            after=after,
            events=events,
            outbox=outbox,
        )
    write: AtomicWrite = _new(AtomicWrite)
    _aw_persistence_id(write, persistence_id)
    _aw_writer_epoch(write, writer_epoch)
    _aw_after(write, after)
    _aw_events(write, events)
    _aw_outbox(write, outbox)
    return write


def new_outbox_entry(
    message_id: str, destination: str, message_type: str, schema_version: int, payload: bytes
) -> OutboxEntry:
    """``OutboxEntry(...)`` without metadata, positionally."""
    entry: OutboxEntry = _new(OutboxEntry)
    _oe_message_id(entry, message_id)
    _oe_destination(entry, destination)
    _oe_message_type(entry, message_type)
    _oe_schema_version(entry, schema_version)
    _oe_payload(entry, payload)
    _oe_metadata(entry, _NO_METADATA)
    return entry


@functools.lru_cache(maxsize=65_536)
def parse_persistence_id(text: str) -> PersistenceId:
    """``PersistenceId.parse``, remembered for the entities written recently (an entity
    writes again and again while active)."""
    return PersistenceId.parse(text)

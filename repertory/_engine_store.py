"""The entity runtime's event store over a journal: runtime objects ⇄ journal rows.

Events are encoded with the engine's serializer (type name, schema version, payload). A
command's last event carries, in the row's ``reply`` bytes, its reply and the commands it
emitted, so a redelivered command gets its stored reply and a republish re-sends its emitted
commands exactly as first built. The position handed to the runtime is the journal's chain tip.
Writes go out under one writer epoch, which the Kafka edge raises on every assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack

from repertory.actors import (
    NO_REPLY,
    CommandSource,
    DedupeMemory,
    Emit,
    EntitySnapshot,
    EntityWrite,
    Recovery,
    StoredEvent,
    WriteAck,
    WriteStatus,
)
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    EventRecord,
    Journal,
    OutboxEntry,
    PersistenceId,
    RecordSource,
    SnapshotRecord,
    SnapshotStore,
    WriteOutcome,
)
from repertory.protocols import Event, Message, Serializer

__all__ = ["JournalEventStore"]

_STATUS = {
    WriteOutcome.STORED: WriteStatus.STORED,
    WriteOutcome.REJECTED: WriteStatus.REJECTED,
    WriteOutcome.FAILED: WriteStatus.FAILED,
}
_EVENT_OVERHEAD = 120  # bytes of a row beyond its payload: keys, ids, source, reply envelope


class JournalEventStore:
    """An ``EventStore`` (the runtime's port) over ``journal`` and an optional snapshot store.

    Args:
        journal: where events go.
        snapshots: where snapshots go (None: snapshots are skipped).
        serializer: encodes events, replies, emitted commands and states.
        epoch: the writer epoch of writes (0 in conditional mode).
    """

    def __init__(
        self,
        journal: Journal,
        snapshots: SnapshotStore | None,
        serializer: Serializer,
        epoch: int = 0,
    ) -> None:
        self.journal = journal
        self.snapshots = snapshots
        self.serializer = serializer
        self.epoch = epoch
        self._outbox = journal.supports_outbox

    def __repr__(self) -> str:
        return f"JournalEventStore({self.journal!r}, epoch={self.epoch})"

    async def load_snapshot(self, persistence_id: str) -> EntitySnapshot | None:
        if self.snapshots is None:
            return None
        record = await self.snapshots.load(PersistenceId.parse(persistence_id))
        if record is None:
            return None
        raw = msgpack.unpackb(record.payload, raw=False, strict_map_key=False)
        state = self.serializer.decode_message(record.state_type, record.schema_version, raw["s"])
        ids = tuple((c, at, s, self._decode_value(r)) for c, at, s, r in raw["i"])
        offsets = tuple((t, p, o) for t, p, o in raw["o"])
        return EntitySnapshot(
            persistence_id=persistence_id,
            seq_nr=record.seq_nr,
            state=state,
            dedupe=DedupeMemory(ids=ids, offsets=offsets),
            timestamp=record.timestamp_ms / 1000,
            position=ChainTip(record.seq_nr, record.writer_epoch, None),
        )

    async def replay(self, persistence_id: str, snapshot: EntitySnapshot | None) -> Recovery:
        pid = PersistenceId.parse(persistence_id)
        tip = ChainTip()
        anchor = None
        if snapshot is not None and isinstance(snapshot.position, ChainTip):
            tip = snapshot.position
            anchor = tip.anchor
        events = []
        async for row in self.journal.replay(pid, tip.seq_nr + 1, anchor=anchor):
            events.append(self._stored(row))
            tip = row.tip
        return Recovery(events=events, position=tip)

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        atomic = [self._atomic(write) for write in writes]
        results = await self.journal.append(atomic)
        return [WriteAck(_STATUS[r.outcome], r.tip) for r in results]

    async def save_snapshot(self, snapshot: EntitySnapshot, keep: int) -> None:
        if self.snapshots is None or not isinstance(snapshot.state, Message):
            return
        type_name, version, state = self.serializer.encode_message(snapshot.state)
        memory = snapshot.dedupe
        payload = msgpack.packb(
            {
                "s": state,
                "i": [(c, at, s, self._encode_value(r)) for c, at, s, r in memory.ids],
                "o": [list(o) for o in memory.offsets],
            },
            use_bin_type=True,
        )
        position = snapshot.position
        epoch = position.epoch if isinstance(position, ChainTip) else self.epoch
        await self.snapshots.save(
            SnapshotRecord(
                persistence_id=PersistenceId.parse(snapshot.persistence_id),
                seq_nr=snapshot.seq_nr,
                writer_epoch=epoch,
                timestamp_ms=int(snapshot.timestamp * 1000),
                state_type=type_name,
                schema_version=version,
                payload=payload,
            )
        )

    def size_of(self, event: StoredEvent) -> int:
        size = getattr(event.event, "__sizeof__", None)
        return _EVENT_OVERHEAD + (size() if size is not None else 64)

    # -- rows ---------------------------------------------------------------------------------

    def _atomic(self, write: EntityWrite) -> AtomicWrite:
        pid = PersistenceId.parse(write.persistence_id)
        after = write.position if isinstance(write.position, ChainTip) else ChainTip()
        events = tuple(self._event_data(event) for event in write.events)
        outbox: tuple[OutboxEntry, ...] = ()
        if self._outbox:
            outbox = tuple(
                self._outbox_entry(write.persistence_id, event, i, emit)
                for event in write.events
                for i, emit in enumerate(event.emits)
            )
        return AtomicWrite(
            persistence_id=pid, writer_epoch=self.epoch, after=after, events=events, outbox=outbox
        )

    def _event_data(self, event: StoredEvent) -> EventData:
        type_name, version, payload = self.serializer.encode_message(event.event)
        source = event.source
        return EventData(
            event_type=type_name,
            schema_version=version,
            payload=payload,
            timestamp_ms=int(event.timestamp * 1000),
            command_id=event.command_id,
            source=None
            if source is None
            else RecordSource(topic=source.topic, partition=source.partition, offset=source.offset),
            reply=self._encode_ending(event) if event.ends_command else None,
        )

    def _outbox_entry(self, pid: str, event: StoredEvent, i: int, emit: Emit) -> OutboxEntry:
        type_name, version, payload = self.serializer.encode_message(emit.command)  # type: ignore[arg-type]
        return OutboxEntry(
            message_id=f"{pid}:{event.seq_nr}:{i}",
            destination=f"{emit.entity_type}|{emit.entity_id}",
            message_type=type_name,
            schema_version=version,
            payload=payload,
        )

    def _stored(self, row: EventRecord) -> StoredEvent:
        event = self.serializer.decode_message(
            row.event_type, row.schema_version, row.payload, Event
        )
        reply: Any = NO_REPLY
        emits: tuple[Emit, ...] = ()
        if row.reply is not None:
            reply, emits = self._decode_ending(row.reply)
        source = row.source
        return StoredEvent(
            seq_nr=row.seq_nr,
            event=event,
            timestamp=row.timestamp_ms / 1000,
            command_id=row.command_id,
            source=None
            if source is None
            else CommandSource(
                topic=source.topic, partition=source.partition, offset=source.offset
            ),
            reply=reply,
            emits=emits,
            ends_command=row.reply is not None,
        )

    # -- reply bytes: the reply value and the emitted commands ---------------------------------

    def _encode_ending(self, event: StoredEvent) -> bytes:
        emits = [
            (e.entity_type, e.entity_id, *self.serializer.encode_message(e.command))  # type: ignore[arg-type]
            for e in event.emits
        ]
        packed: bytes = msgpack.packb(
            {"r": self._encode_value(event.reply), "e": emits}, use_bin_type=True
        )
        return packed

    def _decode_ending(self, data: bytes) -> tuple[Any, tuple[Emit, ...]]:
        raw = msgpack.unpackb(data, raw=False)
        emits = tuple(
            Emit(etype, eid, self.serializer.decode_message(name, version, payload))
            for etype, eid, name, version, payload in raw["e"]
        )
        return self._decode_value(raw["r"]), emits

    def _encode_value(self, value: Any) -> Any:
        """A reply value as msgpack-able data: typed when registered, plain otherwise."""
        if value is NO_REPLY:
            return None
        if isinstance(value, Message):
            return ["m", *self.serializer.encode_message(value)]
        return ["v", value]

    def _decode_value(self, data: Any) -> Any:
        if data is None:
            return NO_REPLY
        if data[0] == "m":
            return self.serializer.decode_message(data[1], data[2], data[3])
        return data[1]

"""The entity runtime's event store over a journal: runtime objects ⇄ journal rows.

Events are encoded with the engine's serializer (type name, schema version, payload). A
command's last event carries, in the row's ``reply`` bytes, its reply and the commands it
emitted, so a redelivered command gets its stored reply and a republish re-sends its emitted
commands exactly as first built. The position handed to the runtime is the journal's chain tip.
Writes go out under one writer epoch, which the Kafka edge raises on every assignment.

Fenced mode's zombie check happens here, on activation: a chain whose last epoch is higher than
ours was continued by a newer owner, so this writer is a zombie for the entity. Recovery fails
with ``WriterFenced`` (nothing is written) and ``on_zombie`` tells the engine to give the
entity's input partition up. With ``metrics`` the store records the journal's families (append
latency and outcome, events per write, replays, snapshots), recoveries and group-commit sizes,
and (``end_to_end``, embedded mode) a command's timestamp to its events' acknowledgement.

Given the set of entities a conditional journal holds (:meth:`JournalEventStore.know_entities`),
the store answers ``empty_recovery`` for every other one without reading: a new entity (a
transfer, say) then starts with no round trip to the journal. It stays safe if another process
wrote the entity meanwhile: the first write compare-and-sets an unopened partition, is rejected,
and the entity recovers by replay.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import msgpack

from repertory.actors._effect import NO_REPLY, Emit
from repertory.actors._journal_metrics import observe_write
from repertory.actors._journal_rows import (
    new_atomic_write,
    new_event_data,
    new_outbox_entry,
    parse_persistence_id,
)
from repertory.actors._store import (
    CommandSource,
    DedupeMemory,
    EntitySnapshot,
    EntityWrite,
    Recovery,
    StoredEvent,
    WriteAck,
    WriteStatus,
    new_write_ack,
)
from repertory.errors import WriterFenced
from repertory.observability.metrics import RepertoryMetrics
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    EventRecord,
    Journal,
    JournalMode,
    OutboxEntry,
    PersistenceId,
    RecordSource,
    SnapshotRecord,
    SnapshotStore,
    WriteOutcome,
)
from repertory.protocols import Event, Message, Serializer

__all__ = ["JournalEventStore", "ZombieHandler"]

ZombieHandler = Callable[[str, int], None]
"""``(persistence id, the chain's last epoch)``: a newer writer owns this entity."""

_STATUS = {
    WriteOutcome.STORED: WriteStatus.STORED,
    WriteOutcome.REJECTED: WriteStatus.REJECTED,
    WriteOutcome.FAILED: WriteStatus.FAILED,
}
_EVENT_OVERHEAD = 120  # bytes of a row beyond its payload: keys, ids, source, reply envelope
_ORIGIN = ChainTip()
_EMPTY = Recovery(events=(), position=_ORIGIN)
KNOWN_ENTITIES_LIMIT = 500_000
"""The most entities the store remembers for ``empty_recovery`` (about 100 bytes each); past
it the index is dropped and every activation reads the journal."""
_Encoded = tuple[str, str, str, int, bytes]
"""An emitted command as stored: ``(entity type, entity id, type name, version, payload)``."""
_NO_EMITS: tuple[_Encoded, ...] = ()


class JournalEventStore:
    """An ``EventStore`` (the runtime's port) over ``journal`` and an optional snapshot store.

    Args:
        journal: where events go.
        snapshots: where snapshots go (None: snapshots are skipped).
        serializer: encodes events, replies, emitted commands and states.
        epoch: the writer epoch of writes (0 in conditional mode).
        metrics: where to record (None: nothing is recorded).
        end_to_end: record command timestamp → write acknowledged (embedded mode, where the
            acknowledgement is the commit; in Kafka mode egress records it on publish).
        on_zombie: called when an activation finds a chain continued by a newer epoch.
    """

    def __init__(
        self,
        journal: Journal,
        snapshots: SnapshotStore | None,
        serializer: Serializer,
        epoch: int = 0,
        *,
        metrics: RepertoryMetrics | None = None,
        end_to_end: bool = False,
        on_zombie: ZombieHandler | None = None,
    ) -> None:
        self.journal = journal
        self.snapshots = snapshots
        self.serializer = serializer
        self.epoch = epoch
        self.metrics = metrics
        self.end_to_end = end_to_end and metrics is not None
        self.on_zombie = on_zombie
        self._outbox = journal.supports_outbox
        self._loading: dict[str, float] = {}
        self._known: set[str] | None = None
        self._sizes: dict[type, int] = {}
        self._packer = msgpack.Packer(use_bin_type=True)  # what ``packb`` builds on every call

    def __repr__(self) -> str:
        return f"JournalEventStore({self.journal!r}, epoch={self.epoch})"

    def know_entities(self, persistence_ids: set[str] | None) -> None:
        """Every entity the journal holds events, a deletion marker or a snapshot for (None:
        unknown). Only for a conditional journal, whose compare-and-set catches an entity
        another process wrote since; the store adds every entity it writes.

        Raises:
            ValueError: the journal is fenced (a zombie check needs the read).
        """
        if persistence_ids is not None and self.journal.mode is not JournalMode.CONDITIONAL:
            raise ValueError("an index of known entities needs a conditional journal")
        if persistence_ids is not None and len(persistence_ids) > KNOWN_ENTITIES_LIMIT:
            persistence_ids = None
        self._known = persistence_ids

    def empty_recovery(self, persistence_id: str) -> Recovery | None:
        """The recovery of an entity the journal is known not to hold; None if unsure."""
        known = self._known
        if known is None or persistence_id in known:
            return None
        if self.metrics is not None:  # a recovery, though not a journal read
            self.metrics.actors.recovered(persistence_id.partition("|")[0], 0.0, 0)
        return _EMPTY

    async def load_snapshot(self, persistence_id: str) -> EntitySnapshot | None:
        metrics = self.metrics
        if metrics is not None:
            self._loading[persistence_id] = time.perf_counter()
        if self.snapshots is None:
            return None
        try:
            record = await self.snapshots.load(PersistenceId.parse(persistence_id))
        except Exception:
            if metrics is not None:
                metrics.journal.snapshot_loaded("failed")
            raise
        if metrics is not None:
            metrics.journal.snapshot_loaded("absent" if record is None else "found")
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
        """The events after ``snapshot``; the chain's tip is the position writes continue.

        Raises:
            WriterFenced: the chain's last epoch is higher than ours (we are a zombie for the
                entity); ``on_zombie`` was told first.
            JournalUnavailable: the journal could not be read.
        """
        pid = PersistenceId.parse(persistence_id)
        tip = ChainTip()
        anchor = None
        if snapshot is not None and isinstance(snapshot.position, ChainTip):
            tip = snapshot.position
            anchor = tip.anchor
        started = time.perf_counter() if self.metrics is not None else 0.0
        events = []
        async for row in self.journal.replay(pid, tip.seq_nr + 1, anchor=anchor):
            events.append(self._stored(row))
            tip = row.tip
        if self.metrics is not None:
            self._observe_replay(self.metrics, pid, started, len(events))
        if tip.epoch > self.epoch:
            self._zombie(persistence_id, tip.epoch)
        return Recovery(events=events, position=tip)

    def _zombie(self, persistence_id: str, chain_epoch: int) -> None:
        if self.on_zombie is not None:
            self.on_zombie(persistence_id, chain_epoch)
        raise WriterFenced(
            f"the chain of [{persistence_id}] ends under writer epoch [{chain_epoch}], above "
            f"ours [{self.epoch}]: a newer owner continues it"
        )

    def _observe_replay(
        self, metrics: RepertoryMetrics, pid: PersistenceId, started: float, events: int
    ) -> None:
        now = time.perf_counter()
        metrics.journal.replayed(now - started, events)
        loading = self._loading.pop(str(pid), started)
        metrics.actors.recovered(pid.entity_type, now - loading, events)

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        acks, _ = await self.write_encoded(writes)
        return acks

    async def write_encoded(
        self, writes: Sequence[EntityWrite]
    ) -> tuple[Sequence[WriteAck], list[AtomicWrite]]:
        """``write``, also returning the atomic writes as journaled (one per write, same
        order), so a caller that publishes the events reuses their encoded payloads."""
        atomic = [self._atomic(write) for write in writes]
        metrics = self.metrics
        if metrics is None:
            results = await self.journal.append(atomic)
            return [new_write_ack(_STATUS[r.outcome], r.tip) for r in results], atomic
        started = time.perf_counter()
        results = await self.journal.append(atomic)
        elapsed = time.perf_counter() - started
        acks = [new_write_ack(_STATUS[r.outcome], r.tip) for r in results]
        observe_write(metrics, writes, acks, elapsed, end_to_end=self.end_to_end)
        return acks, atomic

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
        record = SnapshotRecord(
            persistence_id=PersistenceId.parse(snapshot.persistence_id),
            seq_nr=snapshot.seq_nr,
            writer_epoch=epoch,
            timestamp_ms=int(snapshot.timestamp * 1000),
            state_type=type_name,
            schema_version=version,
            payload=payload,
        )
        metrics = self.metrics
        try:
            await self.snapshots.save(record)
        except Exception:
            if metrics is not None:
                metrics.journal.snapshot_saved("failed")
            raise
        if metrics is not None:
            metrics.journal.snapshot_saved("stored")

    def size_of(self, event: StoredEvent) -> int:
        # ``__sizeof__`` is the shallow size: one value per class, so it is looked up once.
        kind = type(event.event)
        size = self._sizes.get(kind)
        if size is None:
            size = self._sizes[kind] = _EVENT_OVERHEAD + event.event.__sizeof__()
        return size

    # -- rows ---------------------------------------------------------------------------------

    def _atomic(self, write: EntityWrite) -> AtomicWrite:
        pid = write.persistence_id
        known = self._known
        if known is not None:  # before the outcome is known: a failed write may be stored
            known.add(pid)
            if len(known) > KNOWN_ENTITIES_LIMIT:
                self._known = None
        after = write.position if isinstance(write.position, ChainTip) else _ORIGIN
        event_data = self._event_data
        events = []
        outbox: list[OutboxEntry] = []
        for event in write.events:
            if not event.emits:
                events.append(event_data(event, _NO_EMITS))
                continue
            # Emitted commands are encoded once: into the reply bytes and into the outbox.
            emits = [self._encode_emit(emit) for emit in event.emits]
            events.append(event_data(event, emits))
            if self._outbox:
                outbox.extend(
                    new_outbox_entry(f"{pid}:{event.seq_nr}:{i}", f"{t}|{e}", name, version, data)
                    for i, (t, e, name, version, data) in enumerate(emits)
                )
        return new_atomic_write(
            parse_persistence_id(pid), self.epoch, after, tuple(events), tuple(outbox)
        )

    def _encode_emit(self, emit: Emit) -> _Encoded:
        return (emit.entity_type, emit.entity_id, *self.serializer.encode_message(emit.command))  # type: ignore[arg-type]

    def _event_data(self, event: StoredEvent, emits: Sequence[_Encoded]) -> EventData:
        _, value, timestamp, command_id, source, reply, _, ends_command = event
        type_name, version, payload = self.serializer.encode_message(value)
        return new_event_data(
            type_name,
            version,
            payload,
            int(timestamp * 1000),
            command_id,
            None
            if source is None
            else RecordSource(topic=source.topic, partition=source.partition, offset=source.offset),
            self._packer.pack({"r": self._encode_value(reply), "e": emits})
            if ends_command
            else None,
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

"""One owned input partition: intake delivers commands, egress commits them, both at once.

Two tasks per partition form a pipeline. Intake decodes each batch of records and hands the
commands to their entities; egress takes the batches in offset order, waits for each command's
outcome (the journal has acknowledged its events by then), builds the batch's transaction and
commits it. So batch N+1 is consumed and journaled while batch N is published, and a command
whose write outcome is unknown simply holds its batch until the entity's retry settles: the
in-flight bound then pauses the partition.

An entity whose mailbox is full does not stop intake: its commands wait, in offset order, in a
queue of their own that a task feeds to the entity as its mailbox drains, while the other
entities of the partition get theirs (one hot entity would otherwise hold the whole partition,
and with it every other entity's share of the journal writes). Nothing is dropped: the waiting
commands count as in flight, so the in-flight bound still pauses the partition.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from repertory.actors import CommandSource, Delivery, EntityType
from repertory.errors import (
    ActorDeadError,
    DuplicateCommand,
    RepertoryError,
    WriteOutcomeUnknown,
    WriteRejected,
)
from repertory.kafka._contents import RecordOutcome, build_contents
from repertory.kafka._dead_letters import STOPPED_ENTITY
from repertory.kafka._egress_context import EgressContext
from repertory.kafka._egress_metrics import record_committed_batch
from repertory.kafka._intake import Slot, admit, condemn
from repertory.kafka._partitioner import partition_for
from repertory.kafka._records import SourceRecord
from repertory.kafka._transactions import PartitionFenced, PartitionProducer, ProducerUnusable
from repertory.observability import get_logger

__all__ = ["Abandoned", "PartitionWorker"]

_log = get_logger("repertory.kafka.partition")
_REDELIVERY_DELAY = 0.2


def _seen(future: asyncio.Future[Any]) -> None:
    """Mark an outcome's exception as retrieved: when the worker closes, the commands it
    abandons fail with no one left to await them, and their records come back anyway."""
    if not future.cancelled():
        future.exception()


class Abandoned(Exception):
    """A batch cannot be committed by this worker (ownership is being lost); it stays
    uncommitted and the next owner gets its records again."""


class PartitionWorker:
    """Runs one partition from its first uncommitted offset (see the module doc).

    Args:
        context: what every partition of the edge shares.
        producer: this partition's started and proven transactional producer.
        on_progress: called after each commit (ingress resumes a paused partition).
        on_fenced: called once if the producer is fenced (ingress stops fetching it).
        on_unusable: called once if the producer became unusable without being fenced (the
            partition is still ours: ownership must be taken again with a fresh producer).
    """

    def __init__(
        self,
        context: EgressContext,
        producer: PartitionProducer,
        *,
        on_progress: Callable[[PartitionWorker], None],
        on_fenced: Callable[[PartitionWorker], None],
        on_unusable: Callable[[PartitionWorker], None],
    ) -> None:
        self.context = context
        self.producer = producer
        self.topic, self.partition = producer.tp.topic, producer.tp.partition
        self.in_flight = 0
        self.committed_commands = 0
        self.committed_offset = 0
        """The next offset to consume after the last commit (for the lag gauge)."""
        self._publishing: Sequence[RecordOutcome] = ()
        self._incoming: asyncio.Queue[list[SourceRecord]] = asyncio.Queue()
        self._ready: asyncio.Queue[list[Slot]] = asyncio.Queue()
        self._on_progress = on_progress
        self._on_fenced = on_fenced
        self._on_unusable = on_unusable
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: dict[str, deque[Delivery]] = {}
        """Per entity whose mailbox was full: its next commands, in offset order."""
        self._feeders: set[asyncio.Task[None]] = set()
        self._closing = False

    def __repr__(self) -> str:
        return (
            f"PartitionWorker({self.topic}/{self.partition}, in_flight={self.in_flight}, "
            f"committed={self.committed_commands})"
        )

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._intake(), name=f"intake-{self.topic}-{self.partition}"),
            asyncio.create_task(self._egress(), name=f"egress-{self.topic}-{self.partition}"),
        ]

    @property
    def publishing(self) -> int:
        """Events in the transaction being committed (for the unpublished-events gauge, so
        counted when it samples rather than per batch)."""
        return sum(len(outcome.changes) for outcome in self._publishing)

    def offer(self, records: Sequence[SourceRecord]) -> None:
        """Take consumed records (in offset order); they count as in flight until committed."""
        size = self.context.settings.max_batch_records
        for i in range(0, len(records), size):
            self._incoming.put_nowait(list(records[i : i + size]))
        self.in_flight += len(records)

    async def close(self) -> None:
        """Stop at once: uncommitted work is abandoned (its records come back to the next
        owner), the producer stops, and this partition's entities are passivated."""
        self._closing = True
        tasks = [*self._tasks, *self._feeders]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.producer.stop()
        context = self.context
        context.store.unwatch(self.topic, self.partition)
        partitions, mine = context.partitions, self.partition
        released = await context.runtime.release(
            lambda pid: partition_for(pid.encode(), partitions) == mine
        )
        _log.info("partition released", topic=self.topic, partition=mine, entities=released)

    # -- intake ------------------------------------------------------------------------------

    async def _intake(self) -> None:
        context = self.context
        types = context.runtime.types
        ingress = context.metrics.ingress if context.metrics is not None else None
        while True:
            records = await self._incoming.get()
            slots = []
            for record in records:
                slot = admit(
                    record,
                    partitions=context.partitions,
                    limits=context.limits,
                    encoder=context.encoder,
                    types=types,
                )
                if slot.outcome is None:
                    self._deliver(slot)
                elif ingress is not None and slot.reason is not None:
                    ingress.rejected.labels(slot.reason).inc()
                    ingress.dead_lettered.labels(slot.reason).inc()
                slots.append(slot)
            self._ready.put_nowait(slots)
            await asyncio.sleep(0)  # a long backlog of batches lets egress and entities run

    def _deliver(self, slot: Slot) -> None:
        """Hand the slot's command to its entity now, or queue it behind the entity's waiting
        commands (see the module doc); never waits."""
        envelope, record, entity_type = slot.envelope, slot.record, slot.entity_type
        assert envelope is not None and entity_type is not None
        slot.attempts += 1
        future = slot.future = asyncio.get_running_loop().create_future()
        future.add_done_callback(_seen)  # a closed worker never awaits it
        source = CommandSource(topic=record.topic, partition=record.partition, offset=record.offset)
        delivery = Delivery(
            slot.command, envelope.command_id, source, envelope.timestamp_ms / 1000, future
        )
        entity_id, key = envelope.entity_id, envelope.persistence_id
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append(delivery)
            return
        if self.context.runtime.offer(entity_type, entity_id, delivery) is not None:
            waiting = self._waiting[key] = deque((delivery,))
            feeder = asyncio.create_task(self._feed(key, entity_type, entity_id, waiting))
            self._feeders.add(feeder)
            feeder.add_done_callback(self._feeders.discard)

    async def _feed(
        self,
        key: str,
        entity_type: EntityType[Any, Any, Any],
        entity_id: str,
        waiting: deque[Delivery],
    ) -> None:
        """Move an entity's waiting commands into its mailbox, in order, as room appears.

        Each wait starts in the turn its offer found the mailbox full: room that appeared
        before (while this task was not running) would wake nobody.
        """
        runtime = self.context.runtime
        try:
            while waiting:
                full = runtime.offer(entity_type, entity_id, waiting[0])
                if full is not None:
                    await runtime.put(entity_type, entity_id, waiting[0], full)
                waiting.popleft()
        except Exception as exc:  # the runtime is stopping: the commands fail, unanswered
            for delivery in waiting:
                if delivery.future is not None and not delivery.future.done():
                    delivery.future.set_exception(exc)
            waiting.clear()
        finally:
            if self._waiting.get(key) is waiting:
                del self._waiting[key]

    # -- egress ------------------------------------------------------------------------------

    async def _egress(self) -> None:
        context = self.context
        try:
            while True:
                slots = await self._next_slots()
                outcomes = []
                for slot in slots:
                    outcome = slot.outcome or self._answered_now(slot)
                    outcomes.append(outcome or await self._resolve(slot))
                contents = build_contents(outcomes, context.encoder.change_record)
                self._publishing = outcomes
                await self.producer.publish(contents)
                self.committed_offset = contents.offsets[(self.topic, self.partition)]
                self._publishing = ()
                metrics = context.metrics
                if metrics is not None:
                    record_committed_batch(metrics, context.settings, slots, outcomes, contents)
                for pid, seq_nr in contents.committed.items():
                    context.runtime.mark_committed(pid, seq_nr)
                self.in_flight -= len(slots)
                self.committed_commands += len(slots)
                self._on_progress(self)
        except PartitionFenced as exc:
            _log.warning("partition fenced: another worker owns it", error=str(exc))
            self._on_fenced(self)
        except ProducerUnusable as exc:
            _log.warning("producer unusable: taking the partition again", error=str(exc))
            self._on_unusable(self)
        except Abandoned as exc:
            _log.info("batch abandoned uncommitted", topic=self.topic, reason=str(exc))
        except Exception as exc:  # a bug must not stall the partition silently: give it up
            _log.error(
                "egress failed; partition given up until the next assignment",
                topic=self.topic,
                partition=self.partition,
                error=repr(exc),
            )
            self._on_fenced(self)

    async def _next_slots(self) -> list[Slot]:
        """The next batch, merged with the batches queued behind it (up to the batch cap): a
        transaction costs several round trips, so under load fewer, larger ones keep up."""
        slots = await self._ready.get()
        cap = self.context.settings.max_batch_records
        while not self._ready.empty() and len(slots) < cap:
            slots.extend(self._ready.get_nowait())
        return slots

    def _answered_now(self, slot: Slot) -> RecordOutcome | None:
        """The outcome of a command already answered after storing events (the usual case
        under load), built without ``_resolve``'s awaits; else None."""
        future = slot.future
        if future is None or not future.done() or future.cancelled() or future.exception():
            return None
        outcome = self._captured(slot.record)
        if outcome is None:
            return None  # no events, or republished ones: ``_resolve`` finds out which
        slot.outcome = self._with_reply(slot, outcome, future.result())
        return slot.outcome

    async def _resolve(self, slot: Slot) -> RecordOutcome:
        """Wait for one command's outcome and turn it into what the transaction carries."""
        while slot.outcome is None:
            assert slot.future is not None and slot.envelope is not None
            try:
                value: Any = await slot.future
            except Exception as exc:
                if await self._redelivered(slot, exc):
                    continue
                slot.outcome = await self._failed(slot, exc)
            else:
                slot.outcome = await self._answered(slot, value)
        return slot.outcome

    async def _answered(self, slot: Slot, value: Any) -> RecordOutcome:
        return self._with_reply(slot, await self._published_events(slot.record), value)

    def _with_reply(self, slot: Slot, outcome: RecordOutcome, value: Any) -> RecordOutcome:
        assert slot.envelope is not None
        reply = self.context.encoder.reply_record(slot.envelope, value)
        if reply is not None:
            outcome.out.append(reply)
        return outcome

    async def _failed(self, slot: Slot, error: Exception) -> RecordOutcome:
        envelope, record, context = slot.envelope, slot.record, self.context
        assert envelope is not None
        if isinstance(error, ActorDeadError):  # the supervisor gave up on this command
            context.stopped_commands.discard(envelope.command_id)
            if context.metrics is not None:
                context.metrics.ingress.dead_lettered.labels(STOPPED_ENTITY).inc()
            return condemn(record, envelope, STOPPED_ENTITY, error, context.encoder)
        outcome = await self._published_events(record)
        if isinstance(error, DuplicateCommand | WriteRejected) or not isinstance(
            error, RepertoryError
        ):
            failure = context.encoder.failure_record(envelope, error)
            if failure is not None:
                outcome.out.append(failure)
        return outcome

    async def _redelivered(self, slot: Slot, error: Exception) -> bool:
        """Whether a failed command is tried again rather than given an outcome.

        An entity that died without its supervisor giving the command up (recovery failed,
        say) must not lose it: it is delivered again. A write whose outcome is unknown only
        fails an ask when the entity is being released: the batch is abandoned.

        Raises:
            Abandoned: this worker is losing the partition.
        """
        assert slot.envelope is not None
        if self._closing or isinstance(error, WriteOutcomeUnknown):
            raise Abandoned(f"[{slot.record.where()}] unsettled: {error!r}")
        if not isinstance(error, ActorDeadError):
            return False
        if slot.envelope.command_id in self.context.stopped_commands:
            return False
        _log.warning(
            "entity died before answering; delivering the command again",
            command_id=slot.envelope.command_id,
            attempt=slot.attempts,
            error=repr(error),
        )
        await asyncio.sleep(min(5.0, _REDELIVERY_DELAY * slot.attempts))
        self._deliver(slot)
        return True

    def _captured(self, record: SourceRecord) -> RecordOutcome | None:
        """The state changes and emitted commands the record's command just stored, if any."""
        captured = self.context.store.take((record.topic, record.partition, record.offset))
        if captured is None:
            return None
        return RecordOutcome(record, captured.changes, captured.emits, captured.journaled_at)

    async def _published_events(self, record: SourceRecord) -> RecordOutcome:
        """The state changes and emitted commands of the record's command: just stored, or
        stored earlier by a writer whose transaction never committed (republished)."""
        outcome = self._captured(record)
        if outcome is not None:
            return outcome
        replayed = self.context.store.take_replayed((record.topic, record.partition, record.offset))
        if replayed is None:
            return RecordOutcome(record)
        pid, events = replayed
        seq_nrs = [event.seq_nr for event in events]
        changes = await self.context.republish(pid, min(seq_nrs), max(seq_nrs))
        wanted = set(seq_nrs)
        emits = [r for e in events for r in self.context.encoder.emitted(pid, e)]
        return RecordOutcome(record, [c for c in changes if c.seq_nr in wanted], emits)

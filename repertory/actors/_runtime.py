"""The entity runtime: owns every entity task, the write batcher and the passivation timer.

``async with EntityRuntime(store, [account]) as runtime:`` — entities are created on first use
by id, run one command at a time, write through one batcher, and are passivated when idle or
when the active-entity cap needs room. Leaving the block stops everything at once: pending asks
fail (``WriteOutcomeUnknown`` when their write was in flight, ``ActorDeadError`` otherwise).
``await runtime.aclose(drain=True, timeout=...)`` first lets the entities finish what they hold.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

from repertory.actors._after_commit import run_side_effects, send_emits
from repertory.actors._batcher import WriteBatcher
from repertory.actors._clock import Clock, SystemClock
from repertory.actors._deadlines import AskDeadlines
from repertory.actors._delivery import Delivery
from repertory.actors._effect import Emit
from repertory.actors._entity import Entity
from repertory.actors._entity_metrics import EntityMetrics, StopReason
from repertory.actors._entity_type import EntityType
from repertory.actors._passivation import Passivation
from repertory.actors._ref import ActorRef
from repertory.actors._snapshot_policy import Snapshots
from repertory.actors._store import CommandSource, EventStore, Recovery
from repertory.actors.supervision import Backoff
from repertory.config import EntitySettings
from repertory.errors import ActorDeadError, ActorError
from repertory.observability import get_logger
from repertory.observability.metrics import ActorMetrics

__all__ = ["DeadLetterHandler", "EmitHandler", "EntityRuntime"]

_log = get_logger("repertory.actors.runtime")

C = TypeVar("C")

EmitHandler = Callable[[str, int, tuple[tuple[str, Emit], ...]], Coroutine[Any, Any, None] | None]
"""``(persistence id, seq_nr, ((command id, emit), ...))``: hands emitted commands on (to Kafka,
or the outbox relay); a coroutine it returns runs as a runtime task, a plain function runs in
the emitting entity's turn (so it must not run other entities there)."""

DeadLetterHandler = Callable[[str, Any, str, str], object]
"""``(persistence id, command, command id, reason)``: called for commands given up on."""


class EntityRuntime:
    """Runs entities of the given types over ``store`` (an async context manager).

    Args:
        store: the event store (a journal behind an adapter, or a fake).
        entity_types: every type this runtime hosts.
        settings: the ``entities`` settings section (defaults if omitted).
        clock: time for every timer (``ManualClock`` in tests).
        snapshots_wait_for_commit: hold snapshots until :meth:`mark_committed` says their last
            event is committed (Kafka mode); if false they are saved once stored (embedded).
        on_emit: delivers emitted commands (Kafka mode); default: tell the local entities.
        on_dead_letter: receives commands given up on; default: logged.
        metrics: records entity lifecycles, mailbox depths and command times; None records
            nothing (and costs nothing per command).
    """

    def __init__(
        self,
        store: EventStore,
        entity_types: Iterable[EntityType[Any, Any, Any]],
        *,
        settings: EntitySettings | None = None,
        clock: Clock | None = None,
        snapshots_wait_for_commit: bool = False,
        on_emit: EmitHandler | None = None,
        on_dead_letter: DeadLetterHandler | None = None,
        metrics: ActorMetrics | None = None,
    ) -> None:
        self.store = store
        self.size_of = store.size_of  # bound once: group commit asks it for every event
        self.settings = settings or EntitySettings()
        self.clock: Clock = clock or SystemClock()
        self.types = {entity_type.name: entity_type for entity_type in entity_types}
        self.type_metrics: dict[str, EntityMetrics] = (
            {name: EntityMetrics(metrics, name) for name in self.types}
            if metrics is not None
            else {}
        )
        """Each hosted type's metrics, empty when none are recorded (see ``Entity.metrics``)."""
        self._on_emit = on_emit
        self._on_dead_letter = on_dead_letter
        self._group: asyncio.TaskGroup | None = None
        self._closed = True
        self._rng = random.Random()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.snapshots = Snapshots(store, self.spawn, snapshots_wait_for_commit)
        self.passivation = Passivation(self)
        self._active = self.passivation.by_type
        self._mailbox_size = self.settings.mailbox_size
        self.batcher = WriteBatcher(
            store,
            self.spawn,
            max_in_flight=self.settings.batcher_max_in_flight,
            max_writes=self.settings.batcher_max_writes,
            max_bytes=self.settings.batcher_max_bytes,
        )
        self.ask_deadlines = AskDeadlines(self.clock)
        self.dead_letters = 0
        self.empty_recovery: Callable[[str], Recovery | None] | None = getattr(
            store, "empty_recovery", None
        )
        self.draining = False
        self._settled: asyncio.Future[None] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"EntityRuntime(types={sorted(self.types)}, active={self.passivation.active})"

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> EntityRuntime:
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._closed = False
        self.passivation.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(None, exc_type, exc, tb)

    async def aclose(self, *, drain: bool = False, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Stop the runtime; leaving ``async with`` afterwards does nothing more.

        Args:
            drain: first refuse new commands (``ActorDeadError``) and let every entity finish
                what it holds — queued commands, writes in flight, retries of unknown outcomes
                — so pending asks get their answers; whatever is left at ``timeout`` fails as
                on an immediate stop.
            timeout: seconds, on the runtime's clock, that draining may take.

        Raises:
            ExceptionGroup: an entity escalated a failure, or a runtime task failed.
        """
        await self._close(timeout if drain else None, None, None, None)

    async def _close(
        self,
        drain_timeout: float | None,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        group = self._group
        if group is None:
            if self._stopped:
                return  # closed already (by aclose)
            raise RuntimeError("the entity runtime was not entered")
        self._closed = True
        if drain_timeout is not None:
            await self._drain(drain_timeout)
        self.batcher.close()
        for entity in self.passivation.all_entities():
            if entity.task is not None:
                entity.task.cancel()
            else:
                entity.abandon()
            if entity.metrics is not None:
                entity.metrics.stopped("shutdown")
        for task in list(self._tasks):
            task.cancel()
        self.passivation.clear()
        self._group = None
        self._stopped = True
        await group.__aexit__(exc_type, exc, tb)

    async def _drain(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            self.entity_settled()

        self.draining = True
        timer = self.clock.call_later(seconds, expire)
        try:
            while not expired and any(not e.idle for e in self.passivation.all_entities()):
                self._settled = loop.create_future()
                await self._settled
        finally:
            timer.cancel()
            self.draining = False
            self._settled = None

    def entity_settled(self) -> None:
        """While draining: an entity went idle or stopped (the drain looks again)."""
        settled = self._settled
        if settled is not None and not settled.done():
            settled.set_result(None)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start ``coro`` as a task owned by this runtime."""
        if self._group is None:
            coro.close()
            raise ActorDeadError("the entity runtime is not running")
        task = self._group.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def spawn_entity_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start an entity's supervised loop (not tracked: entities are cancelled one by one)."""
        if self._group is None:
            coro.close()
            raise ActorDeadError("the entity runtime is not running")
        return self._group.create_task(coro)

    # -- addressing -------------------------------------------------------------------------

    def ref(self, entity_type: EntityType[Any, C, Any] | str, entity_id: str) -> ActorRef[C]:
        """A reference to one entity (created on its first command)."""
        if isinstance(entity_type, str):
            entity_type = self.entity_type(entity_type)
        elif self.types.get(entity_type.name) is not entity_type:
            raise ValueError(f"entity type [{entity_type.name}] is not hosted by this runtime")
        if not entity_id:
            raise ValueError("an entity id must not be empty")
        return ActorRef(self, entity_type, entity_id)

    def entity_type(self, name: str) -> EntityType[Any, Any, Any]:
        """The hosted type called ``name`` (``ValueError`` if there is none)."""
        try:
            return self.types[name]
        except KeyError:
            raise ValueError(f"unknown entity type [{name}]") from None

    async def deliver(
        self,
        entity_type: EntityType[Any, Any, Any],
        entity_id: str,
        command: Any,
        command_id: str,
        source: CommandSource | None,
        timestamp: float | None,
        future: asyncio.Future[Any] | None,
    ) -> None:
        """Queue one command for an entity, waiting while its mailbox is full.

        Raises:
            ActorDeadError: the runtime is stopped (or draining).
        """
        stamp = self.clock.now() if timestamp is None else timestamp
        delivery = Delivery(command, command_id, source, stamp, future)
        full = self.offer(entity_type, entity_id, delivery)
        if full is not None:
            await self.put(entity_type, entity_id, delivery, full)

    def offer(
        self,
        entity_type: EntityType[Any, Any, Any],
        entity_id: str,
        delivery: Delivery,
        now: float | None = None,
    ) -> Entity | None:
        """Queue ``delivery`` if the entity's mailbox has room (None); else the full entity.

        ``now`` is the clock's time if the caller has just read it (one clock read per command).

        Raises:
            ActorDeadError: the runtime is stopped (or draining).
        """
        if self._closed:
            raise ActorDeadError("the entity runtime is stopped")
        if now is None:
            now = self.clock.now()
        # ``passivation.activate`` spelled out for an active entity: this runs for every command.
        entities = self._active.get(entity_type.name)
        if entities is not None and (entity := entities.get(entity_id)) is not None:
            entities.move_to_end(entity_id)
            entity.last_used = now
        else:
            entity = self.passivation.activate(entity_type, entity_id, now)
        mailbox = entity.mailbox
        if mailbox is None or len(mailbox) < self._mailbox_size:
            entity.enqueue(delivery, now)
            return None
        return entity

    async def put(
        self,
        entity_type: EntityType[Any, Any, Any],
        entity_id: str,
        delivery: Delivery,
        full: Entity,
    ) -> None:
        """Wait for room in ``full``'s mailbox and queue ``delivery`` (backpressure)."""
        while True:
            await full.wait_for_space()
            entity = self.offer(entity_type, entity_id, delivery)
            if entity is None:
                return
            full = entity

    def remove(self, entity: Entity, reason: StopReason) -> None:
        """Forget a stopped entity (the next command recovers it)."""
        if self.passivation.forget(entity) and entity.metrics is not None:
            entity.metrics.stopped(reason)
        entity.release_putters()
        if self.draining:
            self.entity_settled()

    async def release(self, owned: Callable[[str], bool]) -> int:
        """Stop, at once, every entity whose persistence id ``owned`` says we lost.

        Used when ownership moves (a Kafka partition is revoked). Pending asks fail with
        ``WriteOutcomeUnknown`` (write in flight, maybe retrying) or ``ActorDeadError``.

        Returns:
            How many entities were stopped.
        """
        lost = [e for e in self.passivation.all_entities() if owned(e.persistence_id)]
        tasks = []
        for entity in lost:
            if entity.task is not None:
                tasks.append(entity.task)
                entity.task.cancel()
            else:
                entity.abandon()
            self.remove(entity, "released")
            self.snapshots.forget(entity.persistence_id)
        if tasks:
            await asyncio.wait(tasks)
        return len(lost)

    # -- what entities call back --------------------------------------------------------------

    def unknown_write_backoff(self, attempt: int) -> float:
        backoff = Backoff(
            min_delay=self.settings.unknown_write_min_backoff,
            max_delay=self.settings.unknown_write_max_backoff,
            jitter=0.2,
        )
        return backoff.delay(attempt, self._rng)

    def mark_committed(self, persistence_id: str, seq_nr: int) -> None:
        """The entity's events up to ``seq_nr`` are committed (published): a snapshot held for
        them may be saved now."""
        self.snapshots.committed(persistence_id, seq_nr)

    def run_side_effects(
        self, entity: Entity, side_effects: tuple[Callable[[Any], object], ...], state: Any
    ) -> None:
        run_side_effects(self, entity.persistence_id, entity.seq_nr, side_effects, state)

    def send_emits(self, entity: Entity, seq_nr: int, emits: tuple[Emit, ...]) -> None:
        """Send emitted commands, ids derived from the emitting event."""
        send_emits(self, self._on_emit, entity.persistence_id, seq_nr, emits)

    def dead_letter(self, entity: Entity, delivery: Delivery, reason: str) -> None:
        self.dead_letters += 1
        if self._on_dead_letter is not None:
            self._on_dead_letter(
                entity.persistence_id, delivery.command, delivery.command_id, reason
            )
        else:
            _log.warning(
                "dead letter",
                persistence_id=entity.persistence_id,
                command_id=delivery.command_id,
                reason=reason,
            )

    def escalate(self, error: ActorError) -> None:
        """Fail the runtime: the error leaves ``async with`` (in an ExceptionGroup)."""

        async def fail() -> None:
            raise error

        self.spawn(fail())

    def statistics(self) -> dict[str, int]:
        """Active and busy entities, held snapshots, dead letters, and the batcher's counts."""
        entities = self.passivation.all_entities()
        return {
            "active": len(entities),
            "busy": sum(1 for entity in entities if not entity.idle),
            "held_snapshots": len(self.snapshots),
            "dead_letters": self.dead_letters,
            "passivated": self.passivation.passivated,
            **{f"batcher_{k}": v for k, v in self.batcher.statistics().items()},
        }

"""The composition root: an engine built from settings, run inside the caller's event loop.

::

    async with Engine(settings, entities=[account], registry=registry) as engine:
        balance = await engine.ask("account", "42", Deposit(amount=5), timeout=2.0)

In Kafka mode (``kafka.enabled``) every ask and tell travels through the commands topic, so
each entity has one writer (the owner of its partition) and every command can be redelivered;
asks name the replies topic as reply-to and wait there. Embedded (no Kafka) they reach the
entity runtime directly, and emitted commands go through the journal's outbox.

Every Kafka client uses the ``kafka_security`` options and the journal's Cassandra session the
``cassandra_security`` ones. With ``observability.metrics_port`` set, the engine serves
``/metrics``, ``/healthz`` and ``/readyz`` (journal reachable; in Kafka mode, partitions
assigned) and its layers record their metrics; with it at 0 nothing is recorded.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from repertory._engine_collector import tuned_collector
from repertory._engine_observability import start_observability
from repertory._engine_parts import open_stores
from repertory._outbox_relay import OutboxRelay
from repertory.actors import ActorRef, Emit, EntityRuntime, EntityType, JournalEventStore
from repertory.actors.journal_store import KNOWN_ENTITIES_LIMIT
from repertory.config import Settings
from repertory.errors import ActorDeadError
from repertory.kafka import (
    CapturingStore,
    CommandClient,
    EdgeGauges,
    EgressContext,
    EgressEncoder,
    KafkaEdge,
    commands_partitions,
    kafka_client_options,
    partition_for,
)
from repertory.observability import get_logger
from repertory.observability.http import ObservabilityServer, ReadinessCheck
from repertory.observability.metrics import RepertoryMetrics, default_metrics
from repertory.persistence import EntityIndex, Journal, Outbox, PersistenceId
from repertory.protocols import (
    CommandEnvelope,
    InputLimits,
    Message,
    Serializer,
    StateChange,
    TypeRegistry,
)

__all__ = ["Engine", "tuned_collector"]

_log = get_logger("repertory.engine")
_READINESS_PROBE = PersistenceId("repertory-readiness", "probe")
"""An entity nobody writes: reading its chain tip is the journal's cheapest real query."""


class Engine:
    """One engine: journal, entity runtime and (in Kafka mode) the Kafka edges.

    Args:
        settings: every section, validated.
        entities: the entity types this engine hosts.
        registry: every command, event, reply and state type that crosses a boundary.
    """

    def __init__(
        self,
        settings: Settings,
        entities: Iterable[EntityType[Any, Any, Any]],
        *,
        registry: TypeRegistry,
    ) -> None:
        self.settings = settings
        self.entity_types = list(entities)
        limits = InputLimits(**settings.protocols.model_dump())
        self.serializer = Serializer(registry, limits)
        self.journal: Journal | None = None
        self.runtime: EntityRuntime | None = None
        self.edge: KafkaEdge | None = None
        self.client: CommandClient | None = None
        self._store: JournalEventStore | None = None
        self.relay: OutboxRelay | None = None
        self._stopped_commands: set[str] = set()
        self._stack: AsyncExitStack | None = None
        self.metrics: RepertoryMetrics | None = (
            default_metrics if settings.observability.metrics_port else None
        )
        self.observability: ObservabilityServer | None = None

    def __repr__(self) -> str:
        mode = "kafka" if self.settings.kafka.enabled else "embedded"
        return f"Engine({mode}, types={[t.name for t in self.entity_types]}, edge={self.edge!r})"

    @property
    def kafka_mode(self) -> bool:
        return self.settings.kafka.enabled

    async def __aenter__(self) -> Engine:
        async with AsyncExitStack() as stack:
            self.observability = await start_observability(
                stack, self.settings, self._readiness_checks()
            )
            if self.kafka_mode:
                await self._start_kafka(stack)
            else:
                await self._start_embedded(stack)
            process = self.settings.process
            if process.gc == "tuned":  # last: what start-up made is frozen
                stack.enter_context(tuned_collector(process.gc_young_threshold))
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if self.observability is not None:
            self.observability.drain()
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    # -- start-up ---------------------------------------------------------------------------

    async def _open(self, stack: AsyncExitStack, partitions: int | None) -> JournalEventStore:
        journal, snapshots = await open_stores(self.settings, partitions)
        stack.push_async_callback(snapshots.aclose)
        stack.push_async_callback(journal.aclose)
        self.journal = journal
        self._store = JournalEventStore(
            journal,
            snapshots,
            self.serializer,
            metrics=self.metrics,
            end_to_end=not self.kafka_mode,  # in Kafka mode egress records it on publish
            on_zombie=self._zombie if self.kafka_mode else None,
        )
        return self._store

    def _readiness_checks(self) -> dict[str, ReadinessCheck]:
        checks: dict[str, ReadinessCheck] = {"journal": self._journal_ready}
        if self.kafka_mode:
            checks["partitions"] = self._partitions_ready
        return checks

    async def _journal_ready(self) -> bool:
        """The journal answers a real read (``JournalUnavailable`` says why it does not)."""
        if self.journal is None:
            return False
        await self.journal.highest_seq_nr(_READINESS_PROBE)
        return True

    async def _partitions_ready(self) -> bool:
        """This member joined the group and acquired what it was assigned (maybe nothing: a
        member beyond the partition count is idle, not broken)."""
        edge = self.edge
        return edge is not None and edge.ownership is not None and edge.ownership.rebalances > 0

    async def _start_runtime(self, stack: AsyncExitStack, runtime: EntityRuntime) -> None:
        await stack.enter_async_context(runtime)
        self.runtime = runtime

    async def _start_embedded(self, stack: AsyncExitStack) -> None:
        store = await self._open(stack, None)
        assert self.journal is not None
        store.epoch = await self.journal.claim_epoch()
        if isinstance(self.journal, EntityIndex):  # new entities then start without a read
            store.know_entities(await self.journal.known_entities(KNOWN_ENTITIES_LIMIT))
        outbox = self.journal if isinstance(self.journal, Outbox) else None
        relay = OutboxRelay(outbox, self.serializer) if outbox is not None else None
        runtime = EntityRuntime(
            store,
            self.entity_types,
            settings=self.settings.entities,
            on_emit=relay.emitted if relay is not None else None,
            metrics=self.metrics.actors if self.metrics is not None else None,
        )
        await self._start_runtime(stack, runtime)
        if relay is not None:
            relay.attach(runtime)
            self.relay = relay
            task = asyncio.create_task(relay.run(), name="outbox-relay")
            stack.push_async_callback(_cancel, task)

    async def _start_kafka(self, stack: AsyncExitStack) -> None:
        settings, security = self.settings.kafka, self.settings.kafka_security
        options = kafka_client_options(security)  # holds the password: never log it
        partitions = await commands_partitions(settings, security, options)
        store = await self._open(stack, partitions)
        encoder = EgressEncoder(self.serializer, settings)
        capture = CapturingStore(store, encoder, lambda: store.epoch)
        runtime = EntityRuntime(
            capture,
            self.entity_types,
            settings=self.settings.entities,
            snapshots_wait_for_commit=True,
            on_emit=_ignore_emits,  # emitted commands travel in the egress transaction
            on_dead_letter=self._given_up,
            metrics=self.metrics.actors if self.metrics is not None else None,
        )
        await self._start_runtime(stack, runtime)

        def context(count: int) -> EgressContext:
            return EgressContext(
                settings=settings,
                runtime=runtime,
                store=capture,
                encoder=encoder,
                limits=self.serializer.limits,
                partitions=count,
                republish=self._republish,
                group_id=settings.group_id,
                stopped_commands=self._stopped_commands,
                client_options=options,
                metrics=self.metrics,
            )

        edge = KafkaEdge(
            settings,
            context,
            self._claim_epoch,
            partitions,
            client_options=options,
            metrics=self.metrics,
        )
        self.edge = edge
        await edge.start()
        stack.push_async_callback(edge.stop)
        if self.metrics is not None:
            gauges = EdgeGauges(edge, self.metrics)
            stack.callback(gauges.forget)
            task = asyncio.create_task(gauges.run(), name="kafka-gauges")
            stack.push_async_callback(_cancel, task)
        self.client = CommandClient(settings, self.serializer, options)
        await self.client.start()
        stack.push_async_callback(self.client.stop)

    def _zombie(self, persistence_id: str, chain_epoch: int) -> None:
        """An activation found the entity's chain continued by a newer epoch: another worker
        owns its partition now, so this one gives the partition up (and writes nothing)."""
        edge = self.edge
        if edge is None:
            return
        partition = partition_for(persistence_id.encode(), edge.partitions)
        _log.warning(
            "zombie writer for an entity; giving its partition up",
            persistence_id=persistence_id,
            chain_epoch=chain_epoch,
            epoch=self._store.epoch if self._store else None,
            partition=partition,
        )
        edge.give_up(partition)

    async def _claim_epoch(self) -> int:
        assert self.journal is not None and self._store is not None
        epoch = await self.journal.claim_epoch()
        self._store.epoch = epoch
        return epoch

    async def _republish(self, persistence_id: str, first: int, last: int) -> list[StateChange]:
        assert self.journal is not None
        rows = self.journal.replay(PersistenceId.parse(persistence_id), first, last)
        return [EgressEncoder.journaled_change(row) async for row in rows]

    def _given_up(self, persistence_id: str, command: Any, command_id: str, reason: str) -> None:
        self._stopped_commands.add(command_id)
        _log.warning(
            "command given up", persistence_id=persistence_id, command_id=command_id, reason=reason
        )

    # -- the embedding API ----------------------------------------------------------------------

    async def ask(
        self,
        entity_type: str,
        entity_id: str,
        command: Message,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the actor vocabulary (pykka's ask)
        command_id: str | None = None,
    ) -> Any:
        """Send ``command`` to one entity and wait for its reply.

        Args:
            timeout: seconds; default ``kafka.ask_timeout`` (Kafka) or ``entities.ask_timeout``.
            command_id: for dedupe; a fresh one by default (pass the same to resend safely).

        Raises:
            AskTimeout: no reply in time.
            CommandFailed: (Kafka mode) the entity rejected the command or gave it up.
            Exception: (embedded) the error of ``Effect.reject``.
        """
        command_id = command_id or uuid.uuid4().hex
        if self.client is not None:
            envelope = self._envelope(entity_type, entity_id, command, command_id, reply=True)
            wait = timeout if timeout is not None else self.settings.kafka.ask_timeout
            return await self.client.ask(envelope, wait)
        runtime = self._running()
        wait = timeout if timeout is not None else runtime.settings.ask_timeout
        ref: ActorRef[Any] = runtime.ref(entity_type, entity_id)
        return await ref.ask(command, timeout=wait, command_id=command_id)

    async def tell(
        self, entity_type: str, entity_id: str, command: Message, *, command_id: str | None = None
    ) -> str:
        """Send ``command`` without waiting for its outcome; returns its command id."""
        command_id = command_id or uuid.uuid4().hex
        if self.client is not None:
            envelope = self._envelope(entity_type, entity_id, command, command_id, reply=False)
            await self.client.tell(envelope)
        else:
            ref: ActorRef[Any] = self._running().ref(entity_type, entity_id)
            await ref.tell(command, command_id=command_id)
        return command_id

    def _envelope(
        self, entity_type: str, entity_id: str, command: Message, command_id: str, *, reply: bool
    ) -> CommandEnvelope:
        type_name, version, payload = self.serializer.encode_message(command)
        return CommandEnvelope(
            command_id=command_id,
            entity_type=entity_type,
            entity_id=entity_id,
            message_type=type_name,
            schema_version=version,
            timestamp_ms=int(time.time() * 1000),
            payload=payload,
            reply_to=self.settings.kafka.replies_topic if reply else None,
        )

    def _running(self) -> EntityRuntime:
        if self.runtime is None:
            raise ActorDeadError("the engine is not running")
        return self.runtime

    def statistics(self) -> dict[str, int]:
        """The runtime's counts, and the Kafka edge's in Kafka mode."""
        stats = dict(self.runtime.statistics()) if self.runtime else {}
        if self.edge is not None:
            stats.update({f"kafka_{k}": v for k, v in self.edge.statistics().items()})
        return stats


def _ignore_emits(source: str, seq_nr: int, numbered: tuple[tuple[str, Emit], ...]) -> None:
    """Emitted commands leave through the egress transaction, not from here."""


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

"""The Kafka edge of an engine: the commands-topic consumer, its poll loop and backpressure.

The poll loop only fetches and hands records to the owning partition's worker; everything
slow (mailboxes, journal writes, transactions) happens in the workers, so one slow partition
never stalls the others. A partition with too many commands in flight is held — never
dropped — until its commits bring it back under half the bound.

Holding leaves the partition out of the poll rather than pausing it: the client discards what
it prefetched for a paused partition and fetches (and decodes) it again on resume, which cost
a third of all records consumed under a backlog. Only when every owned partition has been held
for ``_STALL_SECONDS`` (a write being retried, say) are they paused, so that the loop can keep
polling and the group keeps this member.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from repertory.config import KafkaSecuritySettings, KafkaSettings
from repertory.errors import ConfigError, JournalMismatch
from repertory.kafka._egress_context import EgressContext
from repertory.kafka._ownership import Ownership
from repertory.kafka._partition import PartitionWorker
from repertory.kafka._records import source_record
from repertory.kafka._security import start_client
from repertory.observability import get_logger
from repertory.observability.metrics import RepertoryMetrics

__all__ = ["KafkaEdge", "commands_partitions", "consumer_options", "topic_partitions"]

_log = get_logger("repertory.kafka.edge")
_POLL_MS = 100
_STALL_SECONDS = 5.0


def consumer_options(settings: KafkaSettings) -> dict[str, Any]:
    """Safe consumer settings: no auto-commit, committed records only."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
        "auto_offset_reset": "earliest",
        "fetch_max_bytes": settings.fetch_max_bytes,
        "max_partition_fetch_bytes": settings.max_partition_fetch_bytes,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "request_timeout_ms": settings.request_timeout_ms,
    }


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str, wait: float = 30.0) -> int:
    """The topic's partition count, waiting up to ``wait`` seconds for its metadata.

    Raises:
        ConfigError: the topic does not exist (the engine never creates topics: their
            partition count is a decision, see the settings reference).
    """
    try:
        async with asyncio.timeout(wait):
            while True:
                found = consumer.partitions_for_topic(topic)
                if found:
                    return len(found)
                await consumer._client.force_metadata_update()  # no public metadata refresh
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise ConfigError(
            f"topic [{topic}] not found within [{wait}]s: create it (with the partition count "
            "you will keep for the commands topic), or fix the kafka.*_topic setting"
        ) from None


class KafkaEdge:
    """Consumes the commands topic as a group member and runs the owned partitions.

    Args:
        settings: the ``kafka`` section.
        context_factory: builds the shared worker context once the partition count is known.
        claim_epoch: claims a writer epoch for an assignment (see ``Ownership``).
        expected_partitions: the partition count recorded in the journal, if any; a
            different count refuses to start.
        client_options: TLS and SASL options (``kafka_client_options``) for the consumer.
        metrics: where ingress records (None: nothing is recorded).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        context_factory: Callable[[int], EgressContext],
        claim_epoch: Callable[[], Awaitable[int]],
        expected_partitions: int | None = None,
        *,
        client_options: dict[str, Any] | None = None,
        metrics: RepertoryMetrics | None = None,
    ) -> None:
        self.settings = settings
        self._context_factory = context_factory
        self._claim_epoch = claim_epoch
        self._expected = expected_partitions
        self.metrics = metrics
        self.consumer = AIOKafkaConsumer(
            group_id=settings.group_id,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            max_poll_interval_ms=settings.max_poll_interval_ms,
            **consumer_options(settings),
            **(client_options or {}),
        )
        self.ownership: Ownership | None = None
        self.partitions = 0
        self._task: asyncio.Task[None] | None = None
        self._held: dict[TopicPartition, PartitionWorker] = {}
        """Partitions left out of the poll, with the worker that was full."""
        self._room = asyncio.Event()

    def __repr__(self) -> str:
        return f"KafkaEdge({self.settings.commands_topic!r}, {self.ownership!r})"

    async def start(self) -> None:
        """Join the group and start polling (assignment happens in the background).

        Raises:
            JournalMismatch: the topic's partition count is not the journal's recorded one.
        """
        consumer = self.consumer
        await consumer.start()
        try:
            topic = self.settings.commands_topic
            self.partitions = await topic_partitions(consumer, topic)
            if self._expected is not None and self._expected != self.partitions:
                raise JournalMismatch(
                    f"topic [{topic}] has [{self.partitions}] partitions; the journal records "
                    f"[{self._expected}]: resizing is an offline step"
                )
            context = self._context_factory(self.partitions)
            self.ownership = Ownership(context, consumer, self._claim_epoch, self._progress)
            consumer.subscribe([topic], listener=self.ownership)
        except BaseException:
            await consumer.stop()
            raise
        self._task = asyncio.create_task(self._poll(), name="kafka-ingress")

    async def stop(self) -> None:
        """Stop polling, abandon uncommitted work, leave the group."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.ownership is not None:
            await self.ownership.release()
        await self.consumer.stop()

    async def _poll(self) -> None:
        consumer = self.consumer
        limit = self.settings.max_in_flight_per_partition
        ingress = self.metrics.ingress if self.metrics is not None else None
        stalled_since: float | None = None
        while True:
            ownership = self.ownership
            assert ownership is not None
            open_tps = self._open_partitions(ownership.workers)
            if ownership.workers and not open_tps:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since < _STALL_SECONDS:
                    await self._wait_for_room()
                    continue
                consumer.pause(*self._held)  # keep polling: the group must see this member
            else:
                stalled_since = None
            fetched = await consumer.getmany(
                *open_tps, timeout_ms=_POLL_MS, max_records=self.settings.max_poll_records
            )
            for tp, records in fetched.items():
                worker = ownership.workers.get(tp)
                if worker is None:
                    continue  # dropped (fenced) or already released: not ours to process
                worker.offer([source_record(r) for r in records])
                if ingress is not None:
                    ingress.consumed(tp.partition, len(records))
                if worker.in_flight >= limit:
                    self._held[tp] = worker

    def _open_partitions(
        self, workers: dict[TopicPartition, PartitionWorker]
    ) -> list[TopicPartition]:
        """The owned partitions with room for more commands. A hold ends with its worker: a
        partition revoked, or owned again by a fresh worker, is not held."""
        held = self._held
        for tp in [tp for tp, worker in held.items() if workers.get(tp) is not worker]:
            del held[tp]
        return [tp for tp in workers if tp not in held]

    async def _wait_for_room(self) -> None:
        """Until a held partition has room, or one poll interval (ownership may change)."""
        self._room.clear()
        try:
            async with asyncio.timeout(_POLL_MS / 1000):
                await self._room.wait()
        except TimeoutError:
            pass

    def _progress(self, worker: PartitionWorker) -> None:
        tp = worker.producer.tp
        if (
            self._held.get(tp) is worker
            and worker.in_flight <= self.settings.max_in_flight_per_partition // 2
        ):
            del self._held[tp]
            if tp in self.consumer.paused():
                self.consumer.resume(tp)
            self._room.set()

    def held(self) -> set[TopicPartition]:
        """The owned partitions not fetched for now (backpressure, a write being retried)."""
        return set(self._held)

    def give_up(self, partition: int) -> bool:
        """Stop processing ``partition`` until the next assignment: a newer owner writes its
        entities (see ``JournalEventStore``'s zombie check). False when it is not ours."""
        ownership = self.ownership
        if ownership is None:
            return False
        return ownership.give_up(TopicPartition(self.settings.commands_topic, partition))

    def statistics(self) -> dict[str, int]:
        """Owned, paused and dropped partitions, the epoch, commands in flight and committed."""
        ownership = self.ownership
        workers = list(ownership.workers.values()) if ownership else []
        return {
            "owned": len(workers),
            "paused": len(self._held),
            "dropped": len(ownership.dropped) if ownership else 0,
            "epoch": ownership.epoch if ownership else 0,
            "in_flight": sum(w.in_flight for w in workers),
            "committed": sum(w.committed_commands for w in workers),
        }


async def commands_partitions(
    settings: KafkaSettings,
    security: KafkaSecuritySettings | None = None,
    client_options: dict[str, Any] | None = None,
) -> int:
    """The commands topic's partition count, asked with a short-lived client (the journal
    records it, or checks it, before the engine joins the group).

    This is the engine's first contact with Kafka, so it starts through ``start_client``.

    Raises:
        AuthenticationFailed: the login or TLS handshake was refused, or nothing answered.
    """
    security = security or KafkaSecuritySettings()
    consumer = AIOKafkaConsumer(**consumer_options(settings), **(client_options or {}))
    await start_client(consumer, security, bootstrap_servers=settings.bootstrap_servers)
    try:
        return await topic_partitions(consumer, settings.commands_topic)
    finally:
        await consumer.stop()

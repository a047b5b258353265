"""One input partition's transactional producer: the fence, the proof, and egress commits.

The transactional id is stable per input partition, so starting this producer fences any
earlier owner's producer of the same partition and settles its open transaction. A transaction
that fails without being fenced is aborted and retried with identical contents; a fenced one
means this worker is a zombie for the partition: the producer is never used again. A producer
that a lost connection left in a fatal state cannot run another transaction either, but it was
not fenced: the partition is still ours, and the owner re-runs the ownership protocol for it
(see ``Ownership``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    TransactionalIdAuthorizationFailed,
    UnknownProducerId,
)

from repertory.config import KafkaSettings
from repertory.errors import RepertoryError
from repertory.kafka._contents import TransactionContents
from repertory.kafka._partitioner import partition_for
from repertory.kafka._records import OutRecord
from repertory.observability import get_logger
from repertory.observability.metrics import RepertoryMetrics

__all__ = ["PartitionFenced", "PartitionProducer", "ProducerUnusable", "producer_options"]

_log = get_logger("repertory.kafka.transactions")
_FENCED = (ProducerFenced, InvalidProducerEpoch, TransactionalIdAuthorizationFailed)
_MAX_BACKOFF = 2.0
_MAX_ATTEMPTS = 8
"""Failed attempts after which a producer is declared unusable: aborting and retrying cannot
repair its state (its sequence numbers, say), a fresh producer can."""
_BROKEN_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId)


class PartitionFenced(RepertoryError):
    """Another producer took this partition's transactional id: we are a zombie for it."""


class ProducerUnusable(RepertoryError):
    """The producer hit a fatal error without being fenced (aiokafka makes a lost connection
    to the transaction coordinator fatal): a fresh producer, under a fresh assignment, must
    take over the partition."""


def producer_options(settings: KafkaSettings) -> dict[str, Any]:
    """Safe producer settings (aiokafka's defaults are acks=1 and no idempotence)."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.linger_ms,
        "max_batch_size": settings.max_batch_bytes,
        "retry_backoff_ms": settings.retry_backoff_ms,
        "request_timeout_ms": settings.request_timeout_ms,
    }


class PartitionProducer:
    """The transactional producer of one input partition (see the module doc)."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        partition: int,
        client_options: dict[str, Any] | None = None,
        metrics: RepertoryMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.tp = TopicPartition(topic, partition)
        self.transactional_id = settings.transactional_id(topic, partition)
        self._producer = AIOKafkaProducer(
            transactional_id=self.transactional_id,
            transaction_timeout_ms=settings.transaction_timeout_ms,
            **producer_options(settings),
            **(client_options or {}),
        )
        self.metrics = metrics
        self.fenced = False
        self.unusable = False
        self.commits = 0

    def __repr__(self) -> str:
        return f"PartitionProducer({self.transactional_id!r}, fenced={self.fenced})"

    async def start(self) -> None:
        """Start the producer: its ``InitProducerId`` fences every older holder of the id.

        Raises:
            PartitionFenced: a newer producer already holds the id.
        """
        try:
            await self._producer.start()
        except _FENCED as exc:
            self.fenced = True
            raise PartitionFenced(f"[{self.transactional_id}] fenced at start") from exc

    async def prove(self, next_offset: int) -> None:
        """One transactional round trip committing the already committed offset.

        It succeeds only if no newer owner started this partition's producer, which proves
        the epoch claimed before it is older than any later owner's.

        Raises:
            PartitionFenced: it is not ours any more.
        """
        await self.publish(
            TransactionContents((), {(self.tp.topic, self.tp.partition): next_offset}, {}, 0)
        )

    async def publish(self, contents: TransactionContents) -> None:
        """Commit ``contents`` in one transaction, retrying identically until it commits.

        Raises:
            PartitionFenced: the producer was fenced; nothing of this transaction is visible.
            ProducerUnusable: the producer cannot run a transaction any more; this one's
                outcome is settled by the next producer of the id (it aborts what is open).
        """
        attempt = 0
        while True:
            if self.fenced:
                raise PartitionFenced(f"[{self.transactional_id}] is fenced")
            if self.unusable:
                raise ProducerUnusable(f"[{self.transactional_id}] is unusable")
            try:
                await self._transaction(contents.records, contents.offsets)
                self.commits += 1
                if self.metrics is not None:
                    self.metrics.egress.transaction("committed")
                return
            except _FENCED as exc:
                self.fenced = True
                if self.metrics is not None:
                    self.metrics.egress.transaction("fenced")
                raise PartitionFenced(f"[{self.transactional_id}] fenced") from exc
            except KafkaError as exc:
                attempt += 1
                if isinstance(exc, _BROKEN_SEQUENCE) or attempt >= _MAX_ATTEMPTS:
                    # the broker lost this producer's state (a restart, say): only a new
                    # producer id repairs it
                    self.unusable = True
                if self.metrics is not None:
                    self.metrics.egress.transaction("retried")
                delay = min(_MAX_BACKOFF, self.settings.retry_backoff_ms / 1000 * 2**attempt)
                _log.warning(
                    "transaction failed; retrying it unchanged",
                    transactional_id=self.transactional_id,
                    attempt=attempt,
                    error=repr(exc),
                )
                await self._abort_quietly()
                if not self.unusable:
                    await asyncio.sleep(delay)

    async def _transaction(
        self, records: Iterable[OutRecord], offsets: dict[tuple[str, int], int]
    ) -> None:
        producer = self._producer
        await producer.begin_transaction()
        try:
            sends = await self._send_batches(records)
            if sends:
                await asyncio.gather(*sends)
            committed = {TopicPartition(t, p): o for (t, p), o in offsets.items()}
            started = time.perf_counter() if self.metrics is not None else 0.0
            await producer.send_offsets_to_transaction(committed, self.settings.group_id)
        except BaseException:
            await self._abort_quietly()
            raise
        await producer.commit_transaction()
        if self.metrics is not None:
            self.metrics.ingress.commit_seconds.observe(time.perf_counter() - started)

    async def _send_batches(self, records: Iterable[OutRecord]) -> list[asyncio.Future[Any]]:
        """Queue ``records``, one record batch per output partition (in order within each).

        Appending to a batch skips the per-record work of ``send`` (a future, a partitioner
        call, an accumulator lookup each), which cost more than journaling a row. Keyed
        records go where Kafka's default partitioner sends them; a record without a key (or
        too big for a batch) goes through ``send``.
        """
        producer = self._producer
        counts: dict[str, int] = {}
        by_partition: dict[tuple[str, int], list[OutRecord]] = {}
        sends: list[asyncio.Future[Any]] = []
        for record in records:
            key = record.key
            if key is None:
                sends.append(await self._send_one(record))
                continue
            topic = record.topic
            count = counts.get(topic)
            if count is None:
                count = counts[topic] = len(await producer.partitions_for(topic))
            where = (topic, partition_for(key, count))
            batch = by_partition.get(where)
            if batch is None:
                batch = by_partition[where] = []
            batch.append(record)
        for (topic, partition), batch in by_partition.items():
            builder = producer.create_batch()
            for record in batch:
                headers = record.headers
                if type(headers) is not list:  # the builder wants a list; most already are
                    headers = list(headers)
                if (
                    builder.append(
                        timestamp=None, key=record.key, value=record.value, headers=headers
                    )
                    is not None
                ):
                    continue
                if builder.record_count():
                    sends.append(await producer.send_batch(builder, topic, partition=partition))
                    builder = producer.create_batch()
                    if (
                        builder.append(
                            timestamp=None, key=record.key, value=record.value, headers=headers
                        )
                        is not None
                    ):
                        continue
                sends.append(await self._send_one(record, partition))
            if builder.record_count():
                sends.append(await producer.send_batch(builder, topic, partition=partition))
        return sends

    async def _send_one(
        self, record: OutRecord, partition: int | None = None
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await self._producer.send(
            record.topic, record.value, key=record.key, partition=partition, headers=record.headers
        )
        return future

    async def _abort_quietly(self) -> None:
        manager = self._producer._txn_manager  # no public state query
        if manager is None:
            return
        state = manager.state.name
        if state in {"READY", "UNINITIALIZED"}:
            return
        if state not in {"IN_TRANSACTION", "ABORTABLE_ERROR"}:
            # a fatal or stuck producer cannot run another transaction
            _log.error("producer unusable", transactional_id=self.transactional_id, state=state)
            self.unusable = True
            return
        try:
            await self._producer.abort_transaction()
        except _FENCED:
            self.fenced = True
        except Exception as exc:  # the retry (or the next owner) settles it
            _log.info("abort failed", transactional_id=self.transactional_id, error=repr(exc))

    async def stop(self) -> None:
        """Stop the producer (an open transaction is aborted by the broker on timeout, or by
        the next owner's fence)."""
        try:
            await self._producer.stop()
        except Exception as exc:  # stopping a fenced or broken producer may raise; it is gone
            _log.info(
                "producer stop failed", transactional_id=self.transactional_id, error=repr(exc)
            )

"""Partition ownership: what happens, in order, when the consumer group assigns or revokes.

On assignment (ARCHITECTURE.md, "Fenced mode"): start each assigned partition's transactional
producer (fencing a zombie and settling its open transaction) → claim one writer epoch for the
whole assignment → prove it on each partition with one transactional round trip committing the
already committed offset (a fenced proof drops that partition) → read the committed offsets and
seek → only then let records through. A zombie's claim that passes its own proof precedes our
fence, so our epoch is higher than any epoch it writes under.

On revocation every worker stops at once: uncommitted batches are abandoned (their records come
back to the next owner, who recognises what was journaled) and the partitions' entities are
passivated.

A producer that cannot start or commit for a reason other than a fence (the broker restarted
under it) leaves its partition ours but unworkable. Restarting just that producer would be
unsafe: were this worker a zombie, it would fence the rightful owner. So the worker rejoins the
group instead, and the next assignment runs the whole protocol again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from repertory.errors import RepertoryError
from repertory.kafka._egress_context import EgressContext
from repertory.kafka._partition import PartitionWorker
from repertory.kafka._transactions import PartitionFenced, PartitionProducer, ProducerUnusable
from repertory.observability import get_logger

__all__ = ["Ownership"]

_log = get_logger("repertory.kafka.ownership")


class Ownership(ConsumerRebalanceListener):  # type: ignore[misc]
    """The rebalance listener and the registry of owned partitions' workers.

    Args:
        context: shared by the workers.
        consumer: the commands-topic consumer (for committed offsets, seeks, pauses).
        claim_epoch: claims one writer epoch in the journal (and makes the store write under it).
        on_progress: passed to each worker; called after each of its commits.
    """

    def __init__(
        self,
        context: EgressContext,
        consumer: AIOKafkaConsumer,
        claim_epoch: Callable[[], Awaitable[int]],
        on_progress: Callable[[PartitionWorker], None],
    ) -> None:
        self.context = context
        self.consumer = consumer
        self.claim_epoch = claim_epoch
        self.on_progress = on_progress
        self.workers: dict[TopicPartition, PartitionWorker] = {}
        self.dropped: set[TopicPartition] = set()
        self.epoch = 0
        self.assignments = 0
        self.rejoins = 0
        """Group rejoins requested because a producer became unusable."""
        self.rebalances = 0
        """Assignments handled (empty ones too): above 0 once this member joined the group."""
        self._closers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        owned = sorted(tp.partition for tp in self.workers)
        return f"Ownership(epoch={self.epoch}, owned={owned}, dropped={len(self.dropped)})"

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self.release(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        tps = sorted(assigned)
        self.dropped -= set(tps)
        if tps:
            await self.acquire(tps)
        self.rebalances += 1

    async def acquire(self, tps: list[TopicPartition]) -> None:
        """The ownership protocol for one assignment (see the module doc)."""
        producers = await self._start_producers(tps)
        if not producers:
            return
        self.epoch = await self._claim()
        self.assignments += 1
        committed = await self._committed_offsets([p.tp for p in producers])
        proven = await asyncio.gather(*(self._prove(p, committed[p.tp]) for p in producers))
        for producer, ok in zip(producers, proven, strict=True):
            if ok:
                self._run(producer, committed[producer.tp])
        _log.info(
            "partitions acquired",
            epoch=self.epoch,
            partitions=sorted(tp.partition for tp in self.workers),
            dropped=sorted(tp.partition for tp in self.dropped),
        )

    async def _claim(self) -> int:
        """Claim an epoch, retrying with backoff: without one nothing may be written, and
        giving up would leave the assigned partitions idle until the next rebalance."""
        delay = 0.1
        while True:
            try:
                return await self.claim_epoch()
            except RepertoryError as exc:
                _log.warning("epoch claim failed; claiming again", error=repr(exc), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _start_producers(self, tps: list[TopicPartition]) -> list[PartitionProducer]:
        context = self.context
        producers = [
            PartitionProducer(
                context.settings, tp.topic, tp.partition, context.client_options, context.metrics
            )
            for tp in tps
        ]
        results = await asyncio.gather(*(p.start() for p in producers), return_exceptions=True)
        started = []
        for producer, result in zip(producers, results, strict=True):
            if result is None:
                started.append(producer)
                continue
            _log.warning("partition not started", tp=str(producer.tp), error=repr(result))
            await producer.stop()
            self._drop(producer.tp)
            if not isinstance(result, PartitionFenced):
                self._rejoin()
        return started

    async def _committed_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The next offset to consume per partition: the committed one, or the log start."""
        offsets: dict[TopicPartition, int] = {}
        missing = []
        for tp in tps:
            committed = await self.consumer.committed(tp)
            if committed is None:
                missing.append(tp)
            else:
                offsets[tp] = committed
        if missing:
            beginnings: dict[TopicPartition, int] = await self.consumer.beginning_offsets(missing)
            offsets.update(beginnings)
        return offsets

    async def _prove(self, producer: PartitionProducer, offset: int) -> bool:
        try:
            await producer.prove(offset)
            return True
        except (PartitionFenced, ProducerUnusable) as exc:
            _log.warning(
                "epoch proof failed; partition dropped", tp=str(producer.tp), error=str(exc)
            )
            await producer.stop()
            self._drop(producer.tp)
            if isinstance(exc, ProducerUnusable):
                self._rejoin()
            return False

    def _run(self, producer: PartitionProducer, offset: int) -> None:
        tp = producer.tp
        self.consumer.seek(tp, offset)
        self.context.store.watch(tp.topic, tp.partition, offset)
        worker = PartitionWorker(
            self.context,
            producer,
            on_progress=self.on_progress,
            on_fenced=self._fenced,
            on_unusable=self._unusable,
        )
        worker.committed_offset = offset
        self.workers[tp] = worker
        worker.start()

    def _drop(self, tp: TopicPartition) -> None:
        """Stop fetching a partition we cannot write for (until the next assignment)."""
        self.dropped.add(tp)
        if tp in self.consumer.assignment():
            self.consumer.pause(tp)

    def give_up(self, tp: TopicPartition) -> bool:
        """Stop and drop an owned partition as if fenced; False when it is not owned."""
        worker = self.workers.get(tp)
        if worker is None:
            return False
        _log.warning("partition given up: a newer owner writes its entities", tp=str(tp))
        self._fenced(worker)
        return True

    def _fenced(self, worker: PartitionWorker) -> None:
        tp = worker.producer.tp
        if self.workers.get(tp) is not worker:
            return
        del self.workers[tp]
        self._drop(tp)
        task = asyncio.get_running_loop().create_task(worker.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    def _unusable(self, worker: PartitionWorker) -> None:
        self._fenced(worker)
        self._rejoin()

    def _rejoin(self) -> None:
        """Ask the group for a new assignment (see the module doc)."""
        self.rejoins += 1
        _log.warning("rejoining the group to take unworkable partitions again")
        self.consumer._coordinator.request_rejoin()  # no public way to force a rejoin

    async def release(self, tps: list[TopicPartition] | None = None) -> None:
        """Stop the workers of ``tps`` (all when None), abandoning uncommitted work."""
        chosen = list(self.workers) if tps is None else [tp for tp in tps if tp in self.workers]
        workers = [self.workers.pop(tp) for tp in chosen]
        results: list[Any] = await asyncio.gather(
            *(w.close() for w in workers), *self._closers, return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                _log.warning("partition close failed", error=repr(result))
        if workers:
            _log.info("partitions released", partitions=sorted(tp.partition for tp in chosen))

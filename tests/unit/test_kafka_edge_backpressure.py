"""The ingress poll loop's backpressure, with a fake consumer: a full partition is held out of
the poll (its prefetched records stay in the client), and paused only when every partition has
been full for long, so that polling goes on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

from repertory.config import KafkaSettings
from repertory.kafka import _edge
from repertory.kafka._edge import KafkaEdge

TOPIC = "commands"
LIMIT = 4


def consumed(partition: int, offsets: range) -> list[Any]:
    return [
        SimpleNamespace(
            topic=TOPIC,
            partition=partition,
            offset=offset,
            key=b"k",
            value=b"v",
            headers=(),
            timestamp=0,
        )
        for offset in offsets
    ]


class FakeConsumer:
    """Answers each poll with the next scripted batch; remembers what each poll asked for."""

    def __init__(self, batches: list[dict[TopicPartition, list[Any]]]) -> None:
        self.batches = batches
        self.polls: list[tuple[TopicPartition, ...]] = []
        self.paused_tps: set[TopicPartition] = set()
        self.polled = asyncio.Condition()

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[Any]]:
        async with self.polled:
            self.polls.append(partitions)
            self.polled.notify_all()
        await asyncio.sleep(0.001)
        if not self.batches:
            return {}
        wanted = self.batches.pop(0)
        return {tp: rs for tp, rs in wanted.items() if not partitions or tp in partitions}

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused_tps.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused_tps.difference_update(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self.paused_tps)


@dataclass
class FakeWorker:
    tp: TopicPartition
    in_flight: int = 0
    committed_commands: int = 0
    offered: list[int] = field(default_factory=list)

    @property
    def producer(self) -> SimpleNamespace:
        return SimpleNamespace(tp=self.tp)

    def offer(self, records: list[Any]) -> None:
        self.offered.extend(r.offset for r in records)
        self.in_flight += len(records)


async def edge_with(consumer: FakeConsumer, workers: dict[TopicPartition, FakeWorker]) -> KafkaEdge:
    settings = KafkaSettings(enabled=True, max_in_flight_per_partition=LIMIT)
    edge = KafkaEdge(settings, context_factory=None, claim_epoch=None)  # type: ignore[arg-type]
    await edge.consumer.stop()  # never started: closed so that it is not reported unclosed
    edge.consumer = consumer  # type: ignore[assignment]
    edge.ownership = SimpleNamespace(  # type: ignore[assignment]
        workers=workers, dropped=set(), epoch=1
    )
    return edge


async def run_polls(edge: KafkaEdge, consumer: FakeConsumer, polls: int) -> None:
    task = asyncio.create_task(edge._poll())
    try:
        async with asyncio.timeout(5), consumer.polled:
            await consumer.polled.wait_for(lambda: len(consumer.polls) >= polls)
        await asyncio.sleep(0.01)  # the last poll's records are offered
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_full_partition_is_left_out_of_the_poll_not_paused() -> None:
    full, other = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    workers = {full: FakeWorker(full), other: FakeWorker(other)}
    consumer = FakeConsumer([{full: consumed(0, range(LIMIT)), other: consumed(1, range(1))}])
    edge = await edge_with(consumer, workers)

    await run_polls(edge, consumer, 3)

    assert consumer.polls[0] == (full, other)
    assert consumer.polls[1] == (other,)  # held: its prefetched records stay in the client
    assert consumer.paused_tps == set()
    assert edge.held() == {full}
    assert edge.statistics()["paused"] == 1


async def test_a_held_partition_is_polled_again_once_under_half_the_bound() -> None:
    tp = TopicPartition(TOPIC, 0)
    worker = FakeWorker(tp)
    consumer = FakeConsumer([{tp: consumed(0, range(LIMIT))}])
    edge = await edge_with(consumer, {tp: worker})
    await run_polls(edge, consumer, 1)
    assert edge.held() == {tp}

    worker.in_flight = LIMIT // 2 + 1
    edge._progress(worker)  # type: ignore[arg-type]
    assert edge.held() == {tp}
    worker.in_flight = LIMIT // 2
    edge._progress(worker)  # type: ignore[arg-type]
    assert edge.held() == set()


async def test_every_partition_full_for_long_is_paused_so_polling_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_edge, "_STALL_SECONDS", 0.02)
    tp = TopicPartition(TOPIC, 0)
    worker = FakeWorker(tp)
    consumer = FakeConsumer([{tp: consumed(0, range(LIMIT))}])
    edge = await edge_with(consumer, {tp: worker})

    await run_polls(edge, consumer, 3)

    assert consumer.paused_tps == {tp}
    assert consumer.polls[1] == ()  # every partition, the paused one returning nothing
    worker.in_flight = 0
    edge._progress(worker)  # type: ignore[arg-type]
    assert consumer.paused_tps == set()
    assert edge.held() == set()


async def test_a_partition_owned_again_by_a_fresh_worker_is_not_held() -> None:
    tp = TopicPartition(TOPIC, 0)
    workers = {tp: FakeWorker(tp)}
    consumer = FakeConsumer([{tp: consumed(0, range(LIMIT))}])
    edge = await edge_with(consumer, workers)
    await run_polls(edge, consumer, 1)
    assert edge.held() == {tp}

    workers[tp] = FakeWorker(tp)  # revoked and assigned again between two polls
    consumer.batches.append({tp: consumed(0, range(1))})
    await run_polls(edge, consumer, 2)

    assert edge.held() == set()
    assert workers[tp].offered == [0]

"""A transactional producer the broker lost track of is replaced through a group rejoin, never
retried forever and never restarted outside an assignment (without a broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber, ProducerFenced

from repertory.config import KafkaSettings
from repertory.kafka import PartitionFenced, PartitionProducer
from repertory.kafka._contents import TransactionContents
from repertory.kafka._ownership import Ownership
from repertory.kafka._transactions import ProducerUnusable

CONTENTS = TransactionContents((), {("commands", 0): 10}, {}, 0)


@pytest.fixture
async def producer() -> AsyncIterator[PartitionProducer]:
    made = PartitionProducer(KafkaSettings(retry_backoff_ms=1), "commands", 0)
    yield made
    await made.stop()  # never started: this only closes the client object


def scripted(producer: PartitionProducer, errors: Iterable[Exception | None]) -> list[int]:
    """Make ``producer``'s transactions fail with ``errors`` in turn (None: commit); returns
    the list the attempts are counted in."""
    script, attempts = iter(errors), []

    async def transaction(records: Any, offsets: Any) -> None:
        attempts.append(1)
        error = next(script)
        if error is not None:
            raise error

    async def abort() -> None:
        return None

    producer._transaction = transaction  # type: ignore[method-assign]
    producer._abort_quietly = abort  # type: ignore[method-assign]
    return attempts


async def test_a_transient_failure_is_retried_until_it_commits(producer: PartitionProducer) -> None:
    attempts = scripted(producer, [KafkaConnectionError(), KafkaConnectionError(), None])
    await producer.publish(CONTENTS)
    assert (len(attempts), producer.commits, producer.unusable) == (3, 1, False)


async def test_a_broken_sequence_makes_the_producer_unusable_at_once(
    producer: PartitionProducer,
) -> None:
    attempts = scripted(producer, [OutOfOrderSequenceNumber(), None])
    with pytest.raises(ProducerUnusable):
        await producer.publish(CONTENTS)
    assert (len(attempts), producer.commits, producer.fenced) == (1, 0, False)
    with pytest.raises(ProducerUnusable):  # and it stays so: a fresh producer must take over
        await producer.publish(CONTENTS)


async def test_failures_that_never_end_make_the_producer_unusable(
    producer: PartitionProducer,
) -> None:
    attempts = scripted(producer, [KafkaConnectionError()] * 100)
    with pytest.raises(ProducerUnusable):
        await producer.publish(CONTENTS)
    assert 1 < len(attempts) < 100 and producer.commits == 0


async def test_a_fence_is_not_mistaken_for_an_unusable_producer(
    producer: PartitionProducer,
) -> None:
    scripted(producer, [ProducerFenced()])
    with pytest.raises(PartitionFenced):
        await producer.publish(CONTENTS)
    assert producer.fenced and not producer.unusable


class _Coordinator:
    def __init__(self) -> None:
        self.rejoins = 0

    def request_rejoin(self) -> None:
        self.rejoins += 1


class _Consumer:
    def __init__(self, tps: set[TopicPartition]) -> None:
        self._coordinator = _Coordinator()
        self._assigned = tps
        self.paused: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return self._assigned

    def pause(self, tp: TopicPartition) -> None:
        self.paused.add(tp)


class _Worker:
    def __init__(self, tp: TopicPartition) -> None:
        self.producer = type("P", (), {"tp": tp})()
        self.closed = False

    async def close(self) -> None:
        self.closed = True


async def test_an_unusable_producer_drops_its_partition_and_rejoins_the_group() -> None:
    unusable, fenced = TopicPartition("commands", 0), TopicPartition("commands", 1)
    consumer = _Consumer({unusable, fenced})
    ownership = Ownership(None, consumer, claim_epoch=None, on_progress=None)  # type: ignore[arg-type]
    workers = {tp: _Worker(tp) for tp in (unusable, fenced)}
    ownership.workers.update(workers)  # type: ignore[arg-type]

    ownership._fenced(workers[fenced])  # type: ignore[arg-type]
    assert consumer._coordinator.rejoins == 0  # a fence means another owner: no rejoin
    ownership._unusable(workers[unusable])  # type: ignore[arg-type]
    await ownership.release()

    assert consumer._coordinator.rejoins == 1 and ownership.rejoins == 1
    assert ownership.workers == {} and ownership.dropped == {unusable, fenced}
    assert consumer.paused == {unusable, fenced} and all(w.closed for w in workers.values())

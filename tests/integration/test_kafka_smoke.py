"""Kafka as the engine uses it: idempotent produce, manual commits, transactions, fencing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import ProducerFenced

TopicFactory = Callable[..., Awaitable[str]]

# DEVSTACK.md: back-to-back transactions meet CONCURRENT_TRANSACTIONS and wait this long.
TXN_RETRY_BACKOFF_MS = 5


def producer(bootstrap: str, **config: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **config
    )


def transactional_producer(bootstrap: str, transactional_id: str) -> AIOKafkaProducer:
    return producer(
        bootstrap, transactional_id=transactional_id, retry_backoff_ms=TXN_RETRY_BACKOFF_MS
    )


def consumer(bootstrap: str, group_id: str | None = None, **config: Any) -> AIOKafkaConsumer:
    settings: dict[str, Any] = {
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
        "auto_offset_reset": "earliest",
    }
    settings.update(config)
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, **settings)


async def read_all(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    isolation_level: str = "read_committed",
    settle_s: float = 0.5,
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic`` (no group) until ``until(records)`` holds, then ``settle_s``
    more seconds of polling, so a duplicate or a late record would be seen too."""
    records: list[ConsumerRecord[Any, Any]] = []
    async with consumer(bootstrap, isolation_level=isolation_level) as reader:
        reader.subscribe([topic])
        async with asyncio.timeout(30):
            while not until(records):
                records.extend(await _poll(reader))
        loop = asyncio.get_running_loop()
        settled = loop.time() + settle_s
        while loop.time() < settled:
            records.extend(await _poll(reader))
    return records


async def _poll(reader: AIOKafkaConsumer) -> list[ConsumerRecord[Any, Any]]:
    batches = await reader.getmany(timeout_ms=100)
    return [record for batch in batches.values() for record in batch]


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


def ident() -> str:
    return uuid.uuid4().hex[:10]


async def test_idempotent_producer_with_acks_all_delivers_in_order(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = await unique_topic(partitions=2)
    async with producer(kafka_bootstrap) as out:
        sent = [await out.send_and_wait(topic, f"v{i}".encode(), key=b"k") for i in range(20)]

    assert {m.partition for m in sent} == {sent[0].partition}  # one key, one partition
    records = await read_all(kafka_bootstrap, topic, until=lambda rs: len(rs) >= 20)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(20)]
    assert [r.offset for r in records] == list(range(20))


async def test_manual_commit_per_batch_resumes_after_the_committed_offset(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = await unique_topic(partitions=1)
    partition = TopicPartition(topic, 0)
    group = f"group-{ident()}"
    async with producer(kafka_bootstrap) as out:
        for i in range(10):
            await out.send_and_wait(topic, f"r{i}".encode())

    async with consumer(kafka_bootstrap, group, max_poll_records=4) as first:
        first.subscribe([topic])
        batch: list[ConsumerRecord[Any, Any]] = []
        async with asyncio.timeout(20):
            while not batch:
                batch = (await first.getmany(timeout_ms=500)).get(partition, [])
        await first.commit()  # the position after the batch just processed
        committed = await first.committed(partition)

    assert [r.value for r in batch] == [f"r{i}".encode() for i in range(len(batch))]
    assert committed == len(batch)

    async with consumer(kafka_bootstrap, group) as second:
        second.subscribe([topic])
        async with asyncio.timeout(20):
            resumed: list[ConsumerRecord[Any, Any]] = []
            while not resumed:
                resumed = (await second.getmany(timeout_ms=500)).get(partition, [])
    assert resumed[0].offset == committed
    assert resumed[0].value == f"r{committed}".encode()


async def test_transaction_output_is_seen_once_and_its_offsets_are_committed(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    source, sink = await unique_topic(partitions=1), await unique_topic(partitions=2)
    partition = TopicPartition(source, 0)
    group = f"group-{ident()}"
    async with producer(kafka_bootstrap) as out:
        for i in range(10):
            await out.send_and_wait(source, f"in{i}".encode(), key=f"e{i}".encode())

    async with (
        consumer(kafka_bootstrap, group) as reader,
        transactional_producer(kafka_bootstrap, f"txn-{ident()}") as txn,
    ):
        reader.subscribe([source])
        consumed: list[ConsumerRecord[Any, Any]] = []
        async with asyncio.timeout(20):
            while len(consumed) < 10:
                consumed.extend((await reader.getmany(timeout_ms=500)).get(partition, []))
        async with txn.transaction():
            for record in consumed:
                await txn.send(sink, b"out-" + record.value, key=record.key)
            await txn.send_offsets_to_transaction({partition: consumed[-1].offset + 1}, group)

    output = await read_all(kafka_bootstrap, sink, until=lambda rs: len(rs) >= 10)
    assert sorted(r.value for r in output) == sorted(b"out-in%d" % i for i in range(10))
    assert await committed_offsets(kafka_bootstrap, group) == {partition: 10}


async def test_aborted_transaction_is_never_seen_by_read_committed(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = await unique_topic(partitions=1)
    async with transactional_producer(kafka_bootstrap, f"txn-{ident()}") as txn:
        await txn.begin_transaction()
        for i in range(5):
            await txn.send(topic, f"aborted{i}".encode())
        await txn.abort_transaction()
        async with txn.transaction():
            await txn.send(topic, b"committed")

    committed = await read_all(
        kafka_bootstrap, topic, until=lambda rs: any(r.value == b"committed" for r in rs)
    )
    uncommitted = await read_all(
        kafka_bootstrap,
        topic,
        isolation_level="read_uncommitted",
        until=lambda rs: any(r.value == b"committed" for r in rs),
    )
    assert [r.value for r in committed] == [b"committed"]
    # The aborted records were written; only the isolation level hides them.
    assert [r.value for r in uncommitted] == [f"aborted{i}".encode() for i in range(5)] + [
        b"committed"
    ]


async def test_second_producer_with_the_same_transactional_id_fences_the_first(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = await unique_topic(partitions=1)
    transactional_id = f"txn-{ident()}"
    async with transactional_producer(kafka_bootstrap, transactional_id) as old:
        async with old.transaction():
            await old.send(topic, b"old-1")
        async with transactional_producer(kafka_bootstrap, transactional_id) as new:
            with pytest.raises(ProducerFenced):
                async with old.transaction():
                    delivery = await old.send(topic, b"old-2")
                    await delivery
            async with new.transaction():
                await new.send(topic, b"new-1")

    records = await read_all(
        kafka_bootstrap, topic, until=lambda rs: any(r.value == b"new-1" for r in rs)
    )
    assert [r.value for r in records] == [b"old-1", b"new-1"]

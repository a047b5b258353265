"""The raw baseline of ``bench_engine.py``: the engine's work done by hand, without actors.

consume → plain inserts in multi-entity unlogged batches → one transaction per input partition
batch carrying the state changes and the offsets.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import msgpack
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cassandra.cluster import ResponseFuture, Session
from cassandra.query import BatchStatement, BatchType

from repertory.protocols import decode_command

if TYPE_CHECKING:
    from _stack import Stack

RAW_ROWS_PER_BATCH = 100


class RawLoop:
    """consume → plain inserts in multi-entity unlogged batches → one transaction per partition
    batch (state changes + offsets); ``sequential`` runs every step of every batch in turn."""

    def __init__(self, stack: Stack, topics: dict[str, str], keyspace: str, sequential: bool):
        self.stack, self.topics, self.sequential = stack, topics, sequential
        self.group = f"raw-{uuid.uuid4().hex[:8]}"
        self.session: Session = stack.cassandra.session
        self.keyspace = keyspace
        self.seq: dict[str, int] = {}
        self.producers: dict[int, AIOKafkaProducer] = {}
        self.ready = asyncio.Event()
        """Set once the producers are proven and the consumer has its partitions: a latency
        measurement starts after it, as it does after the engine's ownership protocol."""

    async def run(self, stop: asyncio.Event) -> None:
        self.insert = self.session.prepare(
            f"INSERT INTO {self.keyspace}.events (persistence_id, partition_nr, seq_nr, "
            "writer_epoch, prev_epoch, event_type, schema_version, payload, timestamp_ms, "
            "command_id, source_topic, source_partition, source_offset) "
            "VALUES (?, 0, ?, 1, 1, ?, 1, ?, ?, ?, ?, ?, ?)"
        )
        consumer = AIOKafkaConsumer(
            self.topics["commands"],
            bootstrap_servers=self.stack.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_poll_records=5000,
            fetch_max_wait_ms=10,
        )
        try:
            await self.start_producers()
            await consumer.start()
            while not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=50)
                if not self.ready.is_set() and consumer.assignment():
                    self.ready.set()
                if self.sequential:
                    for tp, records in fetched.items():
                        await self.batch(tp, records)
                else:
                    await asyncio.gather(*(self.batch(tp, rs) for tp, rs in fetched.items()))
        finally:
            await consumer.stop()  # a consumer never started stops quietly
            for producer in self.producers.values():
                await producer.stop()

    async def start_producers(self) -> None:
        """One transactional producer per input partition, started and proven with one
        transaction (committing offset 0) before the first record is consumed, as the engine
        does on assignment; starting them on first use put their start-up inside the measured
        window."""

        async def start(partition: int) -> None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.stack.bootstrap,
                transactional_id=f"{self.group}-{partition}",
                acks="all",
                enable_idempotence=True,
                retry_backoff_ms=5,
                linger_ms=2,
            )
            self.producers[partition] = producer
            await producer.start()
            tp = TopicPartition(self.topics["commands"], partition)
            async with producer.transaction():
                await producer.send_offsets_to_transaction({tp: 0}, self.group)

        await asyncio.gather(*(start(p) for p in range(self.stack.partitions)))

    async def batch(self, tp: TopicPartition, records: list[Any]) -> None:
        rows, changes = [], []
        for r in records:
            e = decode_command(r.key, r.value, r.headers)
            pid = e.persistence_id
            seq = self.seq[pid] = self.seq.get(pid, 0) + 1
            body = msgpack.packb({"amount": 1})
            rows.append(
                (
                    pid,
                    seq,
                    "bench.Deposited",
                    body,
                    e.timestamp_ms,
                    e.command_id,
                    r.topic,
                    r.partition,
                    r.offset,
                )
            )
            changes.append(
                (
                    r.key,
                    body,
                    [("command_id", e.command_id.encode()), ("seq_nr", str(seq).encode())],
                )
            )
        await asyncio.gather(
            *(
                self.write(rows[i : i + RAW_ROWS_PER_BATCH])
                for i in range(0, len(rows), RAW_ROWS_PER_BATCH)
            )
        )
        producer = self.producers[tp.partition]
        async with producer.transaction():
            sends = [
                await producer.send(self.topics["changes"], v, key=k, headers=h)
                for k, v, h in changes
            ]
            await asyncio.gather(*sends)
            await producer.send_offsets_to_transaction({tp: records[-1].offset + 1}, self.group)

    def write(self, rows: list[tuple[Any, ...]]) -> Awaitable[Any]:
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for row in rows:
            batch.add(self.insert, row)
        return bridge(self.session.execute_async(batch))


def bridge(response: ResponseFuture) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def done(result: Any) -> None:
        loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

    def failed(error: BaseException) -> None:
        loop.call_soon_threadsafe(lambda: future.done() or future.set_exception(error))

    response.add_callbacks(done, failed)
    return future

"""The raw baseline of ``bench_engine.py``: the engine's work done by hand, without actors.

consume → plain inserts in multi-entity unlogged batches → one transaction per input partition
batch carrying the state changes and the offsets.

It does the work repertory does for each command, by hand: it decodes the deposit (as a plain
msgpack map), adds it to the account's balance, journals the deposit it read as the event, and
publishes the state change as the protocol's record (the value and headers repertory
publishes), one record batch per output partition as repertory does. It keeps none of
repertory's guarantees: no writer epochs to fence, no dedupe, no stored replies.
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

from repertory.kafka import partition_for
from repertory.protocols import (
    ENVELOPE_FORMAT,
    StateChange,
    decode_command,
    encode_state_change,
)

if TYPE_CHECKING:
    from _stack import Stack

RAW_ROWS_PER_BATCH = 100
DEPOSITED = "bench.Deposited"
DEPOSITED_BYTES = DEPOSITED.encode()


class RawLoop:
    """consume → plain inserts in multi-entity unlogged batches → one transaction per partition
    batch (state changes + offsets); ``sequential`` runs every step of every batch in turn."""

    def __init__(self, stack: Stack, topics: dict[str, str], keyspace: str, sequential: bool):
        self.stack, self.topics, self.sequential = stack, topics, sequential
        self.group = f"raw-{uuid.uuid4().hex[:8]}"
        self.session: Session = stack.cassandra.session
        self.keyspace = keyspace
        self.seq: dict[str, int] = {}
        self.balances: dict[str, int] = {}
        """The accounts' state, as repertory's entities hold it."""
        self.producers: dict[int, AIOKafkaProducer] = {}
        self.ready = asyncio.Event()
        """Set once the producers are proven and the consumer has its partitions: a latency
        measurement starts after it, as it does after the engine's ownership protocol."""

    async def run(self, stop: asyncio.Event) -> None:
        check_same_output()
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
                max_batch_size=512 * 1024,
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
            amount = msgpack.unpackb(e.payload)["amount"]
            self.balances[pid] = self.balances.get(pid, 0) + amount
            seq = self.seq[pid] = self.seq.get(pid, 0) + 1
            body = msgpack.packb({"amount": amount})
            rows.append(
                (
                    pid,
                    seq,
                    DEPOSITED,
                    body,
                    e.timestamp_ms,
                    e.command_id,
                    r.topic,
                    r.partition,
                    r.offset,
                )
            )
            changes.append(
                (r.key, *state_change(e.entity_type, e.entity_id, seq, e.command_id, body))
            )
        await asyncio.gather(
            *(
                self.write(rows[i : i + RAW_ROWS_PER_BATCH])
                for i in range(0, len(rows), RAW_ROWS_PER_BATCH)
            )
        )
        producer = self.producers[tp.partition]
        async with producer.transaction():
            await asyncio.gather(*await self.send(producer, changes))
            await producer.send_offsets_to_transaction({tp: records[-1].offset + 1}, self.group)

    async def send(
        self, producer: AIOKafkaProducer, changes: list[tuple[bytes, bytes, list[Any]]]
    ) -> list[asyncio.Future[Any]]:
        """Queue the state changes as one record batch per output partition (as repertory
        does): ``send`` per record costs a future and a partitioner call each."""
        topic = self.topics["changes"]
        count = len(await producer.partitions_for(topic))
        builders: dict[int, Any] = {}
        sends = []
        for key, value, headers in changes:
            partition = partition_for(key, count)
            builder = builders.get(partition)
            if builder is None:
                builder = builders[partition] = producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                sends.append(await producer.send_batch(builder, topic, partition=partition))
                builder = builders[partition] = producer.create_batch()
                builder.append(timestamp=None, key=key, value=value, headers=headers)
        for partition, builder in builders.items():
            sends.append(await producer.send_batch(builder, topic, partition=partition))
        return sends

    def write(self, rows: list[tuple[Any, ...]]) -> Awaitable[Any]:
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for row in rows:
            batch.add(self.insert, row)
        return bridge(self.session.execute_async(batch))


def state_change(
    entity_type: str, entity_id: str, seq_nr: int, command_id: str, payload: bytes
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a state change written under epoch 1, built by hand as a
    service without repertory would (no validating ``StateChange``): the bytes
    ``encode_state_change`` and ``StateChange.headers`` give (``check_same_output``)."""
    value = msgpack.packb(
        {
            "entity_type": entity_type,
            "entity_id": entity_id,
            "seq_nr": seq_nr,
            "writer_epoch": 1,
            "command_id": command_id,
            "event_type": DEPOSITED,
            "schema_version": 1,
            "payload": payload,
            "format": ENVELOPE_FORMAT,
        }
    )
    headers = [
        ("entity_type", entity_type.encode()),
        ("entity_id", entity_id.encode()),
        ("seq_nr", str(seq_nr).encode()),
        ("writer_epoch", b"1"),
        ("command_id", command_id.encode()),
        ("event_type", DEPOSITED_BYTES),
        ("schema_version", b"1"),
    ]
    return value, headers


def check_same_output() -> None:
    """Refuse to run once ``state_change`` no longer gives repertory's record: the two systems
    would publish different things."""
    payload = msgpack.packb({"amount": 3})
    change = StateChange(
        entity_type="acct",
        entity_id="7",
        seq_nr=12,
        writer_epoch=1,
        command_id="c-1",
        event_type=DEPOSITED,
        schema_version=1,
        payload=payload,
    )
    expected = (encode_state_change(change), change.headers())
    if state_change("acct", "7", 12, "c-1", payload) != expected:
        raise RuntimeError("the raw loop's state changes differ from repertory's")


def bridge(response: ResponseFuture) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def done(result: Any) -> None:
        loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

    def failed(error: BaseException) -> None:
        loop.call_soon_threadsafe(lambda: future.done() or future.set_exception(error))

    response.add_callbacks(done, failed)
    return future

"""Kafka for the operator's verbs (``repertory inspect skew``, ``tail``, ``republish``): offsets
and lag per partition, reading topics as JSON-able records, publishing journaled events again.

Short-lived clients, started through ``start_client`` so a refused login names what was tried.
Kept apart from the engine's edges: nothing here joins the consumer group or commits offsets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from repertory.config import KafkaSecuritySettings, KafkaSettings
from repertory.kafka._edge import consumer_options, topic_partitions
from repertory.kafka._security import kafka_client_options, start_client
from repertory.protocols import StateChange, encode_state_change

__all__ = [
    "PartitionOffsets",
    "RawRecord",
    "client_options",
    "partition_offsets",
    "publish_changes",
    "read_topic",
]


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """One partition: the records it retains and, for a group, how far behind the group is."""

    partition: int
    beginning: int
    end: int
    committed: int | None

    @property
    def records(self) -> int:
        return self.end - self.beginning

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(0, self.end - self.committed)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: position, timestamp, key, value bytes, headers."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


async def _consumer(settings: KafkaSettings, security: KafkaSecuritySettings) -> AIOKafkaConsumer:
    options = consumer_options(settings)
    options.pop("group_id", None)  # a reader outside the group: it never commits
    consumer = AIOKafkaConsumer(**options, **kafka_client_options(security))
    await start_client(consumer, security, bootstrap_servers=settings.bootstrap_servers)
    return consumer


async def partition_offsets(
    settings: KafkaSettings,
    security: KafkaSecuritySettings,
    topic: str,
    group_id: str | None = None,
) -> list[PartitionOffsets]:
    """Beginning, end and (with ``group_id``) committed offsets of every partition of ``topic``."""
    consumer = await _consumer(settings, security)
    try:
        count = await topic_partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in range(count)]
        beginnings = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    committed: dict[int, int] = {}
    if group_id is not None:
        committed = await _committed(settings, security, group_id, topic)
    return [
        PartitionOffsets(tp.partition, beginnings[tp], ends[tp], committed.get(tp.partition))
        for tp in tps
    ]


async def _committed(
    settings: KafkaSettings, security: KafkaSecuritySettings, group_id: str, topic: str
) -> dict[int, int]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        **kafka_client_options(security),
    )
    await start_client(admin, security, bootstrap_servers=settings.bootstrap_servers)
    try:
        offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def read_topic(
    settings: KafkaSettings,
    security: KafkaSecuritySettings,
    topics: Sequence[str],
    *,
    from_timestamp_ms: int | None = None,
    from_offset: int | None = None,
    follow: bool = True,
    idle_timeout: float = 1.0,
) -> AsyncIterator[RawRecord]:
    """Read committed records of ``topics`` from a time, an offset (per partition), or the end.

    Args:
        from_timestamp_ms: start at the first record at or after this time.
        from_offset: start at this offset in every partition (negative: that many from the end).
        follow: keep waiting for new records; else stop once ``idle_timeout`` passes quietly.
    """
    consumer = await _consumer(settings, security)
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in range(await topic_partitions(consumer, topic))
        ]
        consumer.assign(tps)
        await _seek(consumer, tps, from_timestamp_ms, from_offset)
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_timeout * 1000), max_records=500)
            if not batch and not follow:
                return
            for tp, records in batch.items():
                for record in records:
                    yield RawRecord(
                        tp.topic,
                        tp.partition,
                        record.offset,
                        record.timestamp,
                        record.key,
                        record.value,
                        tuple(record.headers or ()),
                    )
    finally:
        await consumer.stop()


async def _seek(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    from_timestamp_ms: int | None,
    from_offset: int | None,
) -> None:
    if from_timestamp_ms is not None:
        found = await consumer.offsets_for_times({tp: from_timestamp_ms for tp in tps})
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            position = found.get(tp)
            consumer.seek(tp, position.offset if position is not None else ends[tp])
    elif from_offset is not None:
        beginnings = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            wanted = from_offset if from_offset >= 0 else ends[tp] + from_offset
            consumer.seek(tp, min(max(wanted, beginnings[tp]), ends[tp]))
    else:
        await consumer.seek_to_end(*tps)


async def publish_changes(
    settings: KafkaSettings, security: KafkaSecuritySettings, changes: AsyncIterator[StateChange]
) -> int:
    """Publish state changes to the state-changes topic (idempotent producer, acks=all), in
    order per entity; consumers dedupe by ``(entity, seq_nr)``. Returns how many were sent."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=settings.linger_ms,
        **kafka_client_options(security),
    )
    await start_client(producer, security, bootstrap_servers=settings.bootstrap_servers)
    sent = 0
    try:
        async for change in changes:
            await producer.send(
                settings.state_changes_topic,
                encode_state_change(change),
                key=change.key(),
                headers=change.headers(),
            )
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def client_options(security: KafkaSecuritySettings) -> dict[str, Any]:
    """The TLS/SASL options every client of the operator's verbs takes (``CommandClient`` too)."""
    return kafka_client_options(security)

"""Kafka for the operator's verbs (``repertory inspect skew``, ``tail``, ``republish``): offsets
and lag per partition, reading topics as JSON-able records, publishing journaled events again.

Short-lived clients, started through ``start_client`` so a refused login names what was tried.
Kept apart from the engine's edges: nothing here joins the consumer group or commits offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from repertory.config import KafkaSecuritySettings, KafkaSettings
from repertory.errors import ConfigError
from repertory.kafka._edge import consumer_options, topic_partitions
from repertory.kafka._security import kafka_client_options, start_client
from repertory.protocols import StateChange, encode_state_change

__all__ = [
    "PartitionOffsets",
    "RawRecord",
    "client_options",
    "create_topics",
    "delete_topics",
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
    admin = await _admin(settings, security)
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
        follow: keep waiting for new records; else stop at the end offsets seen at the start
            (or once ``idle_timeout`` passes quietly).
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
        ends = None if follow else await consumer.end_offsets(tps)
        while True:
            if ends is not None and await _reached(consumer, ends):
                return
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


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Whether every partition's position is at its end offset (transaction markers count:
    a read_committed consumer's position moves past them)."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


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


async def create_topics(
    settings: KafkaSettings, security: KafkaSecuritySettings, partitions: Mapping[str, int]
) -> None:
    """Create topics (name → partition count, replication factor 1: a development stack) and
    wait until every partition has a leader.

    Raises:
        ConfigError: a topic could not be created (it exists already, or the broker refused).
    """
    admin = await _admin(settings, security)
    try:
        response = await admin.create_topics([NewTopic(n, p, 1) for n, p in partitions.items()])
        refused = [(name, code) for name, code, *_ in response.topic_errors if code]
        if refused:
            raise ConfigError(f"cannot create topics {refused} at [{settings.bootstrap_servers}]")
        async with asyncio.timeout(30):
            while True:  # a new topic's partitions get their leaders a moment later
                if await _led(admin, partitions):
                    return
                await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def _led(admin: AIOKafkaAdminClient, partitions: Mapping[str, int]) -> bool:
    described: list[dict[str, Any]] = await admin.describe_topics(list(partitions))
    leaders = {t["topic"]: sum(1 for p in t["partitions"] if p["leader"] >= 0) for t in described}
    return all(leaders.get(name) == count for name, count in partitions.items())


async def delete_topics(
    settings: KafkaSettings, security: KafkaSecuritySettings, names: Sequence[str]
) -> None:
    """Delete topics (those that do not exist are ignored)."""
    admin = await _admin(settings, security)
    try:
        await admin.delete_topics(list(names))
    except KafkaError:
        pass  # already gone: nothing to clean up
    finally:
        await admin.close()


async def _admin(settings: KafkaSettings, security: KafkaSecuritySettings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        **kafka_client_options(security),
    )
    await start_client(admin, security, bootstrap_servers=settings.bootstrap_servers)
    return admin

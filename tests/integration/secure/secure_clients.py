"""Clients of the secured stack built the engine's way: its option builders plus the security
options, started through ``start_client``."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from repertory.config import KafkaSecuritySettings, KafkaSettings
from repertory.kafka import consumer_options, producer_options
from repertory.kafka._security import kafka_client_options, start_client


def kafka_settings(bootstrap: str) -> KafkaSettings:
    return KafkaSettings(enabled=True, bootstrap_servers=bootstrap, request_timeout_ms=10_000)


async def create_topic(bootstrap: str, security: KafkaSecuritySettings, name: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **kafka_client_options(security)
    )
    await start_client(admin, security, bootstrap_servers=bootstrap, timeout=20)
    try:
        response = await admin.create_topics([NewTopic(name, 1, 1)])
        for topic_error in response.topic_errors:
            if topic_error[1]:
                raise for_code(topic_error[1])(str(topic_error))
    finally:
        await admin.close()


async def round_trip(bootstrap: str, security: KafkaSecuritySettings, topic: str) -> list[bytes]:
    """Produce three records in one transaction and read them back, committed only."""
    kafka = kafka_settings(bootstrap)
    secured = kafka_client_options(security)
    producer = AIOKafkaProducer(
        transactional_id=f"secure-test-{uuid.uuid4().hex[:8]}",
        **producer_options(kafka),
        **secured,
    )
    await start_client(producer, security, bootstrap_servers=bootstrap, timeout=20)
    sent = [f"record-{n}".encode() for n in range(3)]
    try:
        async with producer.transaction():
            for value in sent:
                await producer.send(topic, value, key=b"account|42")
    finally:
        await producer.stop()

    options: dict[str, Any] = {**consumer_options(kafka), **secured}
    consumer = AIOKafkaConsumer(**options)
    await start_client(consumer, security, bootstrap_servers=bootstrap, timeout=20)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        received: list[bytes] = []
        async with asyncio.timeout(20):
            while len(received) < len(sent):
                batches = await consumer.getmany(partition, timeout_ms=500)
                received += [r.value for r in batches.get(partition, []) if r.value is not None]
        return received
    finally:
        await consumer.stop()

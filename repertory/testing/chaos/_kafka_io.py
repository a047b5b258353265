"""The harness's Kafka clients: topics of one run, the command producer, and read_committed
readers of the output topics.

A test harness is a Kafka client like any other service, so this module (and only this one in
the chaos package) talks to aiokafka directly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from repertory.observability import get_logger
from repertory.protocols import CommandEnvelope, encode_command
from repertory.testing.history import Source

__all__ = ["CommandProducer", "Records", "TopicReader", "committed_lag", "create_topics"]

Records = list[ConsumerRecord[Any, Any]]

_log = get_logger("repertory.testing.chaos")


async def create_topics(bootstrap: str, partitions: dict[str, int]) -> None:
    """Create ``name -> partitions`` topics and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, p, 1) for n, p in partitions.items()])
        async with asyncio.timeout(30):
            for name, count in partitions.items():
                while True:
                    described = await admin.describe_topics([name])
                    found = [p for t in described if t["topic"] == name for p in t["partitions"]]
                    if len(found) == count and all(p["leader"] >= 0 for p in found):
                        break
                    await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    """Delete topics (best effort: a run's topics are unique, leftovers harm nobody)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    try:
        await admin.start()
        await admin.delete_topics(list(names))
    except KafkaError:
        pass
    finally:
        await admin.close()


class CommandProducer:
    """Produces command envelopes and raw records; a failed send is sent again (the copy
    carries the same command id, so the engine recognises it).

    After the broker restarts under it, an idempotent aiokafka producer may fail every later
    send, or wait forever on a batch: a send that fails, or takes longer than ``stuck_after``
    seconds, gets a fresh producer.
    """

    def __init__(self, bootstrap: str, topic: str, stuck_after: float = 30.0) -> None:
        self.topic = topic
        self.bootstrap = bootstrap
        self.stuck_after = stuck_after
        self._producer = self._new_producer()
        self.resends = 0
        self.replaced = 0

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=10_000,
            retry_backoff_ms=100,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, envelopes: Sequence[CommandEnvelope]) -> list[Source]:
        """Produce ``envelopes`` (murmur2 placement); where each landed, in order."""
        raw = [(e.key(), encode_command(e), None, e.headers()) for e in envelopes]
        return await self.send_raw(raw)

    async def send_raw(
        self, records: Sequence[tuple[bytes | None, bytes, int | None, list[Any]]]
    ) -> list[Source]:
        """Produce ``(key, value, partition, headers)`` records; where each landed."""
        while True:
            try:
                async with asyncio.timeout(self.stuck_after):
                    sends = [
                        await self._producer.send(self.topic, v, key=k, partition=p, headers=h)
                        for k, v, p, h in records
                    ]
                    landed = await asyncio.gather(*sends)
                return [
                    Source(topic=self.topic, partition=m.partition, offset=m.offset) for m in landed
                ]
            except (KafkaError, TimeoutError) as error:
                # an idempotent producer whose sender failed fails every later send: replace it
                self.resends += 1
                _log.warning("command send failed; sending again", error=repr(error))
                await asyncio.sleep(0.5)
                await self._replace()

    async def _replace(self) -> None:
        stuck = self._producer
        self.replaced += 1
        try:
            async with asyncio.timeout(5.0):
                await stuck.stop()
        except (TimeoutError, KafkaError):
            pass  # it is abandoned either way
        while True:
            self._producer = self._new_producer()
            try:
                await self._producer.start()
                return
            except KafkaError:
                await self._producer.stop()
                await asyncio.sleep(0.5)


class TopicReader:
    """Reads one topic with ``read_committed`` from its start, in the background."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.records: Records = []
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            request_timeout_ms=15_000,
        )
        self._task: asyncio.Task[None] | None = None
        self.last_record = time.monotonic()

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read(), name=f"read-{self.topic}")

    async def _read(self) -> None:
        while True:
            try:
                fetched = await self._consumer.getmany(timeout_ms=200)
            except KafkaError:
                await asyncio.sleep(0.5)
                continue
            for batch in fetched.values():
                if batch:
                    self.records.extend(batch)
                    self.last_record = time.monotonic()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def committed_lag(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Records of ``topic`` past the group's committed offsets, over every partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        lag = 0
        for tp in tps:
            committed = await consumer.committed(tp)
            lag += ends[tp] - (committed or 0)
        return lag
    finally:
        await consumer.stop()

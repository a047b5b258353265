"""The servers a ``bench_engine.py`` run uses: fresh topics and keyspaces (dropped afterwards),
and a ``read_committed`` reader of what a system publishes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_session import CassandraSession


@dataclass
class Stack:
    bootstrap: str
    cassandra: CassandraSession
    partitions: int
    topics: list[str]
    keyspaces: list[str]

    async def topic_set(self) -> dict[str, str]:
        ident = uuid.uuid4().hex[:8]
        names = {k: f"bench-{k}-{ident}" for k in ("commands", "changes", "dead", "replies")}
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(n, self.partitions if k == "commands" else 4, 1)
                    for k, n in names.items()
                ]
            )
        finally:
            await admin.close()
        self.topics.extend(names.values())
        await asyncio.sleep(1.0)  # leaders elected
        return names

    async def keyspace(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        await asyncio.to_thread(create_schema, self.cassandra.session, name)
        self.keyspaces.append(name)
        return name

    async def cleanup(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(self.topics)
        finally:
            await admin.close()
        for name in self.keyspaces:
            await asyncio.to_thread(self.cassandra.session.execute, f"DROP KEYSPACE {name}")


async def read_output(
    bootstrap: str,
    topic: str,
    until: int,
    on_record: Callable[[Any], None] | None = None,
    started: asyncio.Event | None = None,
) -> float:
    """Read ``topic`` (read_committed) until ``until`` records; returns the monotonic end time.
    ``started`` is set once the first fetch has answered (the reader is positioned)."""
    seen = 0
    async with AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
    ) as consumer:
        while seen < until:
            fetched = await consumer.getmany(timeout_ms=100)
            if started is not None:
                started.set()
            for records in fetched.values():
                seen += len(records)
                if on_record is not None:
                    for record in records:
                        on_record(record)
    return time.monotonic()

"""Fixtures for tests against the dev stack's real Kafka and Cassandra.

The stack is brought up once per test session if it is not already running, and at the end
only what this session started is stopped: a stack someone left running stays running.
Every test in this directory is marked ``integration``.
"""

from __future__ import annotations

import asyncio
import gc
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import RoundRobinPolicy

from repertory.config import load_settings
from repertory.devstack import SERVER_NAMES, DevStack

HERE = Path(__file__).parent

TopicFactory = Callable[..., Awaitable[str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _collect_garbage_after_test() -> Iterator[None]:
    """Free each test's reference cycles before the next test starts.

    A fenced aiokafka producer leaves internal futures holding the fencing error; when a later
    garbage collection frees them, asyncio formats their tracebacks, which parses source with
    ``ast``. If that collection happens while pytest itself builds an AST (assertion rewriting
    of a late import), CPython 3.11.7 fails with "AST constructor recursion depth mismatch".
    Collecting here keeps those finalizers inside the test that caused them.
    """
    yield
    gc.collect()


@pytest.fixture(scope="session")
def devstack() -> Iterator[DevStack]:
    """The running dev stack (started here if it was not running, and then stopped at the end)."""
    stack = DevStack(load_settings().devstack)
    already_running = {name for name in SERVER_NAMES if stack.is_running(name)}
    stack.up()
    yield stack
    started_here = [name for name in SERVER_NAMES if name not in already_running]
    if started_here:
        stack.down(started_here)


@pytest.fixture(scope="session")
def kafka_bootstrap(devstack: DevStack) -> str:
    """``host:port`` of the dev stack's Kafka."""
    return devstack.kafka_bootstrap


@pytest.fixture(scope="session")
def cassandra_contact(devstack: DevStack) -> tuple[str, int]:
    """``(host, port)`` of the dev stack's Cassandra native protocol."""
    return devstack.cassandra_contact


@pytest.fixture
async def unique_topic(
    kafka_bootstrap: str, request: pytest.FixtureRequest
) -> AsyncIterator[TopicFactory]:
    """A factory: ``await unique_topic(partitions=4)`` creates a topic no other test uses.

    The topics are ready (every partition has a leader) when the factory returns, and are
    deleted after the test.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=10_000)
    await admin.start()
    created: list[str] = []
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name)[:120]

    async def make(partitions: int = 1, *, configs: dict[str, str] | None = None) -> str:
        name = f"{base}-{uuid.uuid4().hex[:8]}"
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1, topic_configs=configs or {})]
        )
        for topic_error in response.topic_errors:
            if topic_error[1]:
                raise for_code(topic_error[1])(f"creating topic [{name}]: {topic_error}")
        created.append(name)
        await _wait_for_leaders(admin, name, partitions)
        return name

    try:
        yield make
    finally:
        try:
            if created:
                await admin.delete_topics(created)
        finally:
            await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, topic: str, partitions: int) -> None:
    async with asyncio.timeout(30):
        while True:
            described: list[dict[str, Any]] = await admin.describe_topics([topic])
            found = [p for t in described if t["topic"] == topic for p in t["partitions"]]
            if len(found) == partitions and all(p["leader"] >= 0 for p in found):
                return
            await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def cassandra_session(cassandra_contact: tuple[str, int]) -> Iterator[Session]:
    """One CQL session (protocol v5) for the whole test session, with no keyspace set."""
    host, port = cassandra_contact
    cluster = Cluster(
        contact_points=[host],
        port=port,
        protocol_version=5,
        execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=RoundRobinPolicy(), request_timeout=30.0
            )
        },
    )
    session = cluster.connect()
    try:
        yield session
    finally:
        cluster.shutdown()


@pytest.fixture(scope="session")
def cassandra_keyspace(cassandra_session: Session) -> Iterator[str]:
    """A keyspace of this test session (SimpleStrategy, RF 1), dropped at the end."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    cassandra_session.execute(
        f"CREATE KEYSPACE {name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        yield name
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")

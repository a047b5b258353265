"""A worker that journaled a batch but died before its transaction committed: the next owner
gets the records again, recognises them by source offset, and republishes their events (and
emitted commands) without applying anything twice (guarantees 1, 2 and 4)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from cassandra.cluster import Session

from repertory.engine import Engine
from repertory.kafka import PartitionProducer, TransactionContents
from repertory.protocols import Serializer
from repertory.testing.history import History, check_history
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit, Transfer
from tests.integration.engine_harness import (
    engine_settings,
    envelope,
    fresh_keyspace,
    journal_rows,
    produce,
    published,
    read_until,
    sent,
)

TopicFactory = Callable[..., Awaitable[str]]
SERIALIZER = Serializer(REGISTRY)


@pytest.fixture
async def topics(unique_topic: TopicFactory) -> dict[str, str]:
    return {
        "commands": await unique_topic(2),
        "changes": await unique_topic(1),
        "dead": await unique_topic(1),
        "replies": await unique_topic(1),
    }


async def wait_for_rows(session: Session, keyspace: str, count: int) -> None:
    async with asyncio.timeout(30):
        while len(journal_rows(session, keyspace)) < count:  # noqa: ASYNC110 - polling Cassandra
            await asyncio.sleep(0.2)


async def test_a_batch_journaled_but_never_committed_is_republished_not_reapplied(
    topics: dict[str, str],
    kafka_bootstrap: str,
    cassandra_contact: tuple[str, int],
    cassandra_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyspace = fresh_keyspace(cassandra_session)
    settings = engine_settings(kafka_bootstrap, cassandra_contact[1], keyspace, topics)
    entities = [str(i) for i in range(8)]
    deposits = [envelope(SERIALIZER, e, Deposit(amount=1)) for e in entities for _ in range(5)]
    transfer = envelope(SERIALIZER, "0", Transfer(to="payee", amount=2))
    commands = [*deposits, transfer]
    real_publish = PartitionProducer.publish

    async def crash_before_commit(self: PartitionProducer, contents: TransactionContents) -> None:
        if contents.commands:  # the ownership proof passes; egress "dies" before committing
            await asyncio.Event().wait()
        await real_publish(self, contents)

    started = time.monotonic()
    monkeypatch.setattr(PartitionProducer, "publish", crash_before_commit)
    async with Engine(settings, [LEDGER], registry=REGISTRY):
        sources = await produce(kafka_bootstrap, topics["commands"], commands)
        await wait_for_rows(cassandra_session, keyspace, len(commands))
    epoch_of_first = {row.writer_epoch for row in journal_rows(cassandra_session, keyspace)}
    monkeypatch.setattr(PartitionProducer, "publish", real_publish)

    async with Engine(settings, [LEDGER], registry=REGISTRY) as engine:
        # deposits (40) + the transfer's withdrawal + the payee's deposit, emitted again
        await read_until(
            kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= len(commands) + 1
        )
        balances = {e: await engine.ask("ledger", e, Deposit(amount=0)) for e in entities}
        payee = await engine.ask("ledger", "payee", Deposit(amount=0))
        # ... and the balance queries' own Deposited(0) events
        total = len(commands) + 1 + len(entities) + 1
        changes = await read_until(kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= total)
    assert balances == {e: (3 if e == "0" else 5) for e in entities}
    assert payee == 2
    events = published(changes)
    assert len(events) == total  # each event published once
    ids = {c.command_id for c in commands}
    first_run = [e for e in events if e.command_id in ids]
    assert {e.writer_epoch for e in first_run} == epoch_of_first  # republished as journaled
    assert len(first_run) == len(commands)
    history = History(
        sent=sent(commands, sources),
        journal=journal_rows(cassandra_session, keyspace),
        published=events,
        duration_s=time.monotonic() - started,
    )
    report = check_history(history)
    report.assert_ok(min_applied=len(commands))

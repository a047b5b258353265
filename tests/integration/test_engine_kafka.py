"""The engine on the real Kafka and Cassandra: commands in, events journaled, state changes
out in per-entity order; duplicates applied once; poison and misrouted records dead-lettered
while valid commands flow; request-reply. Each run goes through the history checker."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from cassandra.cluster import Session

from repertory.engine import Engine
from repertory.kafka import CommandFailed, partition_for
from repertory.protocols import Serializer
from repertory.testing.history import History, check_history
from tests.integration.engine_domain import (
    LEDGER,
    REGISTRY,
    Deposit,
    Explode,
    InsufficientFunds,
    Withdraw,
)
from tests.integration.engine_harness import (
    acks,
    dead_letters,
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
PARTITIONS = 4


@pytest.fixture
async def topics(unique_topic: TopicFactory) -> dict[str, str]:
    return {
        "commands": await unique_topic(PARTITIONS),
        "changes": await unique_topic(2),
        "dead": await unique_topic(1),
        "replies": await unique_topic(1),
    }


@pytest.fixture
def keyspace(cassandra_session: Session) -> str:
    return fresh_keyspace(cassandra_session)


@pytest.fixture
def settings_for(
    kafka_bootstrap: str, cassandra_contact: tuple[str, int], keyspace: str, topics: dict[str, str]
) -> Callable[..., Any]:
    def build(**kafka: Any) -> Any:
        return engine_settings(kafka_bootstrap, cassandra_contact[1], keyspace, topics, **kafka)

    return build


SERIALIZER = Serializer(REGISTRY)


def tally(commands: Any) -> dict[str, object]:
    totals: dict[str, object] = {}
    for command in commands:
        if command.command_type == "ledger.Deposit":
            totals[command.persistence_id] = int(totals.get(command.persistence_id, 0)) + 1
    return totals


async def test_commands_flow_and_duplicates_apply_once(
    settings_for: Callable[..., Any],
    topics: dict[str, str],
    kafka_bootstrap: str,
    cassandra_session: Session,
    keyspace: str,
) -> None:
    entities = [str(i) for i in range(20)]
    first = [envelope(SERIALIZER, e, Deposit(amount=1)) for e in entities for _ in range(10)]
    again = first[::7]  # the same command ids, sent again as new records
    started = time.monotonic()
    async with Engine(settings_for(), [LEDGER], registry=REGISTRY) as engine:
        sources = await produce(kafka_bootstrap, topics["commands"], first + again)
        await read_until(kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= len(first))
        # the entities' state agrees with what was sent (each deposit counted once)
        balances = {e: await engine.ask("ledger", e, Deposit(amount=0)) for e in entities}
        total = len(first) + len(entities)
        changes = await read_until(kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= total)
    assert balances == {e: 10 for e in entities}
    assert len(changes) == total  # nothing published twice, nothing missing
    history = History(
        sent=sent(first + again, sources),
        journal=journal_rows(cassandra_session, keyspace),
        published=published(changes),
        duration_s=time.monotonic() - started,
    )
    report = check_history(history)
    report.assert_ok(min_applied=len(first))
    assert report.applied >= len(first)
    per_entity: dict[str, list[int]] = {}
    for change in history.published:
        per_entity.setdefault(change.persistence_id, []).append(change.seq_nr)
    assert all(seqs[: len(set(seqs))] == sorted(set(seqs)) for seqs in per_entity.values())


async def test_poison_and_misrouted_records_are_dead_lettered_while_valid_ones_flow(
    settings_for: Callable[..., Any],
    topics: dict[str, str],
    kafka_bootstrap: str,
    cassandra_session: Session,
    keyspace: str,
) -> None:
    valid = [envelope(SERIALIZER, str(i), Deposit(amount=1)) for i in range(30)]
    key = b"ledger|misrouted"
    wrong = (partition_for(key, PARTITIONS) + 1) % PARTITIONS
    good_key = b"ledger|poison"
    home = partition_for(good_key, PARTITIONS)
    raw = (
        (good_key, b"\xc1 not msgpack", home),
        (key, b"whatever", wrong),
        (None, b"no key", 0),
    )
    explode = envelope(SERIALIZER, "bomb", Explode())
    started = time.monotonic()
    async with Engine(settings_for(), [LEDGER], registry=REGISTRY):
        sources = await produce(kafka_bootstrap, topics["commands"], [*valid, explode], raw)
        letters = await read_until(kafka_bootstrap, topics["dead"], lambda rs: len(rs) >= 4)
        changes = await read_until(
            kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= len(valid)
        )
    reasons = sorted(d.reason for d in dead_letters(letters))
    assert reasons == ["entity_stopped", "malformed", "misrouted", "misrouted"]
    history = History(
        sent=[*sent(valid, sources), *sent([explode], sources[len(valid) :], valid=False)],
        journal=journal_rows(cassandra_session, keyspace),
        published=published(changes),
        dead_letters=dead_letters(letters),
        duration_s=time.monotonic() - started,
    )
    check_history(history).assert_ok(min_applied=len(valid))


async def test_request_reply_through_the_commands_topic(
    settings_for: Callable[..., Any],
    topics: dict[str, str],
    kafka_bootstrap: str,
    cassandra_session: Session,
    keyspace: str,
) -> None:
    started = time.monotonic()
    async with Engine(settings_for(), [LEDGER], registry=REGISTRY) as engine:
        assert await engine.ask("ledger", "a", Deposit(amount=5), timeout=30) == 5
        assert await engine.ask("ledger", "a", Withdraw(amount=2), timeout=30) == 3
        with pytest.raises(CommandFailed) as refused:
            await engine.ask("ledger", "a", Withdraw(amount=50), timeout=30)
        assert refused.value.error_class == InsufficientFunds.__name__
        # the same command id again: the stored reply, not a second application
        assert await engine.ask("ledger", "a", Deposit(amount=5), command_id="once") == 8
        assert await engine.ask("ledger", "a", Deposit(amount=5), command_id="once") == 8
        await engine.tell("ledger", "b", Deposit(amount=1))
        assert await engine.ask("ledger", "b", Deposit(amount=1), timeout=30) == 2
    replies = await read_until(kafka_bootstrap, topics["replies"], lambda rs: len(rs) >= 6)
    changes = await read_until(kafka_bootstrap, topics["changes"], lambda rs: len(rs) >= 5)
    report = check_history(
        History(
            sent=[],
            acks=acks(replies),
            journal=journal_rows(cassandra_session, keyspace),
            published=published(changes),
            duration_s=time.monotonic() - started,
        )
    )
    assert report.applied == 5
    assert not report.failures()
    assert {p.persistence_id for p in published(changes)} == {"ledger|a", "ledger|b"}
    assert len(published(changes)) == 5

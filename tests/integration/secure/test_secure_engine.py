"""The real engine in Kafka mode on the secured stack: every Kafka client over SASL_SSL (SCRAM),
the journal over TLS with a password login. One ask makes the whole round trip (commands topic,
journal, transactional egress, replies topic), and the full run's logs, captured at DEBUG from
both logging systems, contain no secret."""

from __future__ import annotations

import logging
import uuid

import pytest
import structlog
from conftest import SecureStack
from secure_clients import create_topic
from structlog.testing import capture_logs
from test_secure_cassandra import connect

from repertory.config import CassandraSettings, JournalSettings, KafkaSettings, Settings
from repertory.engine import Engine
from repertory.errors import AuthenticationFailed
from repertory.persistence.cassandra_schema import create_schema
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit


def secured_settings(stack: SecureStack, keyspace: str, topics: dict[str, str]) -> Settings:
    ident = uuid.uuid4().hex[:8]
    host, port = stack.cassandra_contact
    return Settings(
        kafka=KafkaSettings(
            enabled=True,
            bootstrap_servers=stack.kafka_bootstrap,
            commands_topic=topics["commands"],
            state_changes_topic=topics["changes"],
            dead_letters_topic=topics["dead"],
            replies_topic=topics["replies"],
            group_id=f"secure-engine-{ident}",
            transactional_id_prefix=f"secure-engine-{ident}",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        ),
        kafka_security=stack.kafka_security("SCRAM-SHA-512"),
        journal=JournalSettings(backend="cassandra", mode="fenced"),
        cassandra=CassandraSettings(contact_points=(host,), port=port, keyspace=keyspace),
        cassandra_security=stack.cassandra_security(),
    )


async def test_the_engine_runs_over_sasl_ssl_and_cassandra_tls_without_leaking_secrets(
    secure_stack: SecureStack,
    secure_topic_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    security = secure_stack.kafka_security("SCRAM-SHA-512")
    topics = {kind: f"{secure_topic_name}-{kind}" for kind in ("commands", "changes", "dead")}
    topics["replies"] = f"{secure_topic_name}-replies"
    for topic in topics.values():
        await create_topic(secure_stack.kafka_bootstrap, security, topic)
    keyspace = f"secure_engine_{uuid.uuid4().hex[:10]}"
    cluster = connect(secure_stack, secure_stack.cassandra_security())
    try:
        create_schema(cluster.connect(), keyspace)
    finally:
        cluster.shutdown()
    settings = secured_settings(secure_stack, keyspace, topics)

    caplog.set_level(logging.DEBUG)
    with capture_logs() as structured:
        async with Engine(settings, [LEDGER], registry=REGISTRY) as engine:
            assert await engine.ask("ledger", "secure", Deposit(amount=3), timeout=60) == 3
            assert await engine.ask("ledger", "secure", Deposit(amount=4), timeout=30) == 7
            assert engine.edge is not None and engine.edge.statistics()["owned"] == 1

        wrong = settings.model_copy(
            update={"kafka_security": secure_stack.kafka_security(password="not-it-at-all")}
        )
        with pytest.raises(AuthenticationFailed, match=r"\[alice\].*SCRAM-SHA-512"):
            async with Engine(wrong, [LEDGER], registry=REGISTRY):
                pass
        refused = settings.model_copy(
            update={"cassandra_security": secure_stack.cassandra_security(password="nor-this")}
        )
        with pytest.raises(AuthenticationFailed, match=r"refused the login as \[repertory_app\]"):
            async with Engine(refused, [LEDGER], registry=REGISTRY):
                pass

    texts = [caplog.text, *(r.getMessage() for r in caplog.records)]
    texts += [structlog.dev.ConsoleRenderer(colors=False)(None, "", dict(e)) for e in structured]
    assert len(caplog.records) > 20 and structured  # the run was really logged
    for secret in (*secure_stack.secrets, "not-it-at-all", "nor-this"):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"a secret leaked into {leaks[0][:300]!r}"

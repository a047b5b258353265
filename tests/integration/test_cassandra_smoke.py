"""Cassandra as the journal uses it: a schema file applied to a fresh keyspace, batches, and a
conditional insert (lightweight transaction) that is applied once and refused after."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType

SCHEMA = Path(__file__).with_name("smoke_schema.cql")


def statements(cql: str) -> list[str]:
    """The statements of a CQL file: comments removed, split on ';'."""
    without_comments = re.sub(r"--[^\n]*", "", cql)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


@pytest.fixture(scope="module")
def smoke_keyspace(cassandra_session: Session, cassandra_keyspace: str) -> Iterator[str]:
    """The session keyspace with the smoke schema applied (once per module)."""
    bound = cassandra_session.cluster.connect(cassandra_keyspace)
    try:
        for statement in statements(SCHEMA.read_text()):
            bound.execute(statement)
    finally:
        bound.shutdown()
    yield cassandra_keyspace


def test_schema_file_creates_its_tables(cassandra_session: Session, smoke_keyspace: str) -> None:
    rows = cassandra_session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", [smoke_keyspace]
    )
    assert {row.table_name for row in rows} >= {"smoke_claims", "smoke_events"}
    assert len(statements(SCHEMA.read_text())) == 2


def test_server_speaks_protocol_v5_and_is_release_5(cassandra_session: Session) -> None:
    row = cassandra_session.execute("SELECT release_version FROM system.local").one()
    assert row.release_version.startswith("5.0.")
    assert cassandra_session.cluster.protocol_version == 5


def test_conditional_insert_applies_once_then_returns_the_existing_row(
    cassandra_session: Session, smoke_keyspace: str
) -> None:
    name = f"claim-{uuid.uuid4().hex[:8]}"
    insert = cassandra_session.prepare(
        f"INSERT INTO {smoke_keyspace}.smoke_claims (name, owner, claimed_at) "
        "VALUES (?, ?, ?) IF NOT EXISTS"
    )
    now = datetime.now(UTC).replace(microsecond=0)

    first = cassandra_session.execute(insert, [name, "worker-1", now]).one()
    second = cassandra_session.execute(insert, [name, "worker-2", now]).one()

    assert first.applied is True
    assert second.applied is False
    assert second.owner == "worker-1"  # the refused insert returns the row that won
    stored = cassandra_session.execute(
        f"SELECT owner FROM {smoke_keyspace}.smoke_claims WHERE name = %s", [name]
    ).one()
    assert stored.owner == "worker-1"


def test_single_partition_unlogged_batch_reads_back_in_order(
    cassandra_session: Session, smoke_keyspace: str
) -> None:
    entity = f"entity-{uuid.uuid4().hex[:8]}"
    insert = cassandra_session.prepare(
        f"INSERT INTO {smoke_keyspace}.smoke_events (entity_id, seq_nr, payload) VALUES (?, ?, ?)"
    )
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for seq_nr in range(1, 51):
        batch.add(insert, [entity, seq_nr, f"event-{seq_nr}".encode()])
    cassandra_session.execute(batch)

    rows = list(
        cassandra_session.execute(
            f"SELECT seq_nr, payload FROM {smoke_keyspace}.smoke_events WHERE entity_id = %s",
            [entity],
        )
    )
    assert [row.seq_nr for row in rows] == list(range(1, 51))
    assert rows[-1].payload == b"event-50"

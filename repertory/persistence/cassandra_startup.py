"""Start-up checks of the Cassandra journal: the schema is there, the keyspace is ours, and the
consistency levels overlap for its replication. Refusing to start beats forking a journal."""

from __future__ import annotations

from repertory.errors import JournalMismatch, JournalUnavailable
from repertory.persistence.cassandra_consistency import Replication, overlap_problem
from repertory.persistence.cassandra_schema import (
    KeyspaceRecord,
    check_record,
    record_from_values,
    record_insert,
    record_select,
    record_values,
)
from repertory.persistence.cassandra_session import CassandraSession, consistency

_REPLICATION = "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s"
_TABLES = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s"
_TABLES_NEEDED = {"events", "snapshots", "epoch_claims", "entity_metadata", "keyspace_metadata"}


async def check_keyspace(cassandra: CassandraSession, wanted: KeyspaceRecord) -> None:
    """Check the schema and the consistency levels, then record ``wanted`` or compare with it.

    The record is inserted with ``IF NOT EXISTS``: the first start of a keyspace records what
    it is, every later one compares (read back at SERIAL, so a concurrent first start is seen).

    Raises:
        JournalUnavailable: the keyspace or one of its tables does not exist.
        JournalMismatch: consistency levels that may miss writes, or another recorded journal.
    """
    settings = cassandra.settings
    keyspace = settings.keyspace
    replication = await _replication(cassandra, keyspace)
    problem = overlap_problem(
        settings.read_consistency,
        settings.write_consistency,
        replication,
        settings.local_datacenter,
    )
    if problem:
        raise JournalMismatch(f"consistency levels refused for keyspace [{keyspace}]: {problem}")
    insert = await cassandra.prepare(record_insert(keyspace, "?"))
    insert.consistency_level = consistency(settings.write_consistency)
    answer = await cassandra.execute(insert.bind(record_values(wanted)))
    if answer and answer[0][0]:
        return
    select = await cassandra.prepare(record_select(keyspace))
    select.consistency_level = consistency(settings.serial_consistency)
    rows = await cassandra.execute(select.bind(()))
    check_record(keyspace, record_from_values(rows[0]) if rows else None, wanted)


async def _replication(cassandra: CassandraSession, keyspace: str) -> Replication:
    rows = await cassandra.execute(_REPLICATION, (keyspace,))
    if not rows:
        raise JournalUnavailable(
            f"keyspace [{keyspace}] does not exist: run `repertory schema create`"
        )
    tables = {row[0] for row in await cassandra.execute(_TABLES, (keyspace,))}
    missing = sorted(_TABLES_NEEDED - tables)
    if missing:
        raise JournalUnavailable(
            f"keyspace [{keyspace}] lacks journal tables {missing}: run `repertory schema create`"
        )
    try:
        return Replication.from_options(dict(rows[0][0]))
    except ValueError as exc:
        raise JournalMismatch(f"keyspace [{keyspace}]: {exc}") from exc

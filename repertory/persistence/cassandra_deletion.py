"""Deleting an entity's events up to a marker, and listing the entities a keyspace holds.

The marker is raised with a compare-and-set in both modes (deletion is rare, and a marker must
only ever rise even when two deleters race); rows at or below it are then removed with plain
range deletes: nothing ever writes them again, so they need no condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from repertory.errors import JournalUnavailable
from repertory.persistence._chain import Anchor
from repertory.persistence._records import PersistenceId
from repertory.persistence._rules import partition_nr
from repertory.persistence.cassandra_reads import EntityReader
from repertory.persistence.cassandra_session import CassandraSession
from repertory.persistence.cassandra_statements import Statements

MAX_MARKER_ATTEMPTS = 10


async def raise_marker(
    cassandra: CassandraSession,
    statements: Statements,
    reader: EntityReader,
    persistence_id: PersistenceId,
    marker: Anchor,
    partition_size: int,
) -> Anchor:
    """Store ``marker`` unless a higher one is stored, delete rows up to the result, return it."""
    pid = str(persistence_id)
    previous = await reader.marker(persistence_id)
    current = previous
    for _ in range(MAX_MARKER_ATTEMPTS):
        if current is not None and current.seq_nr >= marker.seq_nr:
            break
        now = datetime.now(UTC)
        if current is None:
            bound = statements.insert_marker.bind((pid, marker.seq_nr, marker.epoch, now))
        else:
            bound = statements.raise_marker.bind(
                (marker.seq_nr, marker.epoch, now, pid, current.seq_nr)
            )
        answer = await cassandra.execute(bound)
        if answer and answer[0][0]:
            current = marker
            break
        current = await reader.marker(persistence_id)
    else:
        raise JournalUnavailable(f"could not raise the deletion marker of [{persistence_id}]")
    assert current is not None  # the loop either stored ours or saw a higher one
    first = partition_nr(previous.seq_nr + 1, partition_size) - 1 if previous else 0
    for partition in range(max(first, 0), partition_nr(current.seq_nr, partition_size) + 1):
        await cassandra.execute(statements.delete_events.bind((pid, partition, current.seq_nr)))
    return current


_ENTITY_SCANS = (
    "SELECT DISTINCT persistence_id, partition_nr FROM {}.events",
    "SELECT persistence_id FROM {}.entity_metadata",
    "SELECT DISTINCT persistence_id FROM {}.snapshots",
)
"""Where an entity leaves its id: its partitions, its deletion marker, its snapshots."""


async def known_persistence_ids(
    cassandra: CassandraSession, keyspace: str, limit: int
) -> set[str] | None:
    """Every entity with an opened partition, a deletion marker or a snapshot; None past
    ``limit`` (the scans stop there). A conditional write opens its partition's ``head_seq``,
    and partitions keep it through deletion, so the partition keys are enough."""
    return await _scan_ids(cassandra, keyspace, _ENTITY_SCANS, limit)


async def list_persistence_ids(cassandra: CassandraSession, keyspace: str) -> list[PersistenceId]:
    """Every entity with rows or a marker (a full scan: for the offline check command)."""
    found = await _scan_ids(cassandra, keyspace, _ENTITY_SCANS[:2], None)
    return sorted(PersistenceId.parse(pid) for pid in found or ())


async def _scan_ids(
    cassandra: CassandraSession, keyspace: str, scans: Sequence[str], limit: int | None
) -> set[str] | None:
    """The persistence ids the scans return; None once more than ``limit`` are found."""
    found: set[str] = set()
    for scan in scans:
        async for row in cassandra.stream(scan.format(keyspace)):
            found.add(row[0])
            if limit is not None and len(found) > limit:
                return None
    return found

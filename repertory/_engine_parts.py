"""What the engine builds from settings: the journal and snapshot store (the outbox relay is
in ``_outbox_relay``).

Kept apart from ``engine.py`` so the composition root reads as the order things start in.
"""

from __future__ import annotations

from repertory.config import Settings
from repertory.errors import ConfigError
from repertory.persistence import (
    InMemoryJournal,
    InMemorySnapshotStore,
    Journal,
    JournalMode,
    SnapshotStore,
    SqliteJournal,
    SqliteSnapshotStore,
)

__all__ = ["open_stores"]


async def open_stores(
    settings: Settings, commands_partitions: int | None
) -> tuple[Journal, SnapshotStore]:
    """Open the journal and snapshot store the ``journal`` (and ``cassandra``) sections name.

    Raises:
        ConfigError: Kafka mode on a conditional journal, or embedded mode on a fenced one.
        JournalMismatch: the store records another mode, partition size or partition count.
    """
    section = settings.journal
    mode = JournalMode(section.mode)
    kafka = settings.kafka.enabled
    if kafka != (mode is JournalMode.FENCED):
        raise ConfigError(
            f"invalid setting [journal.mode] = {section.mode!r}: Kafka mode needs a fenced "
            "journal and an engine without Kafka a conditional one"
        )
    if section.backend == "memory":
        return InMemoryJournal(mode=mode, partition_size=section.partition_size), (
            InMemorySnapshotStore()
        )
    if section.backend == "sqlite":
        journal = await SqliteJournal.from_settings(section)
        snapshots = await SqliteSnapshotStore.open(
            section.sqlite_path,
            synchronous=section.sqlite_synchronous,
            busy_timeout=section.sqlite_busy_timeout,
        )
        return journal, snapshots
    from repertory.persistence.cassandra_journal import CassandraJournal
    from repertory.persistence.cassandra_snapshots import CassandraSnapshotStore

    cassandra = await CassandraJournal.open(
        settings.cassandra,
        mode=mode,
        partition_size=section.partition_size,
        commands_partitions=commands_partitions,
        security=settings.cassandra_security,
    )
    return cassandra, CassandraSnapshotStore(cassandra.session, owns_session=False)

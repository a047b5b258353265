"""What the engine builds from settings: the journal and snapshot store, the outbox relay.

Kept apart from ``engine.py`` so the composition root reads as the order things start in.
"""

from __future__ import annotations

import asyncio
from typing import Any

from repertory.actors import EntityRuntime
from repertory.config import Settings
from repertory.errors import ActorError, ConfigError, ProtocolError
from repertory.observability import get_logger
from repertory.persistence import (
    InMemoryJournal,
    InMemorySnapshotStore,
    Journal,
    JournalMode,
    Outbox,
    SnapshotStore,
    SqliteJournal,
    SqliteSnapshotStore,
)
from repertory.protocols import Command, Serializer

__all__ = ["OutboxRelay", "open_stores"]

_log = get_logger("repertory.engine")


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


class OutboxRelay:
    """Delivers emitted commands from an embedded journal's outbox to the local entities.

    A row is marked delivered once its command was handled (its ask settled), so a crash in
    between delivers it again, and the target recognises it by its derived command id.
    """

    def __init__(
        self, outbox: Outbox, runtime: EntityRuntime, serializer: Serializer, interval: float
    ) -> None:
        self.outbox = outbox
        self.runtime = runtime
        self.serializer = serializer
        self.interval = interval
        self.delivered = 0

    async def run(self) -> None:
        while True:
            pending = await self.outbox.outbox_pending(max_count=500)
            if not pending:
                await asyncio.sleep(self.interval)
                continue
            results = await asyncio.gather(*(self._deliver(r.entry) for r in pending))
            done = [r.position for r, ok in zip(pending, results, strict=True) if ok]
            await self.outbox.mark_delivered(done)
            self.delivered += len(done)
            if len(done) < len(pending):
                await asyncio.sleep(self.interval)

    async def _deliver(self, entry: Any) -> bool:
        try:
            entity_type, _, entity_id = entry.destination.partition("|")
            command = self.serializer.decode_message(
                entry.message_type, entry.schema_version, entry.payload, Command
            )
            ref = self.runtime.ref(entity_type, entity_id)
            timeout = self.runtime.settings.ask_timeout
            await ref.ask(command, timeout=timeout, command_id=entry.message_id)
            return True
        except (ProtocolError, ValueError) as exc:  # undeliverable forever: log, mark done
            _log.error("outbox entry dropped", message_id=entry.message_id, error=repr(exc))
            return True
        except ActorError as exc:
            _log.warning("outbox delivery failed", message_id=entry.message_id, error=repr(exc))
            return False
        except Exception:  # a business rejection still means the command was handled
            return True

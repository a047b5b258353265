"""A contract-suite harness for the Cassandra journal: one fresh keyspace per harness (test).

Each harness creates its own keyspace (SimpleStrategy, RF 1) on first use and drops it when
closed, so every test starts from an empty store, with its own epoch counter and record.
"""

from __future__ import annotations

import asyncio
import uuid

from repertory.config import CassandraSettings, load_settings
from repertory.persistence import Journal, JournalMode, SnapshotStore
from repertory.persistence.cassandra_journal import CassandraJournal
from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_session import CassandraSession
from repertory.persistence.cassandra_snapshots import CassandraSnapshotStore
from repertory.testing._journal_harness import CONTRACT_PARTITION_SIZE, JournalHarness

__all__ = ["CassandraHarness", "devstack_cassandra_settings"]


def devstack_cassandra_settings(keyspace: str) -> CassandraSettings:
    """Settings reaching the dev stack's Cassandra (its configured port) in ``keyspace``."""
    devstack = load_settings().devstack
    return CassandraSettings(
        contact_points=("127.0.0.1",), port=devstack.port("cassandra"), keyspace=keyspace
    )


class CassandraHarness(JournalHarness):
    """Handles on one fresh keyspace of the dev stack's Cassandra (or ``settings``' cluster)."""

    def __init__(
        self,
        mode: JournalMode,
        partition_size: int = CONTRACT_PARTITION_SIZE,
        settings: CassandraSettings | None = None,
    ) -> None:
        super().__init__(mode, partition_size)
        keyspace = f"contract_{uuid.uuid4().hex[:12]}"
        base = settings or devstack_cassandra_settings(keyspace)
        self.settings = base.model_copy(update={"keyspace": keyspace})
        self._session: CassandraSession | None = None

    async def _shared_session(self) -> CassandraSession:
        if self._session is None:
            session = CassandraSession(self.settings)
            await session.connect()
            await asyncio.to_thread(create_schema, session.session, self.settings.keyspace)
            self._session = session
        return self._session

    async def _open_journal(self) -> Journal:
        await self._shared_session()  # the keyspace exists before the first handle opens
        return await CassandraJournal.open(
            self.settings, mode=self.mode, partition_size=self.partition_size
        )

    async def _open_snapshot_store(self) -> SnapshotStore:
        return CassandraSnapshotStore(await self._shared_session(), owns_session=False)

    async def aclose(self) -> None:
        await super().aclose()
        session, self._session = self._session, None
        if session is not None:
            drop = f"DROP KEYSPACE IF EXISTS {self.settings.keyspace}"
            await asyncio.to_thread(session.session.execute, drop)
            await session.aclose()

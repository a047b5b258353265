"""What the journal contract suite needs of a journal: a harness opening handles on one store.

A harness stands for one fresh, empty store per test; every handle it opens shares that store
(as processes sharing a database do). Implement one for your own journal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from repertory.persistence import (
    InMemoryJournal,
    InMemorySnapshotStore,
    Journal,
    JournalMode,
    MemoryStore,
    SnapshotStore,
    SqliteJournal,
    SqliteSnapshotStore,
)

__all__ = ["InMemoryHarness", "JournalHarness", "SqliteHarness"]

CONTRACT_PARTITION_SIZE = 4
"""Small, so the suite's histories cross partition boundaries and overrun them."""


class JournalHarness(ABC):
    """Opens journal and snapshot-store handles on one fresh store; closes them all at the end.

    Args:
        mode: the mode of the store.
        partition_size: the store's nominal partition size (small by default, see above).
    """

    def __init__(self, mode: JournalMode, partition_size: int = CONTRACT_PARTITION_SIZE) -> None:
        self.mode = mode
        self.partition_size = partition_size
        self._opened: list[Journal | SnapshotStore] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode.value}, opened={len(self._opened)})"

    @abstractmethod
    async def _open_journal(self) -> Journal:
        """A new journal handle on the store."""

    @abstractmethod
    async def _open_snapshot_store(self) -> SnapshotStore:
        """A new snapshot-store handle on the store."""

    async def open_journal(self) -> Journal:
        journal = await self._open_journal()
        self._opened.append(journal)
        return journal

    async def open_snapshot_store(self) -> SnapshotStore:
        store = await self._open_snapshot_store()
        self._opened.append(store)
        return store

    async def aclose(self) -> None:
        """Close every handle opened, newest first."""
        while self._opened:
            await self._opened.pop().aclose()


class InMemoryHarness(JournalHarness):
    """Handles on one :class:`MemoryStore`."""

    def __init__(self, mode: JournalMode, partition_size: int = CONTRACT_PARTITION_SIZE) -> None:
        super().__init__(mode, partition_size)
        self.store = MemoryStore(mode=mode, partition_size=partition_size)

    async def _open_journal(self) -> Journal:
        return InMemoryJournal(self.store, mode=self.mode)

    async def _open_snapshot_store(self) -> SnapshotStore:
        return InMemorySnapshotStore(self.store)


class SqliteHarness(JournalHarness):
    """Handles on one SQLite file in ``directory``."""

    def __init__(
        self,
        mode: JournalMode,
        directory: Path,
        partition_size: int = CONTRACT_PARTITION_SIZE,
    ) -> None:
        super().__init__(mode, partition_size)
        self.path = directory / "journal.sqlite3"

    async def _open_journal(self) -> Journal:
        return await SqliteJournal.open(
            self.path, mode=self.mode, partition_size=self.partition_size
        )

    async def _open_snapshot_store(self) -> SnapshotStore:
        return await SqliteSnapshotStore.open(self.path)

"""Raw journal rows of every epoch, read straight from the store's tables — never through the
journal's replay, which hides forks by construction (the checker resolves chains itself)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from repertory.config import CassandraSettings
from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_session import CassandraSession
from repertory.testing.history import JournalRow, Source

__all__ = ["CassandraRows", "sqlite_rows"]

_T = TypeVar("_T")
_COLUMNS = (
    "persistence_id, seq_nr, writer_epoch, prev_epoch, command_id, event_type, "
    "source_topic, source_partition, source_offset"
)


def _row(values: Any) -> JournalRow:
    topic = values[6]
    return JournalRow(
        persistence_id=values[0],
        seq_nr=values[1],
        writer_epoch=values[2],
        prev_epoch=values[3],
        command_id=values[4] or "",
        event_type=values[5],
        source=Source(topic=topic, partition=values[7], offset=values[8]) if topic else None,
    )


class CassandraRows:
    """One harness session on Cassandra: creates and drops run keyspaces, reads raw rows.

    Cassandra may just have been restarted by a scenario: a request that finds no host is
    tried again on a fresh connection, for up to ``patience`` seconds.
    """

    def __init__(self, host: str, port: int, patience: float = 90.0) -> None:
        self._settings = CassandraSettings(
            contact_points=(host,), port=port, request_timeout=30.0, reconnect_max_delay=1.0
        )
        self._session = CassandraSession(self._settings)
        self._patience = patience

    async def connect(self) -> None:
        await self._session.connect()

    async def aclose(self) -> None:
        await self._session.aclose()

    async def _run(self, work: Callable[[Any], _T]) -> _T:
        deadline = time.monotonic() + self._patience
        while True:
            try:
                await self._session.connect()
                return await asyncio.to_thread(work, self._session.session)
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await self._session.aclose()
                self._session = CassandraSession(self._settings)
                await asyncio.sleep(1.0)

    async def create_keyspace(self, name: str) -> None:
        """A keyspace with the journal schema (SimpleStrategy, RF 1)."""
        await self._run(lambda session: create_schema(session, name))

    async def drop_keyspace(self, name: str) -> None:
        await self._run(lambda session: session.execute(f"DROP KEYSPACE IF EXISTS {name}"))

    async def rows(self, keyspace: str) -> list[JournalRow]:
        """Every raw row of ``keyspace``'s journal (static-only partition heads skipped)."""

        def read(session: Any) -> list[JournalRow]:
            result = session.execute(f"SELECT {_COLUMNS} FROM {keyspace}.events")
            return [_row(r) for r in result if r[1] is not None]

        return await self._run(read)


def sqlite_rows(path: Path) -> list[JournalRow]:
    """Every raw row of a SQLite journal file (read-only; its writer may be dead or alive)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM events")]

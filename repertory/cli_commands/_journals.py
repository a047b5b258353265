"""Opening an existing journal for the offline verbs (replay, republish, journal check, skew).

A tool must read a journal as it is: its mode and partition size come from what the store
recorded at creation, never from the tool's settings (which would refuse it, or on Cassandra
record a guess in a fresh keyspace). A journal that does not exist is an error, not created.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import click

from repertory.config import Settings
from repertory.errors import JournalUnavailable
from repertory.persistence import Journal, JournalMode, SqliteJournal

__all__ = ["JOURNAL_OPTION", "describe", "open_journal", "sqlite_path", "sqlite_record"]

JOURNAL_OPTION = click.option(
    "--journal",
    "journal_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read this SQLite journal file (default: the journal.* settings, SQLite or Cassandra).",
)


def sqlite_path(settings: Settings, journal_file: Path | None) -> Path | None:
    """The SQLite file to read, or None when the settings name Cassandra."""
    if journal_file is not None:
        return journal_file
    if settings.journal.backend == "cassandra":
        return None
    if settings.journal.backend == "memory":
        raise click.UsageError(
            "journal.backend is [memory]: nothing outlives the process to read; give --journal "
            "FILE or set REPERTORY_JOURNAL__BACKEND=sqlite|cassandra"
        )
    return settings.journal.sqlite_path


def describe(settings: Settings, journal_file: Path | None) -> str:
    """Where the journal is, for messages: a file, or a keyspace at its contact points."""
    path = sqlite_path(settings, journal_file)
    if path is not None:
        return f"SQLite [{path}]"
    c = settings.cassandra
    return f"Cassandra keyspace [{c.keyspace}] at [{','.join(c.contact_points)}]:[{c.port}]"


def sqlite_record(path: Path) -> tuple[JournalMode, int]:
    """The mode and partition size a SQLite journal file recorded.

    Raises:
        JournalUnavailable: no such file, or not a repertory journal.
    """
    if not path.is_file():
        raise JournalUnavailable(
            f"no journal at [{path}]: give --journal FILE or set journal.sqlite_path"
        )
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            recorded = dict(connection.execute("SELECT name, value FROM journal_metadata"))
    except sqlite3.Error as exc:
        raise JournalUnavailable(f"[{path}] is not a repertory journal: {exc}") from exc
    return JournalMode(recorded.get("mode", "conditional")), int(
        recorded.get("partition_size", 500_000)
    )


@asynccontextmanager
async def open_journal(settings: Settings, journal_file: Path | None) -> AsyncIterator[Journal]:
    """The journal the settings (or ``--journal FILE``) name, opened as recorded.

    Raises:
        JournalUnavailable: it does not exist or cannot be reached.
    """
    path = sqlite_path(settings, journal_file)
    if path is None:
        async with _open_cassandra(settings) as journal:
            yield journal
        return
    mode, partition_size = sqlite_record(path)
    sqlite = await SqliteJournal.open(
        path,
        mode=mode,
        partition_size=partition_size,
        busy_timeout=settings.journal.sqlite_busy_timeout,
    )
    try:
        yield sqlite
    finally:
        await sqlite.aclose()


@asynccontextmanager
async def _open_cassandra(settings: Settings) -> AsyncIterator[Journal]:
    from repertory.persistence.cassandra_journal import CassandraJournal
    from repertory.persistence.cassandra_schema import record_from_values, record_select
    from repertory.persistence.cassandra_session import CassandraSession

    session = CassandraSession(settings.cassandra)
    keyspace = settings.cassandra.keyspace
    try:
        await session.connect()
        try:
            rows = await session.execute(record_select(keyspace))
        except Exception as exc:
            raise JournalUnavailable(
                f"keyspace [{keyspace}] has no journal schema ({exc}); create it with "
                "`repertory schema create`"
            ) from exc
        if not rows:
            raise JournalUnavailable(f"keyspace [{keyspace}] holds no journal (nothing written)")
        record = record_from_values(rows[0])
        journal = await CassandraJournal.open(
            settings.cassandra,
            mode=JournalMode(record.mode),
            partition_size=record.partition_size,
            commands_partitions=record.commands_partitions,
            session=session,
        )
        try:
            yield journal
        finally:
            await journal.aclose()
    finally:
        await session.aclose()

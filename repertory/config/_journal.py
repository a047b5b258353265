"""Settings of the ``journal`` section: which journal stores events, and how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from repertory.config._base import Section


class JournalSettings(Section):
    backend: Literal["memory", "sqlite", "cassandra"] = "sqlite"
    """``sqlite``: the embedded default (one file); ``cassandra``: production; ``memory``: tests.
    Default sqlite."""

    mode: Literal["fenced", "conditional"] = "conditional"
    """``fenced``: Kafka mode, plain writes under claimed writer epochs; ``conditional``: no Kafka,
    each write compare-and-sets its partition's head. Recorded in the store at creation; a
    different value later refuses to start. Default conditional (the embedded engine)."""

    partition_size: int = Field(default=500_000, ge=1, le=10_000_000)
    """Nominal events per journal partition per entity; also the most events one atomic write may
    hold. Recorded in the store at creation. Default 500000 (as Akka's Cassandra plugin)."""

    sqlite_path: Path = Path("repertory-journal.sqlite3")
    """The SQLite file (journal, snapshots, outbox). Default ``./repertory-journal.sqlite3``."""

    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    """SQLite ``PRAGMA synchronous`` under WAL. NORMAL: durable against a process crash, may lose
    the last transactions on power loss; FULL: fsync at every commit. Default NORMAL."""

    sqlite_busy_timeout: float = Field(default=5.0, ge=0, le=600)
    """Seconds a SQLite statement waits for another process's lock before failing. Default 5."""

    max_group_writes: int = Field(default=2_000, ge=1, le=1_000_000)
    """Most atomic writes committed in one SQLite transaction (group commit). Default 2000."""

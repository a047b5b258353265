"""Counting a journal's rows per entity and per Cassandra partition, in bounded memory.

A scan yields ``(persistence_id, partition_nr, rows)`` once per journal partition. Partitions
are ranked exactly with a bounded heap (each arrives once). Entities are ranked exactly too when
the scan is ordered by entity (SQLite's primary key order: an entity's partitions arrive
together); a Cassandra scan walks token order, an entity's partitions arrive scattered, and
exact counts would need a counter per entity ever seen — there the Space-Saving summary keeps
``capacity`` counters and gives upper bounds with a known error.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repertory.config import CassandraSettings
from repertory.errors import JournalUnavailable
from repertory.observability._skew_render import Bar, SkewChart, chart_from_top
from repertory.observability._topk import SpaceSaving

__all__ = ["SkewTally", "cassandra_partitions", "sqlite_partitions"]

PartitionCount = tuple[str, int, int]
"""(persistence_id, partition_nr, rows)."""


class _TopExact:
    """The ``size`` heaviest of items that each arrive once, exactly, in ``size`` slots."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[int, str]] = []

    def add(self, label: str, count: int) -> None:
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, (count, label))
        elif count > self._heap[0][0]:
            heapq.heapreplace(self._heap, (count, label))

    def bars(self, n: int) -> tuple[Bar, ...]:
        ranked = sorted(self._heap, key=lambda item: (-item[0], item[1]))[:n]
        return tuple(Bar(label, count) for count, label in ranked)


@dataclass(slots=True)
class SkewTally:
    """Rows per entity and per partition of one scan.

    Args:
        top: bars kept per ranking.
        capacity: Space-Saving counters for an unordered scan's entities.
        ordered: an entity's partitions arrive together (exact entity counts).
    """

    top: int = 20
    capacity: int = 10_000
    ordered: bool = True
    total: int = 0
    partitions: int = 0
    entities: int = 0
    sizes: Counter[int] = field(default_factory=Counter)
    _partitions: _TopExact = field(init=False)
    _entities: _TopExact = field(init=False)
    _summary: SpaceSaving[str] = field(init=False)
    _current: str | None = None
    _current_rows: int = 0

    def __post_init__(self) -> None:
        self._partitions = _TopExact(self.top)
        self._entities = _TopExact(self.top)
        self._summary = SpaceSaving(self.capacity)

    def add(self, persistence_id: str, partition_nr: int, rows: int) -> None:
        """Count one journal partition's rows."""
        self.total += rows
        self.partitions += 1
        self._partitions.add(f"{persistence_id}#{partition_nr}", rows)
        if not self.ordered:
            self._summary.add(persistence_id, rows)
            if partition_nr == 0:
                self.entities += 1
            return
        if persistence_id != self._current:
            self._flush()
            self._current = persistence_id
        self._current_rows += rows

    def finish(self) -> None:
        """Count the last entity of an ordered scan."""
        self._flush()

    def _flush(self) -> None:
        if self._current is not None:
            self.entities += 1
            self._entities.add(self._current, self._current_rows)
            self.sizes[max(self._current_rows, 1).bit_length() - 1] += 1
        self._current, self._current_rows = None, 0

    def charts(self) -> list[SkewChart]:
        """Events per entity, per Cassandra partition, and (ordered scans) the size spread."""
        if self.ordered:
            entities = SkewChart(
                "events per entity", self._entities.bars(self.top), self.total, self.entities
            )
        else:
            entities = chart_from_top(
                "events per entity (approximate: Space-Saving)",
                self._summary,
                top=self.top,
                buckets=self.entities or None,
            )
        partitions = SkewChart(
            "events per journal partition (entity#partition_nr)",
            self._partitions.bars(self.top),
            self.total,
            self.partitions,
        )
        charts = [entities, partitions]
        if self.sizes:
            bars = tuple(Bar(_bucket(power), count) for power, count in sorted(self.sizes.items()))
            charts.append(
                SkewChart("entities by event count", bars, self.entities, None, unit="entities")
            )
        return charts

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.total,
            "entities": self.entities,
            "partitions": self.partitions,
            "exact": self.ordered or len(self._summary) < self.capacity,
        }


def _bucket(power: int) -> str:
    low, high = 1 << power, (1 << (power + 1)) - 1
    return str(low) if low == high else f"{low}–{high} events"


def sqlite_partitions(path: Path) -> Iterator[PartitionCount]:
    """Rows per journal partition of a SQLite journal, in entity order (read only)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            yield from connection.execute(
                "SELECT persistence_id, partition_nr, COUNT(*) FROM events "
                "GROUP BY persistence_id, partition_nr ORDER BY persistence_id, partition_nr"
            )
    except sqlite3.Error as exc:
        raise JournalUnavailable(f"cannot scan [{path}]: {exc}") from exc


async def cassandra_partitions(settings: CassandraSettings) -> AsyncIterator[PartitionCount]:
    """Rows per journal partition of the Cassandra keyspace: one paged full scan, token order."""
    from repertory.persistence.cassandra_session import CassandraSession

    session = CassandraSession(settings)
    await session.connect()
    key: tuple[str, int] | None = None
    rows = 0
    try:
        cql = f"SELECT persistence_id, partition_nr, seq_nr FROM {settings.keyspace}.events"
        statement = (await session.prepare(cql)).bind(())
        statement.fetch_size = settings.fetch_size
        async for page in session.pages(statement):
            for pid, partition_nr, seq_nr in page:
                if (pid, partition_nr) != key:
                    if key is not None and rows:
                        yield key[0], key[1], rows
                    key, rows = (pid, partition_nr), 0
                rows += seq_nr is not None  # a partition left with its static head only
        if key is not None and rows:
            yield key[0], key[1], rows
    finally:
        await session.aclose()

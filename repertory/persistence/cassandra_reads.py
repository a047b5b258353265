"""Reading one entity's events back: which partitions, the chain keys, and the rows themselves.

Why two passes for a replay: the canonical chain is only known once every row above the anchor
has been seen (the newest writer's last row may be the very last one), so a single pass would
have to hold every payload before yielding the first. The first pass reads only the chain keys
(three bigints a row), resolves the chain from them (``cassandra_keys``), and the second streams
the payloads of the requested slice, page by page, keeping the rows that are on the chain. Most
entities are small, though, and recovering one is on the path of its first command: when every
row above the anchor lies in partition 0 and fits one page, one request (partitions 0 and 1
together) reads them whole, and the chain is resolved from the rows themselves.

Partitions: rows above anchor seq ``a`` start in the partition of ``a + 1`` or the one before
it (a write may overrun its partition by one write). From the partition of ``a + 1`` on, the
first empty partition ends the entity: a write holds at most ``partition_size`` events, so it
can never leave a whole partition's range empty behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import NamedTuple, cast

from cassandra.query import Statement

from repertory.persistence._chain import Anchor
from repertory.persistence._contract import MAX_SEQ_NR
from repertory.persistence._records import EventRecord, PersistenceId
from repertory.persistence._rules import partition_nr
from repertory.persistence.cassandra_keys import ChainSpan, Link, PartitionKeys
from repertory.persistence.cassandra_rows import decode_row, decode_rows
from repertory.persistence.cassandra_session import CassandraSession, Row
from repertory.persistence.cassandra_statements import Statements

_GROUP_PAGES = 4  # pages of rows a grouped read holds before each entity is read alone


class SmallEntity(NamedTuple):
    """A single-pass read: the deletion marker, and every row of partition 0 (None when the
    rows do not tell the whole chain: read it in two passes)."""

    marker: Anchor | None
    rows: list[EventRecord] | None


def _position(row: EventRecord) -> tuple[int, int]:
    return row.seq_nr, row.writer_epoch


class EntityReader:
    """Reads of one journal keyspace (chain keys, rows, the deletion marker)."""

    def __init__(
        self, cassandra: CassandraSession, statements: Statements, partition_size: int
    ) -> None:
        self._cassandra = cassandra
        self._statements = statements
        self._partition_size = partition_size

    async def marker(self, persistence_id: PersistenceId) -> Anchor | None:
        """The entity's deletion marker, if it has one."""
        rows = await self._cassandra.execute(
            self._statements.read_marker.bind((str(persistence_id),))
        )
        if not rows or rows[0][0] is None:
            return None
        return Anchor(rows[0][0], rows[0][1] or 0)

    async def chain_keys(
        self, persistence_id: PersistenceId, anchor: Anchor
    ) -> list[PartitionKeys]:
        """Every row's key above ``anchor``, partition by partition, in stored order."""
        return [keys async for keys in self._partitions(persistence_id, anchor)]

    async def _partitions(
        self, persistence_id: PersistenceId, anchor: Anchor
    ) -> AsyncIterator[PartitionKeys]:
        first = partition_nr(anchor.seq_nr + 1, self._partition_size)
        partition = max(first - 1, 0)
        while True:
            rows: list[Link] = []
            async for page in self._key_pages(persistence_id, partition, anchor.seq_nr):
                rows.extend(page)  # type: ignore[arg-type]  # three bigints selected
            if not rows and partition >= first:
                return
            yield partition, rows
            partition += 1

    def _key_pages(
        self, persistence_id: PersistenceId, partition: int, above: int
    ) -> AsyncIterator[list[tuple[int, ...]]]:
        bound = self._statements.select_keys.bind((str(persistence_id), partition, above))
        bound.fetch_size = self._cassandra.settings.fetch_size * 4  # small rows: bigger pages
        return self._cassandra.pages(bound, ())

    async def chain_pages(
        self, persistence_id: PersistenceId, spans: Sequence[ChainSpan]
    ) -> AsyncIterator[list[EventRecord]]:
        """The chain's rows in ``spans``, page by page, in ascending seq_nr.

        Each span is one range of one partition, where a seq_nr is stored once per epoch:
        rows of other epochs are left out before they are decoded.
        """
        pid = str(persistence_id)
        for span in spans:
            bound = self._statements.select_events.bind(
                (pid, span.partition_nr, span.first_seq_nr, span.last_seq_nr)
            )
            bound.fetch_size = self._cassandra.settings.fetch_size
            epochs, first = span.epochs, span.first_seq_nr
            async for page in self._cassandra.pages(bound, ()):
                kept = [row for row in page if epochs[row[1] - first] == row[2]]
                yield decode_rows(persistence_id, kept)

    async def row_pages(
        self, persistence_id: PersistenceId, partitions: Sequence[int], low: int, high: int
    ) -> AsyncIterator[list[EventRecord]]:
        """Stored rows with ``low <= seq_nr <= high`` in ``partitions``, page by page, in order."""
        pid = str(persistence_id)
        for partition in partitions:
            bound = self._statements.select_events.bind((pid, partition, low, high))
            bound.fetch_size = self._cassandra.settings.fetch_size
            async for page in self._cassandra.pages(bound, ()):
                yield decode_rows(persistence_id, page)

    async def first_partition_rows(
        self, persistence_id: PersistenceId, above: int
    ) -> list[EventRecord] | None:
        """Every row above seq ``above``, in one request, when the entity is small: the
        single-pass read. Partitions 0 and 1 are read together and the rule above applies (the
        first empty partition from partition 0 on ends the entity). None when this read
        cannot tell and the caller reads in two passes: ``above + 1`` lies past partition 0,
        partition 1 holds rows, or the rows fill more than one page.
        """
        if above >= self._partition_size:
            return None
        bound = self._statements.select_first.bind((str(persistence_id), above + 1, MAX_SEQ_NR))
        bound.fetch_size = self._cassandra.settings.fetch_size
        rows, more = await self._cassandra.first_page(bound)
        if more:
            return None
        if any(row[0] != 0 for row in rows):  # partition_nr, the first column selected
            return None
        return decode_rows(persistence_id, rows)

    async def small_entities(
        self, persistence_ids: list[PersistenceId]
    ) -> dict[PersistenceId, SmallEntity]:
        """``marker`` and ``first_partition_rows(pid, 0)`` of many entities in two requests
        (see ``cassandra_grouped``); rows are None for an entity this read cannot tell.

        An entity read alone is told by its first page, as ``first_partition_rows`` does: a
        large one would otherwise have several pages of payloads read only to be dropped
        before its two-pass read.
        """
        if len(persistence_ids) == 1:
            [pid] = persistence_ids
            marker, alone = await asyncio.gather(
                self.marker(pid), self.first_partition_rows(pid, 0)
            )
            return {pid: SmallEntity(marker, alone)}
        names = [str(pid) for pid in persistence_ids]
        by_name = dict(zip(names, persistence_ids, strict=True))
        markers = self._cassandra.execute(self._statements.read_markers.bind((names,)))
        bound = self._statements.select_first_many.bind((names, 1, MAX_SEQ_NR))
        bound.fetch_size = self._cassandra.settings.fetch_size
        marker_rows, rows = await asyncio.gather(markers, self._bounded_rows(bound))
        found: dict[PersistenceId, list[EventRecord] | None] = {pid: [] for pid in by_name.values()}
        if rows is None:  # too many to hold: each entity is read on its own
            found = dict.fromkeys(by_name.values())
        else:
            for row in rows:
                pid = by_name[row[0]]
                held = found[pid]
                if held is None:
                    continue
                if row[1] != 0:  # partition 1 holds rows: the two-pass read decides
                    found[pid] = None
                else:
                    held.append(decode_row(pid, row[1:]))
        anchors: dict[PersistenceId, Anchor] = {
            by_name[name]: Anchor(seq, epoch or 0)
            for name, seq, epoch in marker_rows
            if seq is not None
        }
        answer = {}
        for pid, held in found.items():
            if held is not None:
                held.sort(key=_position)
            answer[pid] = SmallEntity(anchors.get(pid), held)
        return answer

    async def _bounded_rows(self, bound: Statement) -> list[Row] | None:
        rows: list[Row] = []
        limit = self._cassandra.settings.fetch_size * _GROUP_PAGES
        pages = cast("AsyncGenerator[list[Row], None]", self._cassandra.pages(bound))
        async with aclosing(pages):
            async for page in pages:
                rows.extend(page)
                if len(rows) > limit:
                    return None
        return rows

    async def all_rows(self, persistence_id: PersistenceId, anchor: Anchor) -> list[EventRecord]:
        """Every row above ``anchor`` (for ``check`` and deletion, which need whole rows)."""
        found = [
            (partition, keys)
            for partition, keys in await self.chain_keys(persistence_id, anchor)
            if keys
        ]
        partitions = [partition for partition, _ in found]
        high = max((keys[-1][0] for _, keys in found), default=anchor.seq_nr)  # seq_nr ascends
        pages = self.row_pages(persistence_id, partitions, anchor.seq_nr + 1, high)
        return [row async for page in pages for row in page]

"""Reading one entity's events back: which partitions, the chain keys, and the rows themselves.

Why two passes for a replay: the canonical chain is only known once every row above the anchor
has been seen (the newest writer's last row may be the very last one), so a single pass would
have to hold every payload before yielding the first. The first pass reads only the chain keys
(three bigints a row), resolves the chain with the shared resolver, and the second streams the
payloads of the requested slice, page by page, keeping the rows that are on the chain.

Partitions: rows above anchor seq ``a`` start in the partition of ``a + 1`` or the one before
it (a write may overrun its partition by one write). From the partition of ``a + 1`` on, the
first empty partition ends the entity: a write holds at most ``partition_size`` events, so it
can never leave a whole partition's range empty behind it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from repertory.persistence._chain import Anchor
from repertory.persistence._records import EventRecord, PersistenceId
from repertory.persistence._rules import partition_nr
from repertory.persistence.cassandra_rows import ChainKey, decode_row
from repertory.persistence.cassandra_session import CassandraSession
from repertory.persistence.cassandra_statements import Statements


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

    async def chain_keys(self, persistence_id: PersistenceId, anchor: Anchor) -> list[ChainKey]:
        """Every row's key above ``anchor``, partition by partition, in stored order."""
        keys: list[ChainKey] = []
        async for partition, rows in self._partitions(persistence_id, anchor):
            keys.extend(ChainKey(seq, epoch, prev, partition) for seq, epoch, prev in rows)
        return keys

    async def _partitions(
        self, persistence_id: PersistenceId, anchor: Anchor
    ) -> AsyncIterator[tuple[int, list[tuple[int, int, int]]]]:
        first = partition_nr(anchor.seq_nr + 1, self._partition_size)
        partition = max(first - 1, 0)
        while True:
            rows: list[tuple[int, int, int]] = []
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

    async def row_pages(
        self, persistence_id: PersistenceId, partitions: Sequence[int], low: int, high: int
    ) -> AsyncIterator[list[EventRecord]]:
        """Stored rows with ``low <= seq_nr <= high`` in ``partitions``, page by page, in order."""
        pid = str(persistence_id)
        for partition in partitions:
            bound = self._statements.select_events.bind((pid, partition, low, high))
            bound.fetch_size = self._cassandra.settings.fetch_size
            async for page in self._cassandra.pages(bound, ()):
                yield [decode_row(persistence_id, row) for row in page]

    async def all_rows(self, persistence_id: PersistenceId, anchor: Anchor) -> list[EventRecord]:
        """Every row above ``anchor`` (for ``check`` and deletion, which need whole rows)."""
        keys = await self.chain_keys(persistence_id, anchor)
        partitions = sorted({key.partition_nr for key in keys})
        high = max((key.seq_nr for key in keys), default=anchor.seq_nr)
        pages = self.row_pages(persistence_id, partitions, anchor.seq_nr + 1, high)
        return [row async for page in pages for row in page]

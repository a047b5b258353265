"""The read side every journal shares: load rows above an anchor, resolve, slice, report.

A journal supplies three primitives (read rows above the effective anchor, raise a deletion
marker, list its entities); replay, chain_tip, delete_to and check are built here once.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator

from repertory.observability import get_logger, metrics
from repertory.persistence._chain import ORIGIN, Anchor, ChainResolution, resolve_chain
from repertory.persistence._contract import MAX_SEQ_NR, Journal
from repertory.persistence._deletion import deletion_marker
from repertory.persistence._records import ChainTip, EventRecord, PersistenceId

__all__ = ["ResolvingJournal", "effective_anchor"]

_log = get_logger("repertory.persistence")


def effective_anchor(given: Anchor | None, marker: Anchor | None) -> Anchor:
    """The highest of the caller's anchor, the deletion marker and the origin (by seq_nr)."""
    best = ORIGIN
    for candidate in (marker, given):
        if candidate is not None and candidate.seq_nr > best.seq_nr:
            best = candidate
    return best


class ResolvingJournal(Journal):
    """A journal whose reads resolve the canonical chain from the rows it loads."""

    @abstractmethod
    async def _read_rows(
        self, persistence_id: PersistenceId, anchor: Anchor | None
    ) -> tuple[Anchor, list[EventRecord]]:
        """The effective anchor (see :func:`effective_anchor`) and every row above it."""

    @abstractmethod
    async def _raise_marker(self, persistence_id: PersistenceId, marker: Anchor) -> Anchor:
        """Store ``marker`` unless higher is stored; remove rows up to the result; return it."""

    @abstractmethod
    async def _persistence_ids(self) -> list[PersistenceId]:
        """Every entity with rows or a marker."""

    async def resolve(
        self, persistence_id: PersistenceId, anchor: Anchor | None = None
    ) -> ChainResolution[EventRecord]:
        """The canonical chain above the effective anchor and the dropped rows."""
        effective, rows = await self._read_rows(persistence_id, anchor)
        resolution = resolve_chain(rows, effective)
        if resolution.dropped:
            metrics.journal.noncanonical_rows.inc(len(resolution.dropped))
            _log.warning(
                "rows outside the canonical chain dropped",
                persistence_id=str(persistence_id),
                dropped=len(resolution.dropped),
                anchor_seq_nr=effective.seq_nr,
            )
        return resolution

    async def replay(
        self,
        persistence_id: PersistenceId,
        from_seq_nr: int = 1,
        to_seq_nr: int = MAX_SEQ_NR,
        max_count: int = MAX_SEQ_NR,
        anchor: Anchor | None = None,
    ) -> AsyncIterator[EventRecord]:
        if max_count < 0:
            raise ValueError(f"max_count [{max_count}] must not be negative")
        if anchor is not None and anchor.seq_nr >= from_seq_nr:
            raise ValueError(
                f"anchor seq_nr [{anchor.seq_nr}] must be below from_seq_nr [{from_seq_nr}]"
            )
        if max_count == 0 or to_seq_nr < from_seq_nr:
            return
        resolution = await self.resolve(persistence_id, anchor)
        sent = 0
        for row in resolution.chain:
            if row.seq_nr > to_seq_nr or sent >= max_count:
                return
            if row.seq_nr >= from_seq_nr:
                sent += 1
                yield row

    async def chain_tip(
        self, persistence_id: PersistenceId, anchor: Anchor | None = None
    ) -> ChainTip:
        resolution = await self.resolve(persistence_id, anchor)
        if resolution.chain:
            return resolution.chain[-1].tip
        return ChainTip(resolution.anchor.seq_nr, resolution.anchor.epoch, None)

    async def delete_to(
        self, persistence_id: PersistenceId, seq_nr: int, *, seen: ChainTip, writer_epoch: int
    ) -> Anchor:
        resolution = await self.resolve(persistence_id)
        wanted = deletion_marker(resolution, seq_nr, seen=seen, writer_epoch=writer_epoch)
        if wanted is None:
            return resolution.anchor
        marker = await self._raise_marker(persistence_id, wanted)
        _log.info(
            "events deleted",
            persistence_id=str(persistence_id),
            to_seq_nr=marker.seq_nr,
            epoch=marker.epoch,
        )
        return marker

    async def check(
        self, persistence_id: PersistenceId | None = None
    ) -> dict[PersistenceId, tuple[EventRecord, ...]]:
        if persistence_id is not None:
            return {persistence_id: (await self.resolve(persistence_id)).dropped}
        report: dict[PersistenceId, tuple[EventRecord, ...]] = {}
        for pid in await self._persistence_ids():
            dropped = (await self.resolve(pid)).dropped
            if dropped:
                report[pid] = dropped
        return report

"""The canonical-chain rule, written again from ARCHITECTURE.md so the checker can judge the
journal's own resolver rather than trust it.

The chain is the newest writer's lineage: take the last row of the highest epoch (rows above the
anchor only) and follow ``(seq_nr - 1, prev_epoch)`` back to the anchor; when the walk breaks or
reaches the anchor's seq_nr under another epoch, try the next epoch down; no lineage at all gives
an empty chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

from repertory.testing._history_input import Anchor

__all__ = ["Linked", "missing_links", "resolve_chain"]


class Linked(Protocol):
    """A row as the chain rule sees it."""

    @property
    def seq_nr(self) -> int: ...

    @property
    def writer_epoch(self) -> int: ...

    @property
    def prev_epoch(self) -> int: ...


RowT = TypeVar("RowT", bound=Linked)


def resolve_chain(rows: Iterable[RowT], anchor: Anchor) -> list[RowT]:
    """The canonical chain of one entity's raw rows, ascending by seq_nr.

    Args:
        rows: every raw row of the entity, any order; rows at or below the anchor are ignored.
            A key ``(seq_nr, writer_epoch)`` given twice keeps the last row given.
        anchor: where the chain starts (exclusive).

    Returns:
        The rows of the newest lineage that reaches the anchor; empty when none does.
    """
    above = _index_above(rows, anchor)
    last_seq: dict[int, int] = {}
    for seq_nr, epoch in above:
        last_seq[epoch] = max(seq_nr, last_seq.get(epoch, seq_nr))
    for epoch in sorted(last_seq, reverse=True):
        lineage = _walk(above, (last_seq[epoch], epoch), anchor)
        if lineage is not None:
            return lineage
    return []


def missing_links(rows: Iterable[RowT], anchor: Anchor) -> list[tuple[int, int]]:
    """The ``(seq_nr, epoch)`` positions above the anchor that a row continues but that no row
    holds: holes in the journal, which no correct writer leaves.

    A writer continues only the last event it read or stored, and deletion removes rows only
    up to the anchor, so a missing link is a lost or misdirected write.
    """
    above = _index_above(rows, anchor)
    missing = {
        (row.seq_nr - 1, row.prev_epoch)
        for row in above.values()
        if row.seq_nr - 1 > anchor.seq_nr and (row.seq_nr - 1, row.prev_epoch) not in above
    }
    return sorted(missing)


def _index_above(rows: Iterable[RowT], anchor: Anchor) -> dict[tuple[int, int], RowT]:
    return {(row.seq_nr, row.writer_epoch): row for row in rows if row.seq_nr > anchor.seq_nr}


def _walk(
    above: Mapping[tuple[int, int], RowT], start: tuple[int, int], anchor: Anchor
) -> list[RowT] | None:
    """The lineage from ``start`` down to the anchor, ascending; None when it breaks."""
    lineage: list[RowT] = []
    key = start
    while key in above:
        row = above[key]
        lineage.append(row)
        key = (row.seq_nr - 1, row.prev_epoch)
        if key[0] == anchor.seq_nr:
            if key[1] != anchor.epoch:
                return None
            lineage.reverse()
            return lineage
    return None

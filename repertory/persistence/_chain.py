"""The canonical-chain resolver: the one rule every journal uses to turn stored rows into history.

Pure and shared by every journal, so two readers holding the same rows always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["Anchor", "ChainLink", "ChainResolution", "continues_unbroken", "resolve_chain"]


class ChainLink(Protocol):
    """What the resolver needs of a row: its position and the epoch of the row it continues."""

    @property
    def seq_nr(self) -> int: ...

    @property
    def writer_epoch(self) -> int: ...

    @property
    def prev_epoch(self) -> int: ...


L = TypeVar("L", bound=ChainLink)


@dataclass(frozen=True, slots=True, order=True)
class Anchor:
    """Where a chain is resolved from: seq 0 with epoch 0, a snapshot, or a deletion marker.

    Args:
        seq_nr: the last seq_nr the anchor covers (rows at or below it are not resolved).
        epoch: the writer epoch of the event at ``seq_nr`` (0 for the origin).
    """

    seq_nr: int = 0
    epoch: int = 0

    def __post_init__(self) -> None:
        if self.seq_nr < 0 or self.epoch < 0:
            raise ValueError(f"anchor [{self.seq_nr}, {self.epoch}] must not be negative")


ORIGIN = Anchor(0, 0)


@dataclass(frozen=True, slots=True)
class ChainResolution(Generic[L]):
    """The canonical chain above an anchor (ascending seq_nr) and the rows it leaves out."""

    anchor: Anchor
    chain: tuple[L, ...]
    dropped: tuple[L, ...]

    @property
    def last_seq_nr(self) -> int:
        """The chain's highest seq_nr, or the anchor's when nothing continues it."""
        return self.chain[-1].seq_nr if self.chain else self.anchor.seq_nr

    @property
    def last_epoch(self) -> int:
        """The writer epoch of the chain's last event, or the anchor's."""
        return self.chain[-1].writer_epoch if self.chain else self.anchor.epoch


def resolve_chain(rows: Iterable[L], anchor: Anchor = ORIGIN) -> ChainResolution[L]:
    """Resolve the canonical chain: the lineage of the newest writer that reaches the anchor.

    Only rows above ``anchor.seq_nr`` take part. For each writer epoch, highest first, the walk
    starts at that epoch's last row (highest seq_nr) and follows ``(seq_nr - 1, prev_epoch)``
    links down. It succeeds when it arrives at ``(anchor.seq_nr, anchor.epoch)``; it fails when a
    link is missing or it arrives at the anchor's seq_nr with another epoch — then the next epoch
    down is tried. No successful walk means an empty chain (nothing continues the anchor).

    Two rows with the same ``(seq_nr, writer_epoch)`` (the same write stored in two places)
    count once: the first given is linked, the other dropped.

    Args:
        rows: the stored rows of one entity, in any order.
        anchor: the point the chain must reach.

    Returns:
        The chain in ascending seq_nr and every other row above the anchor as ``dropped``.
    """
    listed = rows if isinstance(rows, list | tuple) else list(rows)
    links = ((row.seq_nr, row.writer_epoch, row.prev_epoch) for row in listed)
    if continues_unbroken(links, anchor):
        return ChainResolution(anchor=anchor, chain=tuple(listed), dropped=())
    return walk_chain(listed, anchor)


def continues_unbroken(links: Iterable[tuple[int, int, int]], anchor: Anchor) -> bool:
    """Whether ``(seq_nr, writer_epoch, prev_epoch)`` links, in the order given, continue
    ``anchor`` one seq_nr at a time, each continuing the one before (its ``prev_epoch`` is that
    row's epoch) and no epoch lower than the one before.

    Such rows are the whole chain in the order given and none is dropped: the last row holds the
    highest epoch and its walk reaches the anchor through every other row. That is what almost
    every entity stores, so the resolver and the Cassandra key pass check it in one cheap scan
    before building the walk's index.
    """
    seq_nr, epoch, top = anchor.seq_nr, anchor.epoch, -1
    for next_seq_nr, writer_epoch, prev_epoch in links:
        if next_seq_nr != seq_nr + 1 or prev_epoch != epoch or writer_epoch < top:
            return False
        seq_nr = next_seq_nr
        epoch = top = writer_epoch
    return True


def walk_chain(rows: Sequence[L], anchor: Anchor = ORIGIN) -> ChainResolution[L]:
    """``resolve_chain`` without its shortcut: index the rows and walk each epoch's lineage."""
    index: dict[tuple[int, int], L] = {}
    last_of_epoch: dict[int, L] = {}
    duplicates: list[L] = []
    for row in rows:
        if row.seq_nr <= anchor.seq_nr:
            continue
        key = (row.seq_nr, row.writer_epoch)
        if key in index:
            duplicates.append(row)
            continue
        index[key] = row
        best = last_of_epoch.get(row.writer_epoch)
        if best is None or row.seq_nr > best.seq_nr:
            last_of_epoch[row.writer_epoch] = row
    chain: list[L] = []
    for epoch in sorted(last_of_epoch, reverse=True):
        walked = _walk(last_of_epoch[epoch], index, anchor)
        if walked is not None:
            chain = walked
            break
    kept = {id(row) for row in chain}
    dropped = [row for row in index.values() if id(row) not in kept]
    dropped.extend(duplicates)
    dropped.sort(key=lambda row: (row.seq_nr, row.writer_epoch))
    return ChainResolution(anchor=anchor, chain=tuple(chain), dropped=tuple(dropped))


def _walk(start: L, index: dict[tuple[int, int], L], anchor: Anchor) -> list[L] | None:
    walked = [start]
    row = start
    while row.seq_nr - 1 > anchor.seq_nr:
        previous = index.get((row.seq_nr - 1, row.prev_epoch))
        if previous is None:
            return None
        walked.append(previous)
        row = previous
    if row.prev_epoch != anchor.epoch:
        return None
    walked.reverse()
    return walked

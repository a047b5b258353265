"""Where a deletion puts its marker: on the deleter's lineage, never on a row it has not seen.

The canonical chain a journal resolves now may still end in a zombie's late rows: they are
adopted until the newest writer writes past the point they continue. A marker on such a row
would outlive them and cut the newest writer's history, so the marker is taken from the
deleter's own lineage (walked down from the tip it continues), clamped to that tip.
"""

from __future__ import annotations

from repertory.persistence._chain import Anchor, ChainResolution
from repertory.persistence._records import ChainTip, EventRecord

__all__ = ["deletion_marker"]


def deletion_marker(
    resolution: ChainResolution[EventRecord], seq_nr: int, *, seen: ChainTip, writer_epoch: int
) -> Anchor | None:
    """The marker a deletion up to ``seq_nr`` raises, or None when it deletes nothing.

    Args:
        resolution: the entity's canonical chain above its current marker.
        seq_nr: the highest seq_nr the deleter asks to delete.
        seen: the tip the deleter continues from; nothing above it is deleted.
        writer_epoch: the deleter's writer epoch (0 in conditional mode). When the chain ends
            in a higher epoch, a newer writer owns it: the marker then stays where the
            deleter's lineage and the chain still agree.
    """
    target = min(seq_nr, seen.seq_nr)
    if target <= resolution.anchor.seq_nr:
        return None
    lineage = _lineage(resolution, seen)
    if resolution.last_epoch <= writer_epoch and target in lineage:
        return Anchor(target, lineage[target])
    canonical = {row.seq_nr: row.writer_epoch for row in resolution.chain}
    for seq in range(target, resolution.anchor.seq_nr, -1):
        if seq in lineage and lineage[seq] == canonical.get(seq):
            return Anchor(seq, lineage[seq])
    return None


def _lineage(resolution: ChainResolution[EventRecord], seen: ChainTip) -> dict[int, int]:
    """seq_nr → epoch of the rows ``seen`` continues, down to the anchor; {} if it misses it."""
    index = {(row.seq_nr, row.writer_epoch): row for row in resolution.dropped}
    index.update({(row.seq_nr, row.writer_epoch): row for row in resolution.chain})
    row = index.get((seen.seq_nr, seen.epoch))
    lineage: dict[int, int] = {}
    while row is not None:
        lineage[row.seq_nr] = row.writer_epoch
        if row.seq_nr - 1 == resolution.anchor.seq_nr:
            return lineage if row.prev_epoch == resolution.anchor.epoch else {}
        row = index.get((row.seq_nr - 1, row.prev_epoch))
    return {}

"""The chain resolved from the key pass, as spans: which epoch holds each seq_nr, per partition.

Keys stay the driver's ``(seq_nr, writer_epoch, prev_epoch)`` tuples, grouped by partition:
a long replay reads hundreds of thousands of them, and one object per key cost as much as the
resolution itself. When the keys continue the anchor unbroken (``continues_unbroken``: what a
history without a zombie's rows looks like) they are the chain as they are; otherwise they are
resolved by the shared walk. Either way the payload pass only needs, per partition, a seq_nr
range and the epoch kept at each seq_nr.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain as concatenated
from typing import NamedTuple

from repertory.persistence._chain import Anchor, continues_unbroken, walk_chain

Link = tuple[int, int, int]
"""A selected key: ``(seq_nr, writer_epoch, prev_epoch)``."""

PartitionKeys = tuple[int, list[Link]]
"""A partition's number and its keys in stored order."""


class ChainKey(NamedTuple):
    """A key with its partition, for the walk when the keys do not continue unbroken."""

    seq_nr: int
    writer_epoch: int
    prev_epoch: int
    partition_nr: int


@dataclass(frozen=True, slots=True)
class ChainSpan:
    """Consecutive chain seq_nrs stored in one partition, from ``first_seq_nr`` on.

    ``epochs[i]`` is the writer epoch of the chain's row at ``first_seq_nr + i``.
    """

    partition_nr: int
    first_seq_nr: int
    epochs: list[int]

    @property
    def last_seq_nr(self) -> int:
        return self.first_seq_nr + len(self.epochs) - 1


class KeyResolution(NamedTuple):
    """The chain as spans in ascending seq_nr, and how many rows it leaves out."""

    spans: list[ChainSpan]
    dropped: int


def resolve_keys(partitions: list[PartitionKeys], anchor: Anchor) -> KeyResolution:
    """The canonical chain above ``anchor`` of keys read partition by partition, in order.

    Gives the chain ``resolve_chain`` gives for the same keys, as spans.
    """
    links = concatenated.from_iterable(keys for _, keys in partitions)
    if continues_unbroken(links, anchor):
        spans = [
            ChainSpan(partition, keys[0][0], [epoch for _, epoch, _ in keys])
            for partition, keys in partitions
            if keys
        ]
        return KeyResolution(spans, 0)
    rows = [
        ChainKey(seq_nr, epoch, prev_epoch, partition)
        for partition, keys in partitions
        for seq_nr, epoch, prev_epoch in keys
    ]
    resolution = walk_chain(rows, anchor)
    return KeyResolution(_spans(resolution.chain), len(resolution.dropped))


def _spans(chain: tuple[ChainKey, ...]) -> list[ChainSpan]:
    spans: list[ChainSpan] = []
    for key in chain:
        if spans and spans[-1].partition_nr == key.partition_nr:
            spans[-1].epochs.append(key.writer_epoch)
        else:
            spans.append(ChainSpan(key.partition_nr, key.seq_nr, [key.writer_epoch]))
    return spans


def chain_slice(spans: list[ChainSpan], low: int, high: int, max_count: int) -> list[ChainSpan]:
    """The spans cut to the chain's first ``max_count`` seq_nrs within ``[low, high]``.

    The chain's seq_nrs are consecutive, so the slice is one range cut from each span.
    """
    if not spans or max_count <= 0:
        return []
    low = max(low, spans[0].first_seq_nr)
    high = min(high, spans[-1].last_seq_nr, low + max_count - 1)
    cut = []
    for span in spans:
        first, last = max(low, span.first_seq_nr), min(high, span.last_seq_nr)
        if first <= last:
            start = first - span.first_seq_nr
            epochs = span.epochs[start : start + last - first + 1]
            cut.append(ChainSpan(span.partition_nr, first, epochs))
    return cut

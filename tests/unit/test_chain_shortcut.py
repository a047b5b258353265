"""The resolver's shortcut for keys that continue their anchor unbroken, against the full walk,
and the Cassandra key resolution (spans, slices) against the shared resolver."""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repertory.persistence._chain import Anchor, continues_unbroken, resolve_chain, walk_chain
from repertory.persistence.cassandra_keys import (
    ChainKey,
    ChainSpan,
    PartitionKeys,
    chain_slice,
    resolve_keys,
)

pytestmark = pytest.mark.unit


class Key(NamedTuple):
    seq_nr: int
    writer_epoch: int
    prev_epoch: int


@st.composite
def anchors(draw: st.DrawFn) -> Anchor:
    return Anchor(draw(st.integers(0, 5)), draw(st.integers(0, 3)))


@st.composite
def linked(draw: st.DrawFn, anchor: Anchor, *, falling: bool = False) -> list[Key]:
    """Keys that continue ``anchor`` one seq_nr at a time, each linked to the one before,
    epochs rising now and then (and, when ``falling``, sometimes dropping)."""
    keys, epoch = [], anchor.epoch
    steps = [0, 0, 0, 1, 2, -1] if falling else [0, 0, 0, 1, 2]
    for offset in range(draw(st.integers(0, 12))):
        writer = max(epoch + draw(st.sampled_from(steps)), 0)
        if offset == 0:
            writer = draw(st.integers(0, anchor.epoch + 2))
        keys.append(Key(anchor.seq_nr + 1 + offset, writer, epoch))
        epoch = writer
    return keys


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Key], Anchor]:
    """Linked keys, often disturbed: rows removed, moved, repeated, relinked or added."""
    anchor = draw(anchors())
    keys = draw(linked(anchor, falling=True))
    for _ in range(draw(st.integers(0, 3))):
        change = draw(st.sampled_from(["remove", "move", "repeat", "relink", "add"]))
        if change == "add" or not keys:
            seq_nr = draw(st.integers(max(anchor.seq_nr - 1, 0), anchor.seq_nr + 14))
            keys.insert(
                draw(st.integers(0, len(keys))),
                Key(seq_nr, draw(st.integers(0, 6)), draw(st.integers(0, 6))),
            )
            continue
        at = draw(st.integers(0, len(keys) - 1))
        if change == "remove":
            del keys[at]
        elif change == "move":
            keys.insert(draw(st.integers(0, len(keys) - 1)), keys.pop(at))
        elif change == "repeat":
            keys.insert(at, Key(*keys[at]))
        else:
            keys[at] = keys[at]._replace(prev_epoch=draw(st.integers(0, 6)))
    return keys, anchor


def _ids(rows: tuple[Key, ...]) -> list[int]:
    return [id(row) for row in rows]


@given(histories())
def test_the_shortcut_gives_what_the_walk_gives(history: tuple[list[Key], Anchor]) -> None:
    keys, anchor = history
    shortcut, walked = resolve_chain(keys, anchor), walk_chain(keys, anchor)
    assert shortcut == walked
    assert _ids(shortcut.chain) == _ids(walked.chain)
    assert sorted(_ids(shortcut.dropped)) == sorted(_ids(walked.dropped))


@given(anchors().flatmap(lambda anchor: st.tuples(linked(anchor), st.just(anchor))))
def test_unbroken_keys_are_the_whole_chain(history: tuple[list[Key], Anchor]) -> None:
    keys, anchor = history
    assert continues_unbroken(keys, anchor)
    walked = walk_chain(keys, anchor)
    assert _ids(walked.chain) == _ids(tuple(keys))
    assert walked.dropped == ()


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        ([Key(1, 2, 0), Key(2, 1, 2)], "an epoch lower than the one before"),
        ([Key(1, 1, 0), Key(3, 1, 1)], "a gap"),
        ([Key(2, 1, 0), Key(1, 1, 0)], "out of order"),
        ([Key(1, 1, 0), Key(2, 2, 0)], "a link to another epoch"),
        ([Key(1, 1, 0), Key(1, 1, 0)], "a repeated row"),
        ([Key(1, 1, 3)], "a first row that does not continue the anchor"),
    ],
)
def test_the_shortcut_declines_what_it_cannot_vouch_for(keys: list[Key], why: str) -> None:
    assert not continues_unbroken(keys, Anchor(0, 0)), why


def _partitioned(keys: list[Key], cuts: list[int]) -> list[PartitionKeys]:
    ordered = sorted(keys, key=lambda key: (key.seq_nr, key.writer_epoch))
    bounds = sorted({0, len(ordered), *(cut % (len(ordered) + 1) for cut in cuts)})
    return [
        (number, list(ordered[start:end])) for number, (start, end) in enumerate(pairwise(bounds))
    ]


def _flat(spans: list[ChainSpan]) -> list[tuple[int, int, int]]:
    return [
        (span.first_seq_nr + i, epoch, span.partition_nr)
        for span in spans
        for i, epoch in enumerate(span.epochs)
    ]


@given(histories(), st.lists(st.integers(0, 30), max_size=3))
def test_spans_hold_the_shared_resolvers_chain(
    history: tuple[list[Key], Anchor], cuts: list[int]
) -> None:
    keys, anchor = history
    partitions = _partitioned(keys, cuts)
    rows = [ChainKey(*key, partition) for partition, found in partitions for key in found]
    expected = resolve_chain(rows, anchor)
    resolved = resolve_keys(partitions, anchor)
    above = [row for row in rows if row.seq_nr > anchor.seq_nr]
    assert _flat(resolved.spans) == [
        (k.seq_nr, k.writer_epoch, k.partition_nr) for k in expected.chain
    ]
    assert resolved.dropped == len(expected.dropped) == len(above) - len(expected.chain)


@given(
    histories(),
    st.lists(st.integers(0, 30), max_size=3),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 20),
)
def test_a_slice_is_the_chains_slice(
    history: tuple[list[Key], Anchor], cuts: list[int], low: int, high: int, max_count: int
) -> None:
    keys, anchor = history
    partitions = _partitioned(keys, cuts)
    spans = resolve_keys(partitions, anchor).spans
    chain = _flat(spans)
    expected = [key for key in chain if low <= key[0] <= high][:max_count]
    assert _flat(chain_slice(spans, low, high, max_count)) == expected


def test_a_span_ends_where_its_epochs_end() -> None:
    assert ChainSpan(partition_nr=1, first_seq_nr=10, epochs=[3, 3, 4]).last_seq_nr == 12

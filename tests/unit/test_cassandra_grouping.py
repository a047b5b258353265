"""Replica grouping and byte caps of the fenced mode's unlogged batches (fake ring metadata)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pytest

from repertory.persistence.cassandra_batching import (
    Sized,
    cap_batches,
    group_by_replica,
    plan_batches,
    routing_key,
)

pytestmark = pytest.mark.unit


class FakeRing:
    """Replicas by routing key: the first byte of the entity id picks the primary node."""

    def __init__(self, nodes: int, *, known: bool = True) -> None:
        self.nodes = nodes
        self.known = known
        self.asked: list[tuple[str, bytes]] = []

    def get_replicas(self, keyspace: str, key: bytes) -> Sequence[Hashable]:
        self.asked.append((keyspace, key))
        if not self.known:
            return []
        primary = key[2] % self.nodes  # first byte of the persistence id
        return [f"node{(primary + i) % self.nodes}" for i in range(min(3, self.nodes))]


def write(pid: str, size: int = 100, statements: int = 1) -> Sized[str]:
    return Sized(pid, routing_key(pid, 0), size, statements)


def test_routing_key_is_the_composite_key_encoding() -> None:
    key = routing_key("a|1", 2)
    assert key == b"\x00\x03a|1\x00" + b"\x00\x08" + (2).to_bytes(8, "big") + b"\x00"


def test_groups_by_primary_replica_keeping_order() -> None:
    writes = [write(chr(ord("a") + i) + "|x") for i in range(6)]
    groups = group_by_replica(writes, FakeRing(3), "ks")
    assert [[w.item for w in g] for g in groups] == [["a|x", "d|x"], ["b|x", "e|x"], ["c|x", "f|x"]]


def test_unknown_replicas_share_one_group() -> None:
    ring = FakeRing(3, known=False)
    writes = [write("a|1"), write("b|2")]
    assert group_by_replica(writes, ring, "ks") == [writes]
    assert [ks for ks, _ in ring.asked] == ["ks", "ks"]


def test_cap_never_splits_a_write_and_stays_under_the_byte_cap() -> None:
    writes = [write(f"a|{i}", size=300, statements=10) for i in range(10)]
    batches = cap_batches(writes, max_bytes=1000, max_statements=1000)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert all(sum(w.size for w in b) <= 1000 for b in batches)
    assert [w for b in batches for w in b] == writes


def test_cap_on_statement_count() -> None:
    writes = [write(f"a|{i}", size=1, statements=10) for i in range(5)]
    batches = cap_batches(writes, max_bytes=10_000, max_statements=25)
    assert [len(b) for b in batches] == [2, 2, 1]


def test_oversize_write_goes_alone_in_its_batch() -> None:
    writes = [write("a|1", 400), write("a|2", 5000), write("a|3", 400), write("a|4", 400)]
    batches = cap_batches(writes, max_bytes=1000, max_statements=100)
    assert [[w.item for w in b] for b in batches] == [["a|1"], ["a|2"], ["a|3", "a|4"]]


def test_plan_groups_then_caps() -> None:
    writes = [write(f"{c}|{i}", size=400) for i in range(3) for c in "ab"]
    batches = plan_batches(writes, FakeRing(2), "ks", max_bytes=1000, max_statements=100)
    assert [[w.item for w in b] for b in batches] == [
        ["a|0", "a|1"],
        ["a|2"],
        ["b|0", "b|1"],
        ["b|2"],
    ]


def test_empty_input_plans_nothing() -> None:
    assert plan_batches([], FakeRing(1), "ks", max_bytes=1000, max_statements=10) == []

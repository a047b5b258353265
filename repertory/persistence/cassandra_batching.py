"""Packing many entities' atomic writes into few unlogged batches, grouped by replica.

Why this shape: per-request overhead dominates on Cassandra, so the fenced mode sends many
entities' writes per request. What Cassandra guarantees for a multi-partition UNLOGGED batch is
only this: each partition's mutation is applied atomically and in isolation on each replica,
and nothing is promised across partitions (no batchlog). Every atomic write is one partition,
so it is kept whole in one batch and is atomic however the batch fares; the batch as a whole
is not, and each write's outcome is its batch's outcome (an error leaves all of them unknown).

Cassandra refuses a multi-partition batch past ``batch_size_fail_threshold`` (50 KiB by
default; single-partition batches are exempt), so batches are capped in bytes below it. An
atomic write that alone exceeds the cap goes in a batch of its own, where the threshold does
not apply. Batches are grouped by the partition's primary replica: with token-aware routing
(replicas not shuffled) the coordinator is then a replica of every partition in the batch, so
it forwards nothing but replication.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class ReplicaMetadata(Protocol):
    """The part of the driver's ``cluster.metadata`` the grouping needs."""

    def get_replicas(self, keyspace: str, key: bytes) -> Sequence[Hashable]: ...


@dataclass(frozen=True, slots=True)
class Sized(Generic[T]):
    """One atomic write to place: its routing key and its size in bytes of bound values."""

    item: T
    routing_key: bytes
    size: int
    statements: int = 1


def routing_key(persistence_id: str, partition_nr: int) -> bytes:
    """The routing key of an events partition, as Cassandra hashes a composite partition key.

    Each component is a 2-byte big-endian length, the value, and a 0 byte.
    """
    pid = persistence_id.encode()
    return b"".join(
        (struct.pack(">H", len(pid)), pid, b"\x00", struct.pack(">Hq", 8, partition_nr), b"\x00")
    )


def group_by_replica(
    writes: Iterable[Sized[T]], metadata: ReplicaMetadata, keyspace: str
) -> list[list[Sized[T]]]:
    """Group writes by the primary replica of their partition, keeping their order.

    Writes whose replicas are unknown (no token map yet) share one group.
    """
    groups: dict[Hashable, list[Sized[T]]] = {}
    for write in writes:
        replicas = metadata.get_replicas(keyspace, write.routing_key)
        primary = replicas[0] if replicas else None
        groups.setdefault(primary, []).append(write)
    return list(groups.values())


def cap_batches(
    writes: Iterable[Sized[T]], max_bytes: int, max_statements: int
) -> list[list[Sized[T]]]:
    """Split a sequence of writes into batches under both caps, never splitting a write.

    A write that alone exceeds a cap gets a batch of its own (it is single-partition, so
    Cassandra's multi-partition size threshold does not refuse it).
    """
    batches: list[list[Sized[T]]] = []
    current: list[Sized[T]] = []
    size = statements = 0
    for write in writes:
        too_big = size + write.size > max_bytes or statements + write.statements > max_statements
        if current and too_big:
            batches.append(current)
            current, size, statements = [], 0, 0
        current.append(write)
        size += write.size
        statements += write.statements
    if current:
        batches.append(current)
    return batches


def plan_batches(
    writes: Iterable[Sized[T]],
    metadata: ReplicaMetadata,
    keyspace: str,
    *,
    max_bytes: int,
    max_statements: int,
) -> list[list[Sized[T]]]:
    """Group by replica, then cap each group: the batches one flush sends."""
    return [
        batch
        for group in group_by_replica(writes, metadata, keyspace)
        for batch in cap_batches(group, max_bytes, max_statements)
    ]

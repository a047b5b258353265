"""Kafka's default partitioner for keyed records (murmur2, as the Java client computes it).

Entity ownership is partition ownership, so every producer of commands — ours, the Java
client, a tool — must place a key on the same partition; a record found elsewhere was written
by a producer that disagrees and is dead-lettered as misrouted rather than applied by a worker
that does not own its entity.
"""

from __future__ import annotations

import functools

__all__ = ["is_misrouted", "murmur2", "partition_for"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 (32-bit) of ``data`` with Kafka's seed, as a signed 32-bit integer."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length % 4
    if tail:
        if tail == 3:
            h ^= data[whole + 2] << 16
        if tail >= 2:
            h ^= data[whole + 1] << 8
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not [{partitions}]")
    return _partition_of(key, partitions)


@functools.lru_cache(maxsize=65_536)
def _partition_of(key: bytes, partitions: int) -> int:
    # Remembered: every command is hashed on intake and its state change again on egress, an
    # active entity's key recurs, and murmur2 in Python costs microseconds per key.
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def is_misrouted(key: bytes | None, partition: int, partitions: int) -> bool:
    """Whether a keyed record sits on a partition other than the one its key hashes to.

    A record without a key is never routable to one entity: it counts as misrouted.
    """
    return key is None or partition_for(key, partitions) != partition

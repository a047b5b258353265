"""murmur2 partitioning must agree with Kafka's Java client, or entities get two writers."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from repertory.kafka import is_misrouted, murmur2, partition_for

# Values from the Java client's own tests (org.apache.kafka.common.utils.UtilsTest).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "expected"), sorted(JAVA_MURMUR2.items()))
def test_murmur2_matches_the_java_client(key: bytes, expected: int) -> None:
    assert murmur2(key) == expected


def test_partition_for_matches_aiokafkas_default_partitioner() -> None:
    rng = random.Random(7)
    partitioner = DefaultPartitioner()
    for _ in range(2000):
        key = rng.randbytes(rng.randint(0, 40))
        count = rng.randint(1, 64)
        everything = list(range(count))
        assert partition_for(key, count) == partitioner(key, everything, everything)


def test_known_persistence_ids_land_on_fixed_partitions() -> None:
    # pinned so a change of hashing (which would move every entity) cannot pass unnoticed
    assert [partition_for(f"account|{i}".encode(), 12) for i in range(6)] == [11, 4, 1, 9, 4, 3]
    assert partition_for(b"21", 10) == (-973932308 & 0x7FFFFFFF) % 10


def test_misrouted_detection() -> None:
    key = b"account|42"
    home = partition_for(key, 8)
    assert not is_misrouted(key, home, 8)
    assert is_misrouted(key, (home + 1) % 8, 8)
    assert is_misrouted(None, 0, 8)
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(key, 0)

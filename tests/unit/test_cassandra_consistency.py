"""The read/write overlap rule checked at start against the keyspace's replication."""

from __future__ import annotations

import pytest

from repertory.persistence.cassandra_consistency import Replication, overlap_problem

pytestmark = pytest.mark.unit

SIMPLE_1 = Replication(per_dc={"": 1})
SIMPLE_3 = Replication(per_dc={"": 3})
TWO_DCS = Replication(per_dc={"dc1": 3, "dc2": 3})


@pytest.mark.parametrize(
    ("read", "write", "replication"),
    [
        ("QUORUM", "QUORUM", SIMPLE_3),
        ("QUORUM", "QUORUM", SIMPLE_1),
        ("ONE", "ONE", SIMPLE_1),
        ("ONE", "ALL", SIMPLE_3),
        ("ALL", "ONE", SIMPLE_3),
        ("QUORUM", "QUORUM", TWO_DCS),
        ("LOCAL_QUORUM", "LOCAL_QUORUM", TWO_DCS),
        ("LOCAL_QUORUM", "LOCAL_QUORUM", SIMPLE_3),
        ("TWO", "TWO", SIMPLE_3),
    ],
)
def test_overlapping_levels_pass(read: str, write: str, replication: Replication) -> None:
    assert overlap_problem(read, write, replication, "dc1") is None


@pytest.mark.parametrize(
    ("read", "write", "replication"),
    [
        ("ONE", "ONE", SIMPLE_3),
        ("ONE", "QUORUM", SIMPLE_3),
        ("LOCAL_ONE", "LOCAL_QUORUM", TWO_DCS),
        ("LOCAL_QUORUM", "QUORUM", TWO_DCS),  # a global quorum may sit mostly in dc2
        ("QUORUM", "ONE", TWO_DCS),
        ("THREE", "THREE", SIMPLE_1),  # more replicas than exist
    ],
)
def test_levels_that_may_miss_are_refused(read: str, write: str, replication: Replication) -> None:
    assert overlap_problem(read, write, replication, "dc1") is not None


def test_local_levels_need_replicas_in_the_local_dc() -> None:
    problem = overlap_problem("LOCAL_QUORUM", "LOCAL_QUORUM", TWO_DCS, "dc3")
    assert problem is not None and "dc3" in problem


def test_replication_from_driver_options() -> None:
    simple = {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"}
    assert Replication.from_options(simple).per_dc == {"": 3}
    nts = {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "a": "3", "b": "3/1"}
    assert Replication.from_options(nts).per_dc == {"a": 3, "b": 2}
    with pytest.raises(ValueError, match="unsupported"):
        Replication.from_options({"class": "LocalStrategy"})

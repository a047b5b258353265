"""Whether reads and writes at the chosen consistency levels are sure to meet, for a replication.

A replay must see every acknowledged write, or a recovered entity could miss events and fork
its own history. That holds only when every read replica set intersects every write replica
set. Pure functions: the journal calls them at start with the keyspace's real replication.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_FIXED = {"ONE": 1, "TWO": 2, "THREE": 3, "LOCAL_ONE": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class Replication:
    """A keyspace's replication: replicas per data centre.

    SimpleStrategy is one pseudo data centre (``{"": rf}``): it ignores data centres, so every
    replica counts as local.
    """

    per_dc: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.per_dc.values())

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> Replication:
        """Read the driver's ``replication`` map (``class`` plus factors) of a keyspace."""
        strategy = options.get("class", "")
        if strategy.endswith("SimpleStrategy"):
            return cls(per_dc={"": int(options["replication_factor"])})
        if strategy.endswith("NetworkTopologyStrategy"):
            factors = {dc: _factor(v) for dc, v in options.items() if dc != "class"}
            return cls(per_dc=factors)
        raise ValueError(f"unsupported replication strategy [{strategy}]")


def _factor(value: str) -> int:
    # Cassandra 4+ writes transient replicas as "3/1"; only full replicas serve reads.
    full, _, transient = value.partition("/")
    return int(full) - (int(transient) if transient else 0)


def acknowledgements(level: str, replication: Replication, local_dc: str | None) -> int:
    """How many replicas acknowledge a request at ``level`` (in its scope, see ``is_local``)."""
    if level in _FIXED:
        return _FIXED[level]
    if level == "QUORUM":
        return replication.total // 2 + 1
    if level == "ALL":
        return replication.total
    if level == "LOCAL_QUORUM":
        return _local_factor(replication, local_dc) // 2 + 1
    raise ValueError(f"unsupported consistency level [{level}]")


def _local_factor(replication: Replication, local_dc: str | None) -> int:
    if "" in replication.per_dc:
        return replication.per_dc[""]
    return replication.per_dc.get(local_dc or "", 0)


def overlap_problem(
    read: str, write: str, replication: Replication, local_dc: str | None = None
) -> str | None:
    """Why reads at ``read`` might miss writes at ``write``; None when they always meet.

    Two replica sets can be disjoint unless their sizes add up past the replicas they are
    drawn from: the local data centre's when both levels are LOCAL_*, otherwise every replica
    (a global level's replicas may all sit outside the local data centre).
    """
    if read.startswith("LOCAL_") or write.startswith("LOCAL_"):
        local = _local_factor(replication, local_dc)
        if local == 0:
            return f"keyspace has no replicas in local data centre [{local_dc}]"
    r = acknowledgements(read, replication, local_dc)
    w = acknowledgements(write, replication, local_dc)
    both_local = read.startswith("LOCAL_") and write.startswith("LOCAL_")
    pool = _local_factor(replication, local_dc) if both_local else replication.total
    if max(r, w) > pool:
        return f"[{read}]/[{write}] needs more replicas than the [{pool}] there are"
    if r + w <= pool:
        return (
            f"reads at [{read}] ({r}) and writes at [{write}] ({w}) of [{pool}] replicas may miss"
        )
    return None

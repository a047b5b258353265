"""What every layer's metrics share: label vocabularies, buckets, a cache of label children."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Generic, Literal, TypeVar

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "LATENCY_BUCKETS",
    "REPLAY_BUCKETS",
    "SIZE_BUCKETS",
    "AppendOutcome",
    "Children",
    "EgressRecordKind",
    "SnapshotLoadOutcome",
    "SnapshotSaveOutcome",
    "TransactionOutcome",
    "observe_many",
    "partition_label",
]

AppendOutcome = Literal["stored", "rejected", "failed"]
"""``stored``: acknowledged; ``rejected``: definitely not stored (a conditional collision);
``failed``: outcome unknown or the store unreachable (the write is retried identically)."""

SnapshotSaveOutcome = Literal["stored", "failed"]
SnapshotLoadOutcome = Literal["found", "absent", "failed"]
EgressRecordKind = Literal["state_change", "reply", "command", "dead_letter"]
TransactionOutcome = Literal["committed", "retried", "fenced"]
"""``retried``: failed without being fenced, sent again with the same contents; ``fenced``: a
newer owner of the input partition took over."""

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Seconds: half a millisecond (a SQLite group commit) to a minute (a stuck transaction)."""

SIZE_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0)
"""Counts (events per write, messages waiting): powers of two up to a full batch."""

REPLAY_BUCKETS = (0.0, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0)
"""Events replayed by one recovery: none (new entity or snapshot at the head) to a million."""


def partition_label(partition: int) -> str:
    return str(partition)


F = TypeVar("F", Counter, Gauge, Histogram)


class Children(Generic[F]):
    """One family's children by the value of its single label, cached.

    ``family.labels(value)`` validates and takes a lock on every call (about a microsecond);
    the hot path (per command) looks the child up here instead. Only for families whose children
    are never removed: a removed child would stay cached and stop being exported.
    """

    __slots__ = ("_cache", "_family")

    def __init__(self, family: F) -> None:
        self._family: F = family
        self._cache: dict[str, F] = {}

    def __call__(self, value: str) -> F:
        try:
            return self._cache[value]
        except KeyError:
            child: F = self._family.labels(value)
            self._cache[value] = child
            return child


def observe_many(child: Histogram, amounts: Iterable[float]) -> None:
    """Observe every amount in ``amounts`` on one histogram child, as ``observe`` each would.

    ``observe`` takes a lock per call and scans the buckets in Python (about 0.7 µs); a batch
    of commands is binned here with ``bisect`` and each touched bucket is incremented once.
    It reaches into the child's buckets, so a test holds it equal to repeated ``observe``.
    """
    bounds: list[float] = child._upper_bounds
    counts = [0] * len(bounds)
    total = 0.0
    for amount in amounts:
        counts[bisect_left(bounds, amount)] += 1  # the first bound >= amount, as observe
        total += amount
    if not any(counts):
        return
    child._sum.inc(total)
    for bucket, count in zip(child._buckets, counts, strict=True):
        if count:
            bucket.inc(count)

"""Approximate heavy hitters in bounded memory: the Space-Saving algorithm (Metwally et al.).

Counting events per entity exactly needs one counter per entity ever seen; ``SpaceSaving``
keeps ``capacity`` counters whatever the stream. Guarantees, with ``N`` the total weight added:

- every item whose true count exceeds ``N / capacity`` is among the tracked items;
- a tracked item's ``count`` never underestimates its true count, and overestimates it by at most
  its ``error`` (itself at most ``N / capacity``), so ``count - error`` is a lower bound.

Weighted adds (``add(item, weight)``) keep the same bounds, so pre-aggregated counts (events per
journal partition from a scan) can be fed directly.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["HeavyHitter", "SpaceSaving"]

K = TypeVar("K", bound=Hashable)

_COMPACT_FACTOR = 4  # rebuild the heap when stale entries outnumber live ones this much


@dataclass(frozen=True, slots=True)
class HeavyHitter(Generic[K]):
    """One tracked item: ``count`` is an upper bound, ``count - error`` a lower bound."""

    item: K
    count: int
    error: int

    @property
    def lower_bound(self) -> int:
        return self.count - self.error


class SpaceSaving(Generic[K]):
    """The top items of a stream in at most ``capacity`` counters.

    Args:
        capacity: counters kept; items above ``total / capacity`` are never missed.

    Raises:
        ValueError: ``capacity`` is below 1.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity [{capacity}] must be at least 1")
        self.capacity = capacity
        self.total = 0
        self._counts: dict[K, int] = {}
        self._errors: dict[K, int] = {}
        # (count, sequence, item); entries whose count is no longer current are stale.
        self._heap: list[tuple[int, int, K]] = []
        self._sequence = 0

    def add(self, item: K, weight: int = 1) -> None:
        """Count ``weight`` occurrences of ``item``.

        Raises:
            ValueError: ``weight`` is below 1.
        """
        if weight < 1:
            raise ValueError(f"weight [{weight}] must be at least 1")
        self.total += weight
        if item in self._counts:
            self._counts[item] += weight
        elif len(self._counts) < self.capacity:
            self._counts[item] = weight
            self._errors[item] = 0
        else:
            floor_item, floor = self._pop_minimum()
            del self._counts[floor_item]
            del self._errors[floor_item]
            self._counts[item] = floor + weight
            self._errors[item] = floor
        self._push(item)

    def update(self, items: Iterable[K]) -> None:
        """Count each of ``items`` once."""
        for item in items:
            self.add(item)

    def top(self, n: int | None = None) -> list[HeavyHitter[K]]:
        """The ``n`` (default all) tracked items, highest count first (ties: lower error)."""
        ranked = sorted(
            self._counts.items(), key=lambda kv: (-kv[1], self._errors[kv[0]], repr(kv[0]))
        )
        chosen = ranked if n is None else ranked[:n]
        return [HeavyHitter(item, count, self._errors[item]) for item, count in chosen]

    @property
    def max_error(self) -> int:
        """The largest overestimate any count here may carry (the smallest tracked count once
        the summary is full, else 0)."""
        if len(self._counts) < self.capacity:
            return 0
        return min(self._counts.values())

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, item: object) -> bool:
        return item in self._counts

    def __repr__(self) -> str:
        return f"<SpaceSaving capacity={self.capacity} tracked={len(self)} total={self.total}>"

    def _push(self, item: K) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (self._counts[item], self._sequence, item))
        if len(self._heap) > _COMPACT_FACTOR * max(len(self._counts), 16):
            self._compact()

    def _pop_minimum(self) -> tuple[K, int]:
        while True:
            count, _, item = heapq.heappop(self._heap)
            if self._counts.get(item) == count:
                return item, count

    def _compact(self) -> None:
        self._heap = []
        for item, count in self._counts.items():
            self._sequence += 1
            self._heap.append((count, self._sequence, item))
        heapq.heapify(self._heap)

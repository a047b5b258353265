"""Which entity each command of ``bench_engine.py`` goes to: uniform or Zipf-skewed.

Uniform spreads commands round robin over every entity, so each entity gets one command in a
batch and group commit has nothing to merge. Zipf(s) makes the k-th most popular entity get a
share proportional to 1/k**s: a few hot entities receive many commands per batch, where group
commit (one write for the commands that arrive while an entity's write is in flight) pays.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Workload:
    """``entity(i)``: the entity of the i-th command; ``zipf_s`` 0 means uniform."""

    entities: int
    zipf_s: float = 0.0
    seed: int = 7
    _cumulative: list[float] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.zipf_s > 0:
            weights = (1 / k**self.zipf_s for k in range(1, self.entities + 1))
            self._cumulative.extend(itertools.accumulate(weights))

    def entities_of(self, commands: int, start: int = 0) -> list[int]:
        """The entities of commands ``start`` .. ``start + commands - 1``."""
        if not self._cumulative:
            return [i % self.entities for i in range(start, start + commands)]
        picker = random.Random(self.seed + start)
        return picker.choices(range(self.entities), cum_weights=self._cumulative, k=commands)

    def describe(self) -> str:
        return f"zipf(s={self.zipf_s})" if self.zipf_s > 0 else "uniform"

    def hottest_share(self) -> float:
        """The share of commands the most popular entity gets."""
        if not self._cumulative:
            return 1 / self.entities
        return self._cumulative[0] / self._cumulative[-1]

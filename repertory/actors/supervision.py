"""One supervision vocabulary for entities and worker processes: restart, backoff, stop, escalate.

A strategy answers one question after a failure: what now, and after how long? It keeps no
clock of its own; callers pass ``now`` (monotonic seconds) so tests drive it with a manual clock.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "Backoff",
    "Decision",
    "Directive",
    "Escalate",
    "Restart",
    "RestartTracker",
    "Stop",
    "SupervisionStrategy",
]


class Directive(Enum):
    RESTART = "restart"
    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failure, and how many seconds to wait before doing it."""

    directive: Directive
    delay: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Restart:
    """Restart at once, at most ``max_restarts`` times within ``within`` seconds, then stop."""

    max_restarts: int = 10
    within: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Restart after an exponentially growing delay (``min_delay`` doubling up to ``max_delay``,
    plus up to ``jitter`` of it at random); stop after ``max_restarts`` within ``within`` seconds.
    """

    min_delay: float = 0.2
    max_delay: float = 30.0
    jitter: float = 0.2
    max_restarts: int = 10
    within: float = 300.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds before restart number ``attempt`` (1-based)."""
        base: float = min(self.max_delay, self.min_delay * 2.0 ** max(0, attempt - 1))
        spread: float = (rng or random.Random()).random()
        return base * (1 + self.jitter * spread)


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop on the first failure."""


@dataclass(frozen=True, slots=True)
class Escalate:
    """Hand the failure to the parent."""


SupervisionStrategy = Restart | Backoff | Stop | Escalate


@dataclass(slots=True)
class RestartTracker:
    """Applies a strategy to a sequence of failures of one child."""

    strategy: SupervisionStrategy
    rng: random.Random = field(default_factory=random.Random)
    _failures: deque[float] = field(default_factory=deque)

    def on_failure(self, now: float, reason: str = "") -> Decision:
        """Record a failure at ``now`` (monotonic seconds) and decide what follows."""
        strategy = self.strategy
        if isinstance(strategy, Stop):
            return Decision(Directive.STOP, reason=reason)
        if isinstance(strategy, Escalate):
            return Decision(Directive.ESCALATE, reason=reason)
        while self._failures and now - self._failures[0] > strategy.within:
            self._failures.popleft()
        self._failures.append(now)
        attempt = len(self._failures)
        if attempt > strategy.max_restarts:
            limit = f"{strategy.max_restarts} restarts within {strategy.within}s"
            return Decision(Directive.STOP, reason=f"{reason} (gave up after {limit})")
        delay = strategy.delay(attempt, self.rng) if isinstance(strategy, Backoff) else 0.0
        return Decision(Directive.RESTART, delay=delay, reason=reason)

    def reset(self) -> None:
        """Forget past failures (after a long healthy run)."""
        self._failures.clear()

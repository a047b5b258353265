"""Time as a dependency: the system clock in production, a manual clock in tests.

Every timer of the entity runtime (ask timeouts, passivation, backoff, the dedupe window's age)
reads and waits through a ``Clock`` so tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "Timer"]


class Timer(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """What the runtime needs of time."""

    def now(self) -> float:
        """Seconds since the epoch (recorded in events for the dedupe window's age)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; cancellable."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback`` (synchronously, in the loop) after ``seconds``; no task is created."""
        ...


class SystemClock:
    """Wall-clock ``now``; the event loop's timers for ``sleep`` and ``call_later``."""

    __slots__ = ()

    now = staticmethod(time.time)
    """Seconds since the epoch (``time.time`` itself: read once or more per command)."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)

    def __repr__(self) -> str:
        return "SystemClock()"


class _ManualTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when a test calls :meth:`advance`.

    Timers fire in deadline order, each at its own deadline, and the event loop gets a few
    turns after each one so the woken tasks run before time moves on.
    """

    __slots__ = ("_now", "_seq", "_timers")

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, _ManualTimer]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        timer = _ManualTimer(callback)
        heapq.heappush(self._timers, (self._now + max(0.0, seconds), next(self._seq), timer))
        return timer

    @property
    def pending_timers(self) -> int:
        """Timers (sleepers included) not yet fired nor cancelled."""
        return sum(1 for *_, timer in self._timers if not timer.cancelled)

    async def advance(self, seconds: float, *, turns: int = 20) -> None:
        """Move time forward by ``seconds``, firing each timer at its deadline.

        Args:
            seconds: how far to move; not negative.
            turns: event loop turns given to woken tasks after each timer.
        """
        if seconds < 0:
            raise ValueError(f"cannot move a clock back [{seconds}]")
        target = self._now + seconds
        await settle(turns)
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, deadline)
            timer.cancelled = True
            timer.callback()
            await settle(turns)
        self._now = target
        await settle(turns)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now}, pending_timers={self.pending_timers})"


async def settle(turns: int = 20) -> None:
    """Give the event loop ``turns`` turns (no time passes)."""
    for _ in range(turns):
        await asyncio.sleep(0)

"""Ask timeouts without a timer per ask.

Asks with the same timeout expire in the order they were sent, so the runtime keeps one queue
per timeout value, oldest first, and one clock timer, for the oldest ask still waiting. An ask
that got its answer is dropped from the front when it ends (answers mostly come in order), so
a queue holds little more than the asks in flight. An expired ask's future fails with
``AskTimeout``; its command may still run, its answer is dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from repertory.errors import AskTimeout

if TYPE_CHECKING:
    from repertory.actors._clock import Clock, Timer
    from repertory.actors._ref import ActorRef

__all__ = ["AskDeadlines"]

_Entry = tuple[float, "asyncio.Future[Any]", "ActorRef[Any]", Any]
"""``(deadline, the ask's future, its target, its command)``."""


class _Queue:
    __slots__ = ("entries", "timer")

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()
        self.timer: Timer | None = None


class AskDeadlines:
    """The deadlines of the asks in flight, on ``clock``."""

    __slots__ = ("_clock", "_queues")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queues: dict[float, _Queue] = {}

    def __repr__(self) -> str:
        waiting = sum(len(q.entries) for q in self._queues.values())
        return f"AskDeadlines(timeouts={sorted(self._queues)}, waiting={waiting})"

    def add(
        self, timeout: float, future: asyncio.Future[Any], ref: ActorRef[Any], command: Any
    ) -> None:
        """Fail ``future`` with ``AskTimeout`` unless it is done within ``timeout`` seconds."""
        queue = self._queues.get(timeout)
        if queue is None:
            queue = self._queues[timeout] = _Queue()
        queue.entries.append((self._clock.now() + timeout, future, ref, command))
        if queue.timer is None:
            queue.timer = self._clock.call_later(timeout, lambda: self._expire(timeout))

    def ended(self, timeout: float) -> None:
        """An ask with ``timeout`` ended: drop the answered asks at the front of its queue."""
        queue = self._queues.get(timeout)
        if queue is None:
            return
        entries = queue.entries
        while entries and entries[0][1].done():
            entries.popleft()
        if not entries:
            if queue.timer is not None:
                queue.timer.cancel()
            del self._queues[timeout]

    def _expire(self, timeout: float) -> None:
        queue = self._queues.get(timeout)
        if queue is None:
            return
        queue.timer = None
        entries = queue.entries
        now = self._clock.now()
        while entries:
            deadline, future, ref, command = entries[0]
            if not future.done():
                if deadline > now:
                    queue.timer = self._clock.call_later(
                        deadline - now, lambda: self._expire(timeout)
                    )
                    return
                future.set_exception(
                    AskTimeout(
                        f"no reply from [{ref.persistence_id}] within [{timeout}]s "
                        f"to [{type(command).__name__}]"
                    )
                )
            entries.popleft()
        del self._queues[timeout]

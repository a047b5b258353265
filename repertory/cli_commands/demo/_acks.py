"""The demo engine's acks file: one line per acknowledged command, one write per loop turn.

Acks of one event-loop turn are written together, by a callback that runs on the next turn, and
counted in shared memory for the parent's progress bar. A command a lane sends after an ack
reaches the journal through the write batcher, whose journal calls start on later turns, so a
lane's ack is on disk before anything the lane sent afterwards can be journaled: a command
the parent believes unanswered was either not applied or is the last applied one of its lane,
and a restarted run, which sends each lane's unanswered commands again in order, gets each
applied one recognised by its id. With ``limit``, ``reached`` (an event the parent waits on)
is set once that many acks are counted, so the parent can kill the process at that point
without polling; with ``hold`` the process then stops its event loop until the kill lands
(the writer thread may still commit what it holds), so a short stream is not finished before
the parent gets to run.
"""

from __future__ import annotations

import asyncio
import time
from typing import IO, Any

__all__ = ["AckLog"]


class AckLog:
    """Buffered ack lines for ``out`` (see the module doc).

    Args:
        out: the acks file, opened for appending.
        acked: the shared counter (a ``multiprocessing.Value``).
        limit: the count at which ``reached`` is set (None: never).
        reached: a ``multiprocessing.Event`` or None.
        hold: seconds to stop the event loop for once ``reached`` is set (0: do not).
    """

    __slots__ = ("_acked", "_hold", "_limit", "_lines", "_out", "_reached", "_scheduled")

    def __init__(
        self,
        out: IO[str],
        acked: Any,
        limit: int | None = None,
        reached: Any = None,
        *,
        hold: float = 0.0,
    ) -> None:
        self._hold = hold
        self._out = out
        self._acked = acked
        self._limit = limit
        self._reached = reached
        self._lines: list[str] = []
        self._scheduled = False

    def __repr__(self) -> str:
        return f"AckLog(waiting={len(self._lines)}, limit={self._limit})"

    def add(self, index: int, outcome: str) -> None:
        """Record one acknowledgement (written on the next loop turn)."""
        self._lines.append(f"{index} {outcome}\n")
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write and count every recorded acknowledgement now."""
        self._scheduled = False
        lines, self._lines = self._lines, []
        if not lines:
            return
        self._out.write("".join(lines))
        self._out.flush()
        self._acked.value += len(lines)
        reached = self._reached
        if reached is not None and self._limit is not None and self._acked.value >= self._limit:
            reached.set()
            self._reached = None
            if self._hold:
                time.sleep(self._hold)  # blocks the loop on purpose: the kill is due

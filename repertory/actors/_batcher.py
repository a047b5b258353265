"""The write batcher: one queue for every entity's atomic writes, few journal calls.

Writes submitted in the same turn of the event loop, and all that pile up while the in-flight
calls are busy, go to the journal together: as many per call as are waiting (up to the caps),
the next call starting as soon as a slot frees. Latency stays one call at low load; throughput
grows with load. Each write's acknowledgement goes to its callback as soon as the call returns,
in the call's own task (no future, no extra loop turn per write).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from repertory.actors._store import EntityWrite, EventStore, WriteAck, WriteStatus
from repertory.observability import get_logger

__all__ = ["WriteBatcher"]

_log = get_logger("repertory.actors.batcher")

Spawn = Callable[[Coroutine[Any, Any, None]], object]
OnAck = Callable[[WriteAck], None]
"""Receives one write's acknowledgement; must not raise (an error is logged and dropped)."""


_FAILED = WriteAck(WriteStatus.FAILED)


class WriteBatcher:
    """Hands waiting atomic writes to ``store.write`` in bounded calls.

    Args:
        store: the event store.
        spawn: starts a coroutine as a task owned by the runtime.
        max_in_flight: store calls at once.
        max_writes: writes per call.
        max_bytes: estimated bytes per call (a single larger write goes alone).
    """

    __slots__ = (
        "_calls",
        "_closed",
        "_in_flight",
        "_largest",
        "_max_bytes",
        "_max_in_flight",
        "_max_writes",
        "_queue",
        "_scheduled",
        "_spawn",
        "_store",
        "_writes",
    )

    def __init__(
        self,
        store: EventStore,
        spawn: Spawn,
        *,
        max_in_flight: int,
        max_writes: int,
        max_bytes: int,
    ) -> None:
        self._store = store
        self._spawn = spawn
        self._max_in_flight = max_in_flight
        self._max_writes = max_writes
        self._max_bytes = max_bytes
        self._queue: deque[tuple[EntityWrite, OnAck]] = deque()
        self._in_flight = 0
        self._scheduled = False
        self._calls = 0
        self._writes = 0
        self._largest = 0
        self._closed = False

    def submit(self, write: EntityWrite, on_ack: OnAck) -> None:
        """Queue one atomic write; ``on_ack`` gets its acknowledgement (never an exception).

        A write still waiting when the batcher closes gets no acknowledgement: its entity is
        being stopped and fails its commands itself.
        """
        self._queue.append((write, on_ack))
        if not self._scheduled:
            self._schedule()

    def statistics(self) -> dict[str, int]:
        """Calls made, writes carried, the largest call, writes waiting, calls in flight."""
        return {
            "calls": self._calls,
            "writes": self._writes,
            "largest_call": self._largest,
            "waiting": len(self._queue),
            "in_flight": self._in_flight,
        }

    def close(self) -> None:
        """Stop dispatching; writes still waiting are dropped (their entities are stopping)."""
        self._closed = True
        self._queue.clear()

    def _schedule(self) -> None:
        # Dispatch on the next loop turn so writes submitted in this turn share a call.
        if (
            not self._closed
            and not self._scheduled
            and self._queue
            and self._in_flight < self._max_in_flight
        ):
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        if self._closed:
            return
        while self._queue and self._in_flight < self._max_in_flight:
            batch = self._take()
            self._in_flight += 1
            self._spawn(self._call(batch))

    def _take(self) -> list[tuple[EntityWrite, OnAck]]:
        batch = [self._queue.popleft()]
        size = batch[0][0].size
        while self._queue and len(batch) < self._max_writes:
            nxt = self._queue[0][0].size
            if size + nxt > self._max_bytes:
                break
            size += nxt
            batch.append(self._queue.popleft())
        return batch

    async def _call(self, batch: Sequence[tuple[EntityWrite, OnAck]]) -> None:
        acks: Sequence[WriteAck]
        try:
            acks = await self._store.write([write for write, _ in batch])
            if len(acks) != len(batch):
                raise RuntimeError(f"store answered {len(acks)} acks for {len(batch)} writes")
        except Exception as exc:  # any failure of the call leaves every outcome unknown
            _log.warning(
                "journal call failed; outcomes unknown", writes=len(batch), error=repr(exc)
            )
            acks = [_FAILED] * len(batch)
        finally:
            self._in_flight -= 1
            self._calls += 1
            self._writes += len(batch)
            self._largest = max(self._largest, len(batch))
        for (_, on_ack), ack in zip(batch, acks, strict=True):
            try:
                on_ack(ack)
            except Exception as exc:  # a bug in one entity must not cost the others their acks
                _log.error("write acknowledgement not handled", error=repr(exc))
        self._schedule()

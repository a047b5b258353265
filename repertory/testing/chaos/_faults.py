"""Fault points inside a worker process: where, on the command path, the process kills itself.

A worker started with a fault point wraps one engine method *in its own process* (no engine
code knows about faults, no environment variable is read) and, at the chosen hit, sends itself
SIGKILL — or SIGSTOP, to be frozen until the harness sends SIGCONT:

- ``after_consume``: records were handed to their partition, nothing of them is journaled;
- ``after_journal``: the journal acknowledged a write, its Kafka transaction has not committed
  (the next owner finds the events by source offset and republishes them, applying nothing);
- ``after_commit``: a transaction carrying commands has committed;
- ``freeze_after_claim``: the worker claimed its writer epoch and freezes before proving it,
  so the next owner's fence and higher epoch land while it sleeps.
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAULT_POINTS", "FaultPoint", "install"]

FAULT_POINTS = ("after_consume", "after_journal", "after_commit", "freeze_after_claim")


@dataclass(frozen=True, slots=True)
class FaultPoint:
    """Kill (or freeze) the process at the ``hit``-th pass through ``point``."""

    point: str
    hit: int

    def __post_init__(self) -> None:
        if self.point not in FAULT_POINTS or self.hit < 1:
            raise ValueError(f"unknown fault point [{self.point}:{self.hit}]")

    @classmethod
    def parse(cls, text: str) -> FaultPoint:
        """``"after_journal:3"`` → ``FaultPoint("after_journal", 3)``."""
        point, _, hit = text.partition(":")
        return cls(point, int(hit or "1"))

    def __str__(self) -> str:
        return f"{self.point}:{self.hit}"


class _Counter:
    def __init__(self, fault: FaultPoint) -> None:
        self.fault = fault
        self.passes = 0

    def passed(self, count: int = 1) -> None:
        self.passes += count
        if self.passes >= self.fault.hit:
            os.write(2, f"fault point [{self.fault}] reached\n".encode())
            frozen = self.fault.point.startswith("freeze")
            os.kill(os.getpid(), signal.SIGSTOP if frozen else signal.SIGKILL)
            self.fault = FaultPoint(self.fault.point, 1 << 62)  # once: a frozen one goes on


def _wrap(owner: Any, name: str, after: Callable[[Any, Any, Any], None]) -> None:
    """Replace the coroutine method ``owner.name`` with one that calls ``after`` on return."""
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        after(self, args, result)
        return result

    setattr(owner, name, wrapped)


def install(fault: FaultPoint) -> None:
    """Arm ``fault`` in this process (a worker, before its engine starts)."""
    from repertory.engine import Engine
    from repertory.kafka import CapturingStore, PartitionProducer
    from repertory.kafka._partition import PartitionWorker

    counter = _Counter(fault)
    if fault.point == "after_consume":
        original_offer = PartitionWorker.offer

        def offer(self: PartitionWorker, records: Any) -> None:
            original_offer(self, records)
            if records:
                counter.passed(len(records))

        PartitionWorker.offer = offer  # type: ignore[method-assign]
    elif fault.point == "after_journal":
        _wrap(CapturingStore, "write", lambda _s, args, _r: counter.passed(len(args[0])))
    elif fault.point == "after_commit":
        _wrap(
            PartitionProducer,
            "publish",
            lambda _s, args, _r: counter.passed(1) if args[0].commands else None,
        )
    else:
        _wrap(Engine, "_claim_epoch", lambda _s, _a, _r: counter.passed(1))

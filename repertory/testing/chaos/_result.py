"""What one scenario run produced: its verdict and the faults it injected."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from repertory.testing.chaos._settings import ChaosSettings
from repertory.testing.history import HistoryReport

__all__ = ["Scenario", "ScenarioResult", "StackControl", "restored"]


class StackControl(Protocol):
    """What a scenario needs of the dev stack (``repertory.devstack.DevStack`` has it all);
    blocking calls, run in a thread."""

    def pause(self, name: str) -> None: ...
    def resume(self, name: str) -> None: ...
    def stop(self, name: str) -> str: ...
    def restart(self, name: str) -> object: ...
    def up(self, names: tuple[str, ...] = ...) -> object: ...


@dataclass(slots=True)
class ScenarioResult:
    """One scenario's verdict, load and faults."""

    name: str
    report: HistoryReport
    commands: int
    seconds: float
    faults: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for a progress log."""
        counts = self.report.counts()
        bad = sum(counts.values())
        return (
            f"{self.name:<20} {'ok' if not bad else 'FAILED':<6} commands {self.commands:>6} "
            f"applied {self.report.applied:>6} dropped {self.report.dropped_rows:>3} "
            f"anomalies {bad} faults {len(self.faults)} in {self.seconds:.0f} s"
        )


Scenario = Callable[[ChaosSettings, StackControl], Awaitable[ScenarioResult]]


async def restored(stack: StackControl) -> None:
    """Bring both servers back to serving (resume a paused one, start a stopped one)."""
    await asyncio.to_thread(stack.up, ("kafka", "cassandra"))

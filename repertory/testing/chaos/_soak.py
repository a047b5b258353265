"""The soak: scenarios in a loop for as long as asked, a progress bar, the checker's reports.

Behind ``repertory chaos --duration 30m``. Each scenario's verdict is printed as it finishes; a
failed one is reported and the loop goes on (a soak looks for every failure, not the first).
At the end the totals: scenarios, commands, faults injected and every anomaly count.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from repertory.testing.chaos._catalog import SCENARIOS
from repertory.testing.chaos._result import ScenarioResult, StackControl, restored
from repertory.testing.chaos._run import RunFailed
from repertory.testing.chaos._settings import ChaosSettings

__all__ = ["SoakTotals", "parse_duration", "soak", "soak_command"]

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"2h"`` or plain seconds → seconds.

    Raises:
        ValueError: anything else.
    """
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not found:
        raise ValueError(f"duration [{text}] is not like 90s, 30m or 2h")
    return float(found[1]) * _UNITS[found[2] or "s"]


@dataclass(slots=True)
class SoakTotals:
    """What a soak did, summed over its scenario runs."""

    runs: int = 0
    failed: list[str] = field(default_factory=list)
    commands: int = 0
    applied: int = 0
    faults: int = 0
    dropped_rows: int = 0
    dead_letters: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)

    def add(self, result: ScenarioResult) -> None:
        self.runs += 1
        self.commands += result.commands
        self.applied += result.report.applied
        self.faults += len(result.faults)
        self.dropped_rows += result.report.dropped_rows
        self.dead_letters += sum(result.report.dead_letters.values())
        self.anomalies.update(result.report.counts())

    def summary(self, seconds: float) -> str:
        counts = ", ".join(f"{k} {self.anomalies[k]}" for k in sorted(self.anomalies))
        return "\n".join(
            [
                f"soak: {self.runs} scenario runs in {seconds / 60:.1f} min, "
                f"{len(self.failed)} failed {self.failed or ''}",
                f"  commands sent {self.commands}, applied {self.applied}, faults injected "
                f"{self.faults}, dropped rows {self.dropped_rows}, "
                f"dead letters {self.dead_letters}",
                f"  anomalies: {counts or 'none recorded'}",
            ]
        )


async def soak(
    settings: ChaosSettings,
    stack: StackControl,
    duration: float,
    names: Sequence[str] = (),
    echo: Callable[[str], None] = print,
) -> SoakTotals:
    """Run ``names`` (default all) round-robin until ``duration`` seconds have passed.

    Raises:
        KeyError: an unknown scenario name.
    """
    chosen = [(name, SCENARIOS[name]) for name in (names or list(SCENARIOS))]
    totals = SoakTotals()
    started = time.monotonic()
    with tqdm(total=round(duration), unit="s", desc="chaos soak", dynamic_ncols=True) as bar:
        while time.monotonic() - started < duration:
            name, scenario = chosen[totals.runs % len(chosen)]
            bar.set_postfix_str(f"{name} (run {totals.runs + 1})")
            try:
                result = await scenario(settings, stack)
            except (RunFailed, TimeoutError) as failure:
                totals.runs += 1
                totals.failed.append(name)
                echo(f"{name}: FAILED\n{failure}")
                await restored(stack)
            else:
                totals.add(result)
                echo(result.line())
                echo(result.report.summary(max_findings=5))
            bar.n = min(round(duration), round(time.monotonic() - started))
            bar.refresh()
    echo(totals.summary(time.monotonic() - started))
    return totals


def soak_command(
    stack: Any,
    duration: str,
    scenarios: Sequence[str],
    profile: str,
    seed: int | None,
    echo: Callable[[str], None],
) -> int:
    """The body of ``repertory chaos``: validate, soak against ``stack``, return the exit code
    (0 when every run passed, 1 when one failed, 2 for bad usage)."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        echo(str(exc))
        return 2
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        echo(f"unknown scenarios {unknown}; choose from {sorted(SCENARIOS)}")
        return 2
    host, port = stack.cassandra_contact
    make = ChaosSettings.soak if profile == "soak" else ChaosSettings.ci
    settings = make(
        kafka_bootstrap=stack.kafka_bootstrap, cassandra_host=host, cassandra_port=port, seed=seed
    )
    stack.up()
    totals = asyncio.run(soak(settings, stack, seconds, scenarios, echo))
    return 1 if totals.failed else 0

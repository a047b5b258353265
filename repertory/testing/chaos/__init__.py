"""Fault injection on the real servers, judged by the history checker.

Each scenario starts Kafka-mode workers (or embedded drivers) as OS processes, offers load,
breaks something on purpose — SIGKILL, SIGSTOP, a server paused or restarted, a rebalance,
duplicates, poison, a handler that keeps raising — and judges the run with ``check_history``:
every anomaly count must be zero and progress made. ``SCENARIOS`` lists them; ``soak`` loops
them for ``repertory chaos``; ``tests/reliability`` runs each once with ``ChaosSettings.ci()``.
"""

from repertory.testing.chaos._catalog import SCENARIOS
from repertory.testing.chaos._faults import FAULT_POINTS, FaultPoint
from repertory.testing.chaos._result import Scenario, ScenarioResult, StackControl
from repertory.testing.chaos._run import ChaosRun, RunFailed
from repertory.testing.chaos._settings import ChaosSettings
from repertory.testing.chaos._soak import SoakTotals, parse_duration, soak, soak_command

__all__ = [
    "FAULT_POINTS",
    "SCENARIOS",
    "ChaosRun",
    "ChaosSettings",
    "FaultPoint",
    "RunFailed",
    "Scenario",
    "ScenarioResult",
    "SoakTotals",
    "StackControl",
    "parse_duration",
    "soak",
    "soak_command",
]

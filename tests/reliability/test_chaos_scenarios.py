"""Every chaos scenario once, on the real servers, in the CI profile: load running, a fault
injected, the history checker run — every anomaly count 0 and progress made."""

from __future__ import annotations

import pytest

from repertory.devstack import DevStack
from repertory.testing.chaos import SCENARIOS, ChaosSettings, ScenarioResult
from repertory.testing.history import Anomaly


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_scenario_survives_its_faults(
    name: str, chaos_settings: ChaosSettings, devstack: DevStack, results: list[ScenarioResult]
) -> None:
    result = await SCENARIOS[name](chaos_settings, devstack)
    results.append(result)
    assert result.faults, "the scenario injected no fault"
    assert all(result.report.count(anomaly) == 0 for anomaly in Anomaly)
    assert result.report.unresolved == 0
    assert result.report.applied > 0 and result.report.applied_per_second > 0

"""Fixtures of the fault-injection suite: the dev stack (the integration suite's fixture),
the CI profile of the chaos settings, and a stack left healthy after every test.

Every test here is marked ``reliability`` (run them with ``pytest -m reliability``); each
scenario's checker report is printed in the terminal summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repertory.devstack import DevStack
from repertory.testing.chaos import ChaosSettings, ScenarioResult
from tests.integration.conftest import devstack  # noqa: F401 - the shared session fixture

HERE = Path(__file__).parent
_RESULTS: list[ScenarioResult] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def chaos_settings(
    devstack: DevStack,  # noqa: F811 - the imported fixture, requested
    tmp_path_factory: pytest.TempPathFactory,
) -> ChaosSettings:
    """The CI profile, aimed at the dev stack, writing under the session's temporary dir."""
    host, port = devstack.cassandra_contact
    return ChaosSettings.ci(
        kafka_bootstrap=devstack.kafka_bootstrap,
        cassandra_host=host,
        cassandra_port=port,
        work_dir=tmp_path_factory.mktemp("chaos"),
    )


@pytest.fixture(autouse=True)
def healthy_stack(devstack: DevStack) -> Iterator[None]:  # noqa: F811
    """Whatever a scenario did to the servers, both serve again when it ends."""
    yield
    devstack.up()


@pytest.fixture
def results() -> list[ScenarioResult]:
    """Where a test puts its scenario's result, for the terminal summary."""
    return _RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RESULTS:
        return
    terminalreporter.section("history checker reports")
    for result in _RESULTS:
        terminalreporter.write_line(result.line())
        terminalreporter.write_line("  faults: " + "; ".join(result.faults))
        for line in result.report.summary(max_findings=10).splitlines():
            terminalreporter.write_line("  " + line)

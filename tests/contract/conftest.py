"""The journals the contract suite runs against: one harness factory per journal and mode.

To add a journal, append a ``pytest.param`` to ``HARNESSES`` with a factory taking the test's
``tmp_path``; mark journals that need servers ``integration`` (those without: ``unit``), and
say what the journal is with ``journal_kind`` so tests that do not apply to it are deselected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from repertory.persistence import JournalMode
from repertory.testing.cassandra_harness import CassandraHarness
from repertory.testing.journal_contract import (
    InMemoryHarness,
    JournalHarness,
    SqliteHarness,
    deselect_inapplicable,
    journal_kind,
)

HarnessFactory = Callable[[Path], JournalHarness]

FENCED, CONDITIONAL = JournalMode.FENCED, JournalMode.CONDITIONAL

HARNESSES: list[Any] = [
    pytest.param(
        lambda _: InMemoryHarness(FENCED),
        id="memory-fenced",
        marks=[pytest.mark.unit, journal_kind(FENCED, outbox=True)],
    ),
    pytest.param(
        lambda _: InMemoryHarness(CONDITIONAL),
        id="memory-conditional",
        marks=[pytest.mark.unit, journal_kind(CONDITIONAL, outbox=True)],
    ),
    pytest.param(
        lambda tmp: SqliteHarness(FENCED, tmp),
        id="sqlite-fenced",
        marks=[pytest.mark.unit, journal_kind(FENCED, outbox=True)],
    ),
    pytest.param(
        lambda tmp: SqliteHarness(CONDITIONAL, tmp),
        id="sqlite-conditional",
        marks=[pytest.mark.unit, journal_kind(CONDITIONAL, outbox=True)],
    ),
    pytest.param(
        lambda _: CassandraHarness(FENCED),
        id="cassandra-fenced",
        marks=[pytest.mark.integration, journal_kind(FENCED, outbox=False)],
    ),
    pytest.param(
        lambda _: CassandraHarness(CONDITIONAL),
        id="cassandra-conditional",
        marks=[pytest.mark.integration, journal_kind(CONDITIONAL, outbox=False)],
    ),
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselect_inapplicable(config, items)


@pytest.fixture(params=HARNESSES)
async def journal_harness(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[JournalHarness]:
    factory: HarnessFactory = request.param
    harness = factory(tmp_path)
    yield harness
    await harness.aclose()

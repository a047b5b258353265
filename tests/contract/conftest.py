"""The journals the contract suite runs against: one harness factory per journal and mode.

To add a journal, append a ``pytest.param`` to ``HARNESSES`` with a factory taking the test's
``tmp_path``; mark journals that need servers ``integration`` (those without: ``unit``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from repertory.persistence import JournalMode
from repertory.testing.cassandra_harness import CassandraHarness
from repertory.testing.journal_contract import InMemoryHarness, JournalHarness, SqliteHarness

HarnessFactory = Callable[[Path], JournalHarness]

HARNESSES: list[Any] = [
    pytest.param(
        lambda _: InMemoryHarness(JournalMode.FENCED), id="memory-fenced", marks=pytest.mark.unit
    ),
    pytest.param(
        lambda _: InMemoryHarness(JournalMode.CONDITIONAL),
        id="memory-conditional",
        marks=pytest.mark.unit,
    ),
    pytest.param(
        lambda tmp: SqliteHarness(JournalMode.FENCED, tmp),
        id="sqlite-fenced",
        marks=pytest.mark.unit,
    ),
    pytest.param(
        lambda tmp: SqliteHarness(JournalMode.CONDITIONAL, tmp),
        id="sqlite-conditional",
        marks=pytest.mark.unit,
    ),
    pytest.param(
        lambda _: CassandraHarness(JournalMode.FENCED),
        id="cassandra-fenced",
        marks=pytest.mark.integration,
    ),
    pytest.param(
        lambda _: CassandraHarness(JournalMode.CONDITIONAL),
        id="cassandra-conditional",
        marks=pytest.mark.integration,
    ),
]


@pytest.fixture(params=HARNESSES)
async def journal_harness(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[JournalHarness]:
    factory: HarnessFactory = request.param
    harness = factory(tmp_path)
    yield harness
    await harness.aclose()

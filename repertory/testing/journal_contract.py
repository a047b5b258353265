"""The journal and snapshot-store contract suite: run it against any journal.

Modelled on Akka's persistence TCK (JournalSpec, SnapshotStoreSpec), plus the epoch and
compare-and-set rules that keep a journal from forking. Provide a ``journal_harness`` fixture
(an implementation of :class:`JournalHarness` on a fresh store, closed after the test) and
subclass the specs::

    @pytest.fixture
    async def journal_harness(tmp_path):
        harness = SqliteHarness(JournalMode.FENCED, tmp_path)
        yield harness
        await harness.aclose()

    class TestMyJournal(JournalContract): ...
    class TestMySnapshots(SnapshotStoreSpec): ...

The tests are coroutines: run them with pytest-asyncio in ``asyncio_mode = "auto"``.
Tests of one mode, or of the outbox, skip themselves on a journal without it. To leave them out
at collection instead, mark each harness parameter with :func:`journal_kind` and call
:func:`deselect_inapplicable` from ``pytest_collection_modifyitems``; the marks are made when
the specs are imported, so declare ``journal_needs`` and ``journal_is`` in the ``markers`` of
your pytest configuration (as this project's ``pyproject.toml`` does).
"""

from __future__ import annotations

from repertory.testing._applicability import (
    deselect_inapplicable,
    journal_kind,
)
from repertory.testing._epoch_spec import ConditionalSpec, FencedSpec
from repertory.testing._journal_harness import (
    CONTRACT_PARTITION_SIZE,
    InMemoryHarness,
    JournalHarness,
    SqliteHarness,
)
from repertory.testing._journal_spec import JournalSpec
from repertory.testing._snapshot_spec import SnapshotStoreSpec

__all__ = [
    "CONTRACT_PARTITION_SIZE",
    "ConditionalSpec",
    "FencedSpec",
    "InMemoryHarness",
    "JournalContract",
    "JournalHarness",
    "JournalSpec",
    "SnapshotStoreSpec",
    "SqliteHarness",
    "deselect_inapplicable",
    "journal_kind",
]


class JournalContract(JournalSpec, FencedSpec, ConditionalSpec):
    """Every journal test: the TCK part in both modes, plus the rules of the journal's mode."""

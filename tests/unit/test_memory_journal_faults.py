"""The in-memory journal's injected faults, which runtime tests rely on."""

from __future__ import annotations

import pytest

from repertory.errors import JournalUnavailable, WriteOutcomeUnknown
from repertory.persistence import (
    ChainTip,
    Fault,
    InMemoryJournal,
    JournalMode,
    PersistenceId,
    WriteOutcome,
)
from repertory.testing._journal_helpers import replayed, write

pytestmark = pytest.mark.unit
PID = PersistenceId("account", "1")


@pytest.mark.parametrize(
    ("fault", "stored_rows"), [(Fault.FAIL_STORED, 2), (Fault.FAIL_NOT_STORED, 0)]
)
async def test_injected_fault_reports_failed(fault: Fault, stored_rows: int) -> None:
    journal = InMemoryJournal(mode=JournalMode.FENCED, fault_hook=lambda _: fault)
    [result] = await journal.append([write(PID, 1, ChainTip(), 2)])
    assert result.outcome is WriteOutcome.FAILED
    assert isinstance(result.error, WriteOutcomeUnknown) and result.error.retriable
    assert len(await replayed(journal, PID)) == stored_rows


async def test_identical_retry_after_a_lost_acknowledgement_is_stored() -> None:
    faults = [Fault.FAIL_STORED]
    journal = InMemoryJournal(
        mode=JournalMode.CONDITIONAL, fault_hook=lambda _: faults.pop() if faults else None
    )
    atomic = write(PID, 0, ChainTip(), 3)
    [first] = await journal.append([atomic])
    [retry] = await journal.append([atomic])
    assert (first.outcome, retry.outcome) == (WriteOutcome.FAILED, WriteOutcome.STORED)
    assert retry.tip == ChainTip(3, 0, 0)


async def test_unavailable_journal_fails_writes_and_reads() -> None:
    journal = InMemoryJournal()
    journal.unavailable = True
    [result] = await journal.append([write(PID, 1, ChainTip())])
    assert result.outcome is WriteOutcome.FAILED
    with pytest.raises(JournalUnavailable):
        await journal.highest_seq_nr(PID)

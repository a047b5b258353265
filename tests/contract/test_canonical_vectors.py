"""The shared canonical-chain vectors, through the resolver and through every journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from repertory.persistence import Anchor, JournalMode, PersistenceId, resolve_chain
from repertory.testing._journal_helpers import positions, replayed, stored, write_one
from repertory.testing.journal_contract import JournalHarness

VECTORS = Path(__file__).parents[1] / "data" / "canonical_chain.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]


class Row(NamedTuple):
    seq_nr: int
    writer_epoch: int
    prev_epoch: int


def _expected(case: dict[str, Any]) -> list[tuple[int, int]]:
    return [(seq_nr, epoch) for seq_nr, epoch in case["chain"]]


def _conditional(case: dict[str, Any]) -> bool:
    return all(epoch == 0 for _, epoch, _ in case["rows"])


@pytest.mark.unit
def test_there_are_209_vectors() -> None:
    assert len(CASES) == 209


@pytest.mark.unit
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_resolver_reproduces_the_vector(case: dict[str, Any]) -> None:
    rows = [Row(*row) for row in case["rows"]]
    resolution = resolve_chain(rows, Anchor(*case["anchor"]))
    assert [(row.seq_nr, row.writer_epoch) for row in resolution.chain] == _expected(case)
    above = [row for row in rows if row.seq_nr > case["anchor"][0]]
    assert len(resolution.chain) + len(resolution.dropped) == len(above)


async def test_every_journal_reproduces_the_vectors(journal_harness: JournalHarness) -> None:
    journal = await journal_harness.open_journal()
    conditional = journal.mode is JournalMode.CONDITIONAL
    cases = [case for case in CASES if _conditional(case) == conditional]
    assert cases
    for number, case in enumerate(cases):
        pid = PersistenceId("vector", str(number))
        for seq_nr, epoch, prev_epoch in case["rows"]:
            await stored(journal, write_one(pid, seq_nr, epoch, prev_epoch))
        anchor = Anchor(*case["anchor"])
        start = anchor.seq_nr + 1
        given = None if anchor.seq_nr == 0 else anchor
        rows = [row async for row in journal.replay(pid, from_seq_nr=start, anchor=given)]
        assert positions(rows) == _expected(case), case["name"]
        if given is None:
            assert positions(await replayed(journal, pid)) == _expected(case)

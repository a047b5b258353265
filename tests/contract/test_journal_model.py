"""Each journal against a plain model of the rules: random writers, views and interleavings.

Fenced mode: writers claim epochs, replay (their view), write continuing their view, refresh;
the newest writer that has written owns the chain, whatever older writers write later.
Conditional mode: every stored write extends the one history; a write is stored exactly when
it continues the current end. Deletion is done by the newest writer, within what it saw.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from repertory.persistence import ChainTip, JournalMode, PersistenceId, WriteOutcome
from repertory.testing._journal_helpers import positions, replayed, write
from repertory.testing.journal_contract import InMemoryHarness, JournalHarness, SqliteHarness

T = TypeVar("T")
PID = PersistenceId("model", "1")
Position = tuple[int, int]


@dataclass
class Writer:
    name: str
    epoch: int
    tip: ChainTip
    lineage: list[Position]
    wrote: bool = False
    retired: bool = False


@dataclass
class Model:
    """What the journal should hold: the rows, the marker and the expected chain."""

    rows: dict[Position, int] = field(default_factory=dict)  # (seq, epoch) -> prev_epoch
    marker: Position = (0, 0)

    def chain(self) -> list[Position]:
        """The rule, written plainly: newest epoch whose last row walks down to the marker."""
        above = {pos: prev for pos, prev in self.rows.items() if pos[0] > self.marker[0]}
        for epoch in sorted({e for _, e in above}, reverse=True):
            seq = max(s for s, e in above if e == epoch)
            walk = [(seq, epoch)]
            while walk[-1] in above and walk[-1][0] > self.marker[0] + 1:
                walk.append((walk[-1][0] - 1, above[walk[-1]]))
            last = walk[-1]
            if last in above and (last[0] - 1, above[last]) == self.marker:
                return walk[::-1]
        return []


class JournalMachine(RuleBasedStateMachine):
    make_harness: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.directory = Path(tempfile.mkdtemp())
        self.harness: JournalHarness = type(self).make_harness(self.directory)
        self.journal = self.run(self.harness.open_journal())
        self.model = Model()
        self.writers: list[Writer] = []
        self.stored: list[Position] = []
        self.deleted_under = 0  # the highest epoch that raised the deletion marker

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coroutine)

    @property
    def fenced(self) -> bool:
        return self.harness.mode is JournalMode.FENCED

    def teardown(self) -> None:
        self.run(self.harness.aclose())
        self.runner.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule()
    def new_writer(self) -> None:
        epoch = self.run(self.journal.claim_epoch())
        tip = self.run(self.journal.chain_tip(PID))
        self.writers.append(Writer(f"w{len(self.writers)}", epoch, tip, self.model.chain()))

    @precondition(lambda self: self.writers)
    @rule(data=st.data())
    def refresh(self, data: st.DataObject) -> None:
        writer = data.draw(st.sampled_from(self.writers))
        tip = self.run(self.journal.chain_tip(PID))
        if self.fenced and tip.epoch > writer.epoch:
            writer.retired = True  # a zombie that notices writes nothing more
            return
        writer.tip, writer.lineage = tip, self.model.chain()

    @precondition(lambda self: any(not w.retired for w in self.writers))
    @rule(data=st.data(), count=st.integers(1, 3))
    def append(self, data: st.DataObject, count: int) -> None:
        writer = data.draw(st.sampled_from([w for w in self.writers if not w.retired]))
        atomic = write(PID, writer.epoch, writer.tip, count, tag=writer.name)
        seqs = range(atomic.first_seq_nr, atomic.last_seq_nr + 1)
        if self.fenced and any((seq, writer.epoch) in self.stored for seq in seqs):
            # Content under an epoch is never changed: only an identical retry rewrites a row.
            # This writer's view fell back below rows it already stored (a newer writer's
            # lineage or deletion left them out), so this write would change them or copy
            # them into another partition. A real writer never does; it writes no more here.
            writer.retired = True
            return
        expected_end = (self.model.chain() or [self.model.marker])[-1][0]
        [result] = self.run(self.journal.append([atomic]))
        if not self.fenced and writer.tip.seq_nr != expected_end:
            assert result.outcome is WriteOutcome.REJECTED
            return
        assert result.outcome is WriteOutcome.STORED and result.tip is not None
        prev = writer.tip.epoch
        for seq in range(atomic.first_seq_nr, atomic.last_seq_nr + 1):
            self.model.rows[(seq, writer.epoch)] = prev
            writer.lineage.append((seq, writer.epoch))
            self.stored.append((seq, writer.epoch))
            prev = writer.epoch
        writer.tip, writer.wrote = result.tip, True

    @precondition(lambda self: self.writers)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        newest = max(self.writers, key=lambda w: w.epoch)
        self.deleted_under = max(self.deleted_under, newest.epoch)
        seq = data.draw(st.integers(0, newest.tip.seq_nr + 2))
        target = min(seq, newest.tip.seq_nr)
        seen, epoch = newest.tip, newest.epoch
        marker = self.run(self.journal.delete_to(PID, seq, seen=seen, writer_epoch=epoch))
        if target > self.model.marker[0]:
            # The deleter's view, not the chain of the moment: a zombie's row that landed after
            # the deleter replayed (and before it wrote) is never the anchor.
            self.model.marker = next(pos for pos in newest.lineage if pos[0] == target)
            self.model.rows = {p: e for p, e in self.model.rows.items() if p[0] > target}
        assert (marker.seq_nr, marker.epoch) == self.model.marker

    @precondition(lambda self: self.writers)
    @rule(data=st.data())
    def partial_replay(self, data: st.DataObject) -> None:
        full = self.run(replayed(self.journal, PID))
        start = data.draw(st.integers(1, len(full) + self.model.marker[0] + 2))
        end = data.draw(st.integers(start - 1, start + 6))
        part = self.run(replayed(self.journal, PID, from_seq_nr=start, to_seq_nr=end))
        assert part == [row for row in full if start <= row.seq_nr <= end]

    @invariant()
    def journal_follows_the_model(self) -> None:
        chain = self.model.chain()
        assert positions(self.run(replayed(self.journal, PID))) == chain
        highest = chain[-1][0] if chain else self.model.marker[0]
        assert self.run(self.journal.highest_seq_nr(PID)) == highest
        dropped = self.run(self.journal.check(PID))[PID]
        above = [pos for pos in self.model.rows if pos[0] > self.model.marker[0]]
        assert len(dropped) == len(above) - len(chain)

    @invariant()
    def the_rules_hold(self) -> None:
        chain = self.model.chain()
        if not self.fenced:
            assert chain == [pos for pos in self.stored if pos[0] > self.model.marker[0]]
            return
        writing = [w for w in self.writers if w.wrote]
        owner = max(writing, key=lambda w: w.epoch, default=None)
        # A newer writer's deletion anchors the chain in its own view: it owns the prefix.
        if owner is not None and owner.epoch >= self.deleted_under:
            assert chain == [pos for pos in owner.lineage if pos[0] > self.model.marker[0]]


def _machine(factory: Any) -> Any:
    machine: Any = type("Machine", (JournalMachine,), {"make_harness": staticmethod(factory)})
    machine.TestCase.settings = settings(
        max_examples=75,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    return machine.TestCase


def _size(mode: JournalMode) -> dict[str, Any]:
    return {"mode": mode, "partition_size": 3}


@pytest.mark.unit
@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(lambda d: InMemoryHarness(**_size(JournalMode.FENCED)), id="memory-fenced"),
        pytest.param(
            lambda d: InMemoryHarness(**_size(JournalMode.CONDITIONAL)), id="memory-conditional"
        ),
        pytest.param(
            lambda d: SqliteHarness(directory=d, **_size(JournalMode.FENCED)), id="sqlite-fenced"
        ),
        pytest.param(
            lambda d: SqliteHarness(directory=d, **_size(JournalMode.CONDITIONAL)),
            id="sqlite-conditional",
        ),
    ],
)
def test_journal_follows_the_model(factory: Any) -> None:
    _machine(factory)().runTest()


class _Drawn:
    """Stands in for hypothesis' data: draws a named writer, or returns the given value."""

    def __init__(self, machine: JournalMachine, value: str | int) -> None:
        self.machine, self.value = machine, value

    def draw(self, strategy: Any) -> Any:
        if isinstance(self.value, str):
            return next(w for w in self.machine.writers if w.name == self.value)
        return self.value


# Shrunk histories the model once got wrong: ("new",) claims; ("append", writer, count);
# ("refresh", writer); ("delete", seq).
_HISTORIES = {
    # w1 (a zombie of w2) rewrites seq 4 under its epoch after w2's deletion left its rows out.
    "rewrite-under-an-epoch": [
        ("new",), ("append", "w0", 2), ("new",), ("append", "w0", 1), ("new",), ("delete", 3),
        ("append", "w1", 2), ("refresh", "w1"), ("append", "w1", 1),
    ],
    # w1's late (3, 2) lands after w2 replayed (3, 1); w2 deletes to 3 before it writes: the
    # marker must be w2's (3, 1), which its (4, 3) continues, not the zombie's (3, 2).
    "marker-on-a-zombie-row": [
        ("new",), ("append", "w0", 2), ("new",), ("append", "w0", 1), ("new",),
        ("append", "w1", 1), ("delete", 3), ("append", "w2", 1),
    ],
}  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize("history", list(_HISTORIES))
@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(lambda d: InMemoryHarness(**_size(JournalMode.FENCED)), id="memory-fenced"),
        pytest.param(
            lambda d: SqliteHarness(directory=d, **_size(JournalMode.FENCED)), id="sqlite-fenced"
        ),
    ],
)
def test_shrunk_histories_follow_the_model(factory: Any, history: str) -> None:
    machine: Any = type("Machine", (JournalMachine,), {"make_harness": staticmethod(factory)})()
    try:
        for step in _HISTORIES[history]:
            if step[0] == "new":
                machine.new_writer()
            elif step[0] == "append":
                machine.append(_Drawn(machine, step[1]), step[2])
            elif step[0] == "refresh":
                machine.refresh(_Drawn(machine, step[1]))
            else:
                machine.delete(_Drawn(machine, step[1]))
            machine.journal_follows_the_model()
            machine.the_rules_hold()
    finally:
        machine.teardown()

"""Judging a demo run: the history checker over what was sent, acknowledged and journaled, an
independent tally of every balance, and the conservation of money across transfers."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.bank.domain import Deposit, OpenAccount, RequestTransfer, Withdraw
from repertory.cli_commands.demo._plan import DemoPlan
from repertory.testing.history import (
    Ack,
    AckOutcome,
    History,
    HistoryReport,
    JournalRow,
    PublishedEvent,
    SentCommand,
    check_history,
)

__all__ = ["Verdict", "judge", "judge_rows"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The demo's checks, each of which must hold."""

    report: HistoryReport
    accounts: int
    tallied: int
    balance_total: int
    deposits_minus_withdrawals: int
    transfers: Mapping[str, int]
    unsettled: int

    @property
    def conserved(self) -> bool:
        return self.balance_total == self.deposits_minus_withdrawals

    @property
    def anomalies(self) -> dict[str, int]:
        """Every anomaly found (publication is judged only on Kafka: see ``judge_rows``)."""
        return {name: count for name, count in self.report.counts().items() if count}

    @property
    def exactly_once(self) -> bool:
        report = self.report
        return not self.anomalies and report.unresolved == 0 and report.applied > 0

    @property
    def ok(self) -> bool:
        return self.exactly_once and self.conserved and self.unsettled == 0


_AT_REST = frozenset({"completed", "cancelled", "refunded", "new"})


def _outcome(text: str) -> AckOutcome:
    if text == "ok":
        return AckOutcome.OK
    return AckOutcome.REJECTED if text.startswith("rejected") else AckOutcome.ERROR


def journal_rows(path: Path) -> list[JournalRow]:
    """Every raw row of the SQLite journal, whichever writer wrote it."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return [
            JournalRow(
                persistence_id=pid,
                seq_nr=seq_nr,
                writer_epoch=epoch,
                prev_epoch=prev,
                command_id=command_id,
                event_type=event_type,
            )
            for pid, seq_nr, epoch, prev, command_id, event_type in connection.execute(
                "SELECT persistence_id, seq_nr, writer_epoch, prev_epoch, command_id, event_type"
                " FROM events"
            )
        ]


def _tally(transfers: Mapping[str, str]) -> Any:
    """Balances from the commands acknowledged OK, with each transfer moving money only when
    its final state says it completed."""

    def tally(accepted: Sequence[SentCommand]) -> dict[str, object]:
        balances: dict[str, int] = {}
        for sent in accepted:
            fields = sent.payload
            if sent.command_type == OpenAccount.__type_name__:
                balances.setdefault(sent.persistence_id, 0)
            elif sent.command_type == Deposit.__type_name__:
                balances[sent.persistence_id] += fields["amount"]
            elif sent.command_type == Withdraw.__type_name__:
                balances[sent.persistence_id] -= fields["amount"]
            elif (
                sent.command_type == RequestTransfer.__type_name__
                and transfers.get(fields["transfer_id"]) == "completed"
            ):
                balances[f"account|{fields['source']}"] -= fields["amount"]
                balances[f"account|{fields['target']}"] += fields["amount"]
        return dict(balances)

    return tally


def judge(
    plan: DemoPlan,
    acks: Mapping[int, str],
    journal: Path,
    final: Mapping[str, Any],
    duration_s: float,
) -> Verdict:
    """Check a finished run on SQLite (see the module doc)."""
    return judge_rows(plan, acks, journal_rows(journal), final, duration_s)


def judge_rows(
    plan: DemoPlan,
    acks: Mapping[int, str],
    rows: Sequence[JournalRow],
    final: Mapping[str, Any],
    duration_s: float,
    published: Sequence[PublishedEvent] | None = None,
) -> Verdict:
    """Check a finished run from its raw journal ``rows`` and, when given, the state changes
    ``published`` on Kafka (then guarantee 4, every journaled event published, is judged)."""
    planned = list(plan)
    sent = [
        SentCommand(
            command_id=p.command_id,
            persistence_id=p.persistence_id,
            command_type=p.type_name,
            payload=p.fields(),
        )
        for p in planned
    ]
    answered = [
        Ack(command_id=planned[i].command_id, outcome=_outcome(text)) for i, text in acks.items()
    ]
    transfers: Mapping[str, str] = final["transfers"]
    opened = {
        f"account|{i}": balance
        for i, (status, balance) in final["accounts"].items()
        if status != "new"
    }
    history = History(
        sent=sent,
        acks=answered,
        journal=rows,
        published=published,  # None when embedded: no state changes to judge
        duration_s=duration_s,
        tally=_tally(transfers),
        final_states=opened,
    )
    report = check_history(history)
    moved = 0
    for p in planned:
        if acks.get(p.index) == "ok":
            if isinstance(p.command, Deposit):
                moved += p.command.amount
            elif isinstance(p.command, Withdraw):
                moved -= p.command.amount
    counts: dict[str, int] = {}
    for status in transfers.values():
        counts[status] = counts.get(status, 0) + 1
    unsettled = sum(
        n for s, n in counts.items() if s not in {"completed", "cancelled", "refunded", "new"}
    )
    return Verdict(
        report=report,
        accounts=len(opened),
        tallied=len(opened) - report.counts().get("tally_mismatch", 0),
        balance_total=sum(opened.values()),
        deposits_minus_withdrawals=moved,
        transfers=counts,
        unsettled=unsettled,
    )

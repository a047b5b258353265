"""Checks on commands: what was expected applied against what each chain holds, once and in
order, and the final states against the domain's tally."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from repertory.testing._history_input import (
    AckOutcome,
    History,
    JournalRow,
    SentCommand,
    Source,
    Tally,
)
from repertory.testing._history_report import Anomaly, Finding

__all__ = [
    "Application",
    "CommandRecord",
    "applications",
    "command_findings",
    "index_commands",
    "order_findings",
    "tally_findings",
    "twice_findings",
]


@dataclass(slots=True, kw_only=True)
class CommandRecord:
    """Every send and answer of one command id, gathered."""

    first: SentCommand
    send_index: int
    sources: set[Source] = field(default_factory=set)
    outcomes: set[AckOutcome] = field(default_factory=set)
    dead_lettered: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    """One atomic write's worth of a command in a chain: a maximal run of consecutive rows with
    the same command id and writer epoch (one write never spans two epochs)."""

    command_id: str
    first_row: JournalRow
    last_seq_nr: int


def index_commands(history: History) -> dict[str, dict[str, CommandRecord]]:
    """The sent commands per persistence id and command id, with their replies and dead
    letters; a command belongs to the entity of its first send."""
    records: dict[str, CommandRecord] = {}
    for index, sent in enumerate(history.sent):
        record = records.setdefault(sent.command_id, CommandRecord(first=sent, send_index=index))
        if sent.source is not None:
            record.sources.add(sent.source)
    for ack in history.acks:
        if ack.command_id in records:
            records[ack.command_id].outcomes.add(ack.outcome)
    _mark_dead_letters(records, history)
    by_entity: dict[str, dict[str, CommandRecord]] = {}
    for command_id, record in records.items():
        by_entity.setdefault(record.first.persistence_id, {})[command_id] = record
    return by_entity


def _mark_dead_letters(records: Mapping[str, CommandRecord], history: History) -> None:
    """A dead letter names its command by id, or by the source of one of its sends."""
    by_source = {source: r for r in records.values() for source in r.sources}
    for letter in history.dead_letters:
        record = records.get(letter.command_id) if letter.command_id is not None else None
        if record is None and letter.source is not None:
            record = by_source.get(letter.source)
        if record is not None:
            record.dead_lettered = True


def applications(chain: Sequence[JournalRow]) -> list[Application]:
    """The chain's applications of commands, in chain order."""
    runs: list[Application] = []
    for row in chain:
        last = runs[-1] if runs else None
        if (
            last is not None
            and last.command_id == row.command_id
            and last.first_row.writer_epoch == row.writer_epoch
            and last.last_seq_nr == row.seq_nr - 1
        ):
            runs[-1] = Application(
                command_id=last.command_id, first_row=last.first_row, last_seq_nr=row.seq_nr
            )
        else:
            runs.append(
                Application(command_id=row.command_id, first_row=row, last_seq_nr=row.seq_nr)
            )
    return runs


def command_findings(
    pid: str, commands: Mapping[str, CommandRecord], applied: set[str]
) -> tuple[list[Finding], list[str]]:
    """Lost, rejected-but-applied and invalid-but-applied commands, and the unresolved ones.

    A valid command not in the chain is lost when any reply was OK (acknowledged), or when it
    was answered with an error or dead-lettered and never OK (failed); it is rejected, and
    fine, when every reply was a rejection; it is unresolved when nothing answered it.
    """
    findings: list[Finding] = []
    unresolved: list[str] = []
    for command_id, record in commands.items():
        outcome = _verdict(record, command_id in applied)
        if outcome == "unresolved":
            unresolved.append(command_id)
        elif isinstance(outcome, Anomaly):
            findings.append(
                Finding(
                    anomaly=outcome,
                    persistence_id=pid,
                    command_id=command_id,
                    detail=f"command [{command_id}] {_describe(record, command_id in applied)}",
                )
            )
    return findings, unresolved


def _verdict(record: CommandRecord, applied: bool) -> Anomaly | str | None:
    if not record.first.valid:
        return Anomaly.INVALID_APPLIED if applied else None
    if applied:
        rejected_only = record.outcomes == {AckOutcome.REJECTED}
        return Anomaly.REJECTED_APPLIED if rejected_only else None
    if AckOutcome.OK in record.outcomes or AckOutcome.ERROR in record.outcomes:
        return Anomaly.LOST
    if record.dead_lettered:
        return Anomaly.LOST
    return None if record.outcomes else "unresolved"


def _describe(record: CommandRecord, applied: bool) -> str:
    replies = ",".join(sorted(outcome.value for outcome in record.outcomes)) or "none"
    letter = ", dead-lettered" if record.dead_lettered else ""
    where = "in the chain" if applied else "not in the chain"
    valid = "" if record.first.valid else "invalid "
    return f"({valid}{record.first.command_type}) replies [{replies}]{letter}, {where}"


def twice_findings(pid: str, runs: Sequence[Application]) -> list[Finding]:
    """One finding per command id applied in more than one atomic write."""
    seen: dict[str, list[Application]] = {}
    for run in runs:
        seen.setdefault(run.command_id, []).append(run)
    return [
        Finding(
            anomaly=Anomaly.APPLIED_TWICE,
            persistence_id=pid,
            command_id=command_id,
            seq_nr=repeated[1].first_row.seq_nr,
            detail=f"command [{command_id}] applied {len(repeated)} times, at seq_nrs "
            f"{[r.first_row.seq_nr for r in repeated]}",
        )
        for command_id, repeated in seen.items()
        if len(repeated) > 1
    ]


def order_findings(
    pid: str, runs: Sequence[Application], commands: Mapping[str, CommandRecord]
) -> list[Finding]:
    """Commands applied after a command that came later in the same lane.

    A command's position is the source of the row that applied it (lane = topic and
    partition, by offset), else the source of its first send, else its send order (one lane).
    Commands with neither (emitted by other entities without a source) are not ordered.
    Only the first application of each command id counts.
    """
    highest: dict[tuple[str, int], tuple[int, str]] = {}
    findings: list[Finding] = []
    done: set[str] = set()
    for run in runs:
        if run.command_id in done:
            continue
        done.add(run.command_id)
        place = _position(run.first_row, commands.get(run.command_id))
        if place is None:
            continue
        lane, position = place
        before = highest.get(lane)
        if before is not None and position < before[0]:
            findings.append(
                Finding(
                    anomaly=Anomaly.APPLIED_OUT_OF_ORDER,
                    persistence_id=pid,
                    command_id=run.command_id,
                    seq_nr=run.first_row.seq_nr,
                    detail=f"command [{run.command_id}] at position {position} of {lane} applied "
                    f"after [{before[1]}] at position {before[0]}",
                )
            )
        else:
            highest[lane] = (position, run.command_id)
    return findings


def _position(row: JournalRow, record: CommandRecord | None) -> tuple[tuple[str, int], int] | None:
    source = row.source
    if source is None and record is not None:
        source = record.first.source
    if source is not None:
        return (source.topic, source.partition), source.offset
    if record is not None:
        return ("<send order>", 0), record.send_index
    return None


def tally_findings(
    tally: Tally, commands: Mapping[str, Mapping[str, CommandRecord]], final: Mapping[str, object]
) -> list[Finding]:
    """Entities whose reported final state differs from the tally of the commands acknowledged
    OK (first sends, in send order); an entity missing on either side differs."""
    accepted = sorted(
        (
            record
            for per_entity in commands.values()
            for record in per_entity.values()
            if AckOutcome.OK in record.outcomes
        ),
        key=lambda record: record.send_index,
    )
    expected = tally([record.first for record in accepted])
    missing = object()
    findings: list[Finding] = []
    for pid in sorted(set(expected) | set(final)):
        want, got = expected.get(pid, missing), final.get(pid, missing)
        if want != got:
            findings.append(
                Finding(
                    anomaly=Anomaly.TALLY_MISMATCH,
                    persistence_id=pid,
                    detail=f"final state {_shown(got, missing)} != tally {_shown(want, missing)}",
                )
            )
    return findings


def _shown(value: object, missing: object) -> str:
    return "<missing>" if value is missing else repr(value)

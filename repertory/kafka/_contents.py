"""The contents of one egress transaction, built from the outcomes of a batch of input records.

Pure and broker-free: the outcomes come in offset order, so the state changes of each entity
come out in seq_nr order (one entity's commands run in the order of its partition), followed
per record by what else it caused (emitted commands, a reply, a dead letter). The offset
committed is the one after the batch's last record: every record before it has its results in
this transaction or an earlier one (guarantee 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from repertory.kafka._records import OutRecord, SourceRecord
from repertory.protocols import StateChange

__all__ = ["RecordOutcome", "TransactionContents", "build_contents"]


@dataclass(slots=True)
class RecordOutcome:
    """What one input record led to, ready to publish.

    Attributes:
        record: the input record.
        changes: state changes of the events its command stored (or had stored, when
            redelivered), in seq_nr order.
        out: other records it produces (emitted commands, its reply, its dead letter).
        journaled_at: ``time.monotonic()`` when its events were acknowledged (0: none now).
    """

    record: SourceRecord
    changes: list[StateChange] = field(default_factory=list)
    out: list[OutRecord] = field(default_factory=list)
    journaled_at: float = 0.0


@dataclass(frozen=True, slots=True)
class TransactionContents:
    """One transaction: records to produce, offsets to commit, and what becomes committed.

    Attributes:
        records: in production order.
        offsets: ``(topic, partition) -> next offset to consume``.
        committed: ``persistence id -> highest seq_nr`` published here (fires the snapshot hook).
        commands: input records covered.
    """

    records: tuple[OutRecord, ...]
    offsets: dict[tuple[str, int], int]
    committed: dict[str, int]
    commands: int


def build_contents(
    outcomes: Sequence[RecordOutcome], change_record: Callable[[StateChange], OutRecord]
) -> TransactionContents:
    """The transaction for ``outcomes`` (one input partition's batch, in offset order).

    Raises:
        ValueError: no outcomes, or outcomes out of offset order.
    """
    if not outcomes:
        raise ValueError("a transaction covers at least one input record")
    records: list[OutRecord] = []
    committed: dict[str, int] = {}
    offsets: dict[tuple[str, int], int] = {}
    for outcome in outcomes:
        source = outcome.record
        where = (source.topic, source.partition)
        if offsets.get(where, -1) > source.offset:
            raise ValueError(f"outcome [{source.where()}] is out of offset order")
        offsets[where] = source.offset + 1
        for change in outcome.changes:
            records.append(change_record(change))
            pid = change.persistence_id
            if change.seq_nr > committed.get(pid, 0):
                committed[pid] = change.seq_nr
        records.extend(outcome.out)
    return TransactionContents(tuple(records), offsets, committed, len(outcomes))

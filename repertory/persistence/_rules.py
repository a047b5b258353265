"""The write rules every journal applies the same way: partitions, heads, validation, retries.

Pure functions, so the in-memory, SQLite and Cassandra journals cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from repertory.errors import WriteOutcomeUnknown
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    EventRecord,
    JournalMode,
    WriteOutcome,
    WriteResult,
)

__all__ = [
    "expected_head",
    "failed_result",
    "is_identical_retry",
    "partition_nr",
    "rejected_result",
    "settle_unknown_head",
    "stored_result",
    "target_partition",
    "validate_writes",
]


def partition_nr(seq_nr: int, partition_size: int) -> int:
    """The nominal partition of ``seq_nr`` (1-based): seqs 1..size are partition 0, and so on."""
    if seq_nr < 1:
        raise ValueError(f"seq_nr [{seq_nr}] has no partition")
    return (seq_nr - 1) // partition_size


def target_partition(write: AtomicWrite, partition_size: int) -> int:
    """Where the whole write lives: the nominal partition of its first seq_nr."""
    return partition_nr(write.first_seq_nr, partition_size)


def expected_head(write: AtomicWrite, partition_size: int) -> int | None:
    """The ``head_seq`` a conditional write compares against, when its tip's partition is known.

    The previous seq_nr lives in the target partition → that seq_nr; otherwise the write opens
    the partition → None. Call only when ``write.after.partition_nr`` is not None; otherwise
    read the target partition's head and use :func:`settle_unknown_head`.
    """
    if write.after.partition_nr is None:
        raise ValueError("the tip's partition is unknown: read the head and settle it")
    if write.after.partition_nr == target_partition(write, partition_size):
        return write.after.seq_nr
    return None


def settle_unknown_head(write: AtomicWrite, head_seq: int | None) -> int | None:
    """The expectation of a write whose tip has no known partition, given the target's head.

    A head equal to the previous seq_nr means that row lives there; any other head (None, or a
    writer got further) means the write must open the partition, which fails if it is open.
    """
    return write.after.seq_nr if head_seq == write.after.seq_nr else None


def is_identical_retry(write_rows: Sequence[EventRecord], stored: Sequence[EventRecord]) -> bool:
    """Whether the rows a conditional write meant to store are all stored already, unchanged.

    Settles a conditional write that lost its compare-and-set: our rows there → STORED
    (a retry of a write whose first attempt succeeded); otherwise → REJECTED.
    """
    by_seq = {row.seq_nr: row for row in stored}
    return all(
        (other := by_seq.get(row.seq_nr)) is not None and row.same_content(other)
        for row in write_rows
    )


def validate_writes(
    writes: Sequence[AtomicWrite],
    *,
    mode: JournalMode,
    partition_size: int,
    supports_outbox: bool,
) -> None:
    """Refuse writes that break the contract, before anything of the call is sent.

    Raises:
        ValueError: a write longer than the partition size; a non-zero epoch in conditional
            mode or epoch 0 in fenced mode; outbox entries for a journal without an outbox.
    """
    conditional = mode is JournalMode.CONDITIONAL
    for write in writes:
        if (
            len(write.events) > partition_size
            or (write.writer_epoch != 0 if conditional else write.writer_epoch < 1)
            or (write.outbox and not supports_outbox)
        ):
            _refuse(write, mode=mode, partition_size=partition_size)


def _refuse(write: AtomicWrite, *, mode: JournalMode, partition_size: int) -> None:
    seqs = f"{write.first_seq_nr}..{write.last_seq_nr}"
    where = f"write of seq_nr [{seqs}] for [{write.persistence_id}]"
    if len(write.events) > partition_size:
        raise ValueError(f"{where} exceeds the partition size [{partition_size}]")
    if mode is JournalMode.CONDITIONAL and write.writer_epoch != 0:
        raise ValueError(f"{where}: conditional mode writes epoch 0, not [{write.writer_epoch}]")
    if mode is JournalMode.FENCED and write.writer_epoch < 1:
        raise ValueError(f"{where}: fenced mode needs a claimed epoch (>= 1)")
    raise ValueError(f"{where} carries outbox entries; this journal has no outbox")


def stored_result(write: AtomicWrite, partition: int) -> WriteResult:
    """STORED, with the tip the writer's next write continues from."""
    return WriteResult(
        outcome=WriteOutcome.STORED,
        persistence_id=write.persistence_id,
        tip=ChainTip(write.last_seq_nr, write.writer_epoch, partition),
    )


def rejected_result(write: AtomicWrite) -> WriteResult:
    """REJECTED: a conditional collision; nothing of the write is stored."""
    return WriteResult(outcome=WriteOutcome.REJECTED, persistence_id=write.persistence_id)


def failed_result(write: AtomicWrite, why: str) -> WriteResult:
    """FAILED: the outcome is unknown; the error says why."""
    error = WriteOutcomeUnknown(
        f"outcome unknown for seq_nr [{write.first_seq_nr}..{write.last_seq_nr}] "
        f"of [{write.persistence_id}]: {why}"
    )
    pid = write.persistence_id
    return WriteResult(outcome=WriteOutcome.FAILED, persistence_id=pid, error=error)

"""Small builders the contract suite writes histories with."""

from __future__ import annotations

from repertory.persistence import (
    MAX_SEQ_NR,
    Anchor,
    AtomicWrite,
    ChainTip,
    EventData,
    EventRecord,
    Journal,
    PersistenceId,
    RecordSource,
    WriteOutcome,
    WriteResult,
)

__all__ = ["delete_as_owner", "events", "positions", "replayed", "stored", "write", "write_one"]


def events(count: int, tag: str = "e", first: int = 1) -> tuple[EventData, ...]:
    """``count`` distinct events; ``tag`` tells writers apart in payloads."""
    return tuple(
        EventData(
            event_type="ContractEvent",
            payload=f"{tag}-{first + i}".encode(),
            timestamp_ms=1_700_000_000_000 + first + i,
            command_id=f"{tag}-command-{first + i}",
        )
        for i in range(count)
    )


def write(
    pid: PersistenceId, epoch: int, after: ChainTip, count: int = 1, tag: str = "e"
) -> AtomicWrite:
    """An atomic write of ``count`` events continuing ``after``."""
    return AtomicWrite(
        persistence_id=pid,
        writer_epoch=epoch,
        after=after,
        events=events(count, tag, after.seq_nr + 1),
    )


def write_one(pid: PersistenceId, seq_nr: int, epoch: int, prev_epoch: int) -> AtomicWrite:
    """A raw one-event write of row (seq_nr, epoch, prev_epoch), as a vector lists it."""
    data = EventData(
        event_type="ContractEvent",
        payload=f"{seq_nr}/{epoch}/{prev_epoch}".encode(),
        timestamp_ms=seq_nr,
        source=RecordSource(topic="commands", partition=0, offset=seq_nr),
    )
    after = ChainTip(seq_nr - 1, prev_epoch, None)
    return AtomicWrite(persistence_id=pid, writer_epoch=epoch, after=after, events=(data,))


async def stored(journal: Journal, *writes: AtomicWrite) -> WriteResult:
    """Append ``writes`` in one call, require every one STORED, return the last result."""
    results = await journal.append(list(writes))
    outcomes = [result.outcome for result in results]
    assert outcomes == [WriteOutcome.STORED] * len(writes), outcomes
    return results[-1]


async def replayed(
    journal: Journal,
    pid: PersistenceId,
    from_seq_nr: int = 1,
    to_seq_nr: int = MAX_SEQ_NR,
    max_count: int = MAX_SEQ_NR,
) -> list[EventRecord]:
    """The whole replay as a list."""
    rows = journal.replay(pid, from_seq_nr=from_seq_nr, to_seq_nr=to_seq_nr, max_count=max_count)
    return [row async for row in rows]


def positions(rows: list[EventRecord]) -> list[tuple[int, int]]:
    """(seq_nr, writer_epoch) of each row."""
    return [(row.seq_nr, row.writer_epoch) for row in rows]


async def delete_as_owner(journal: Journal, pid: PersistenceId, seq_nr: int) -> Anchor:
    """Delete up to ``seq_nr`` as the writer whose view is the chain's current tip."""
    tip = await journal.chain_tip(pid)
    return await journal.delete_to(pid, seq_nr, seen=tip, writer_epoch=tip.epoch)

"""Storing atomic writes in Cassandra: fenced (plain, batched) and conditional (CAS per write).

Fenced: many entities' writes share unlogged batches (see ``cassandra_batching`` for why that
keeps each write atomic); a batch's error makes each of its writes FAILED (outcome unknown,
retried identically by the writer). Conditional: one single-partition conditional batch per
write that inserts its rows and moves the partition's static ``head_seq``; a lost or unknown
compare-and-set is settled by reading the write's rows back at SERIAL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType

from repertory.errors import PersistenceError, WriteOutcomeUnknown
from repertory.persistence._records import (
    AtomicWrite,
    ChainTip,
    PersistenceId,
    WriteOutcome,
    WriteResult,
)
from repertory.persistence._rules import (
    expected_head,
    is_identical_retry,
    settle_unknown_head,
    target_partition,
)
from repertory.persistence.cassandra_batching import Sized, plan_batches, routing_key
from repertory.persistence.cassandra_binding import Binder
from repertory.persistence.cassandra_rows import decode_row, row_size, write_values
from repertory.persistence.cassandra_session import CassandraSession, consistency
from repertory.persistence.cassandra_statements import Statements

_Placed = tuple[AtomicWrite, int]  # a write and the partition it lives in


def stored(write: AtomicWrite, partition: int) -> WriteResult:
    return WriteResult(
        outcome=WriteOutcome.STORED,
        persistence_id=write.persistence_id,
        tip=ChainTip(write.last_seq_nr, write.writer_epoch, partition),
    )


def failed(write: AtomicWrite, exc: BaseException, *, retriable: bool = True) -> WriteResult:
    where = f"seq_nr [{write.first_seq_nr}..{write.last_seq_nr}] of [{write.persistence_id}]"
    error: PersistenceError
    if retriable:
        error = WriteOutcomeUnknown(f"outcome unknown for {where}: {type(exc).__name__}: {exc}")
    else:
        error = PersistenceError(f"Cassandra refused {where}: {exc}")
    error.__cause__ = exc
    return WriteResult(
        outcome=WriteOutcome.FAILED, persistence_id=write.persistence_id, error=error
    )


class WriteExecutor:
    """Sends atomic writes for one journal keyspace (the mode decides which method)."""

    def __init__(
        self,
        cassandra: CassandraSession,
        statements: Statements,
        keyspace: str,
        partition_size: int,
    ) -> None:
        self._cassandra = cassandra
        self._statements = statements
        self._insert = Binder(statements.insert_event)
        self._set_head = Binder(statements.set_head)
        self._keyspace = keyspace
        self._partition_size = partition_size
        settings = cassandra.settings
        self._write_level = consistency(settings.write_consistency)
        self._serial_level = consistency(settings.serial_consistency)

    def _place(self, write: AtomicWrite) -> _Placed:
        return write, target_partition(write, self._partition_size)

    # --- fenced ---------------------------------------------------------------------------

    async def append_fenced(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        """Plain inserts, many writes per unlogged batch, batches grouped by replica."""
        settings = self._cassandra.settings
        sized = [_sized(self._place(write)) for write in writes]
        batches = plan_batches(
            sized,
            self._cassandra.cluster.metadata,
            self._keyspace,
            max_bytes=settings.batch_max_bytes,
            max_statements=settings.batch_max_statements,
        )
        outcomes = await asyncio.gather(*(self._send_fenced(batch) for batch in batches))
        by_write = {id(r_write): result for results in outcomes for r_write, result in results}
        return [by_write[id(write)] for write in writes]

    async def _send_fenced(
        self, batch: list[Sized[_Placed]]
    ) -> list[tuple[AtomicWrite, WriteResult]]:
        statement = self._batch([placed.item for placed in batch], BatchType.UNLOGGED)
        try:
            await self._cassandra.execute(statement)
        except InvalidRequest as exc:
            if len(batch) == 1:
                write = batch[0].item[0]
                return [(write, failed(write, exc, retriable=False))]
            # Larger than the server allows after all: alone, each write is single-partition.
            parts = await asyncio.gather(*(self._send_fenced([one]) for one in batch))
            return [pair for part in parts for pair in part]
        except Exception as exc:
            return [(placed.item[0], failed(placed.item[0], exc)) for placed in batch]
        return [(placed.item[0], stored(placed.item[0], placed.item[1])) for placed in batch]

    def _batch(self, placed: Sequence[_Placed], kind: Any) -> BatchStatement:
        batch = BatchStatement(batch_type=kind, consistency_level=self._write_level)
        add, bind = batch.add, self._insert.bind
        for write, partition in placed:
            for values in write_values(write, partition):
                add(bind(values))
        return batch

    # --- conditional ----------------------------------------------------------------------

    async def append_conditional(self, writes: Sequence[AtomicWrite]) -> list[WriteResult]:
        """One conditional batch per write; an entity's writes in order, entities in parallel."""
        if len(writes) == 1:  # the usual call at low load: no task for it
            return [await self._conditional(writes[0])]
        per_entity: dict[PersistenceId, list[int]] = {}
        for index, write in enumerate(writes):
            per_entity.setdefault(write.persistence_id, []).append(index)
        results: list[WriteResult | None] = [None] * len(writes)

        async def run(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = await self._conditional(writes[index])

        await asyncio.gather(*(run(indexes) for indexes in per_entity.values()))
        return [result for result in results if result is not None]

    async def _conditional(self, write: AtomicWrite) -> WriteResult:
        placed = self._place(write)
        partition = placed[1]
        pid = str(write.persistence_id)
        try:
            if write.after.partition_nr is not None:
                expected = expected_head(write, self._partition_size)
            elif write.after.seq_nr == 0:
                # An empty chain opens its partition: no head_seq is ever 0, so a read of the
                # head (a serial read, as costly as the write) could only confirm None.
                expected = None
            else:
                answer = await self._cassandra.execute(
                    self._statements.read_head.bind((pid, partition)), conditional=True
                )
                expected = settle_unknown_head(write, answer[0][0] if answer else None)
            batch = self._batch([placed], BatchType.UNLOGGED)
            batch.serial_consistency_level = self._serial_level
            batch.add(self._set_head.bind((write.last_seq_nr, pid, partition, expected)))
            answer = await self._cassandra.execute(batch, conditional=True)
            if answer and answer[0][0]:
                return stored(write, partition)
        except InvalidRequest as exc:
            return failed(write, exc, retriable=False)
        except Exception:  # unknown outcome: settle it by reading back, as for a lost CAS
            pass
        return await self._settle(write, partition)

    async def _settle(self, write: AtomicWrite, partition: int) -> WriteResult:
        """Our rows there (identical) → STORED; otherwise REJECTED; no answer → FAILED."""
        rows = write.records(partition)
        bound = self._statements.select_events_serial.bind(
            (str(write.persistence_id), partition, write.first_seq_nr, write.last_seq_nr)
        )
        bound.fetch_size = len(rows) + 1  # one page: at most one row per seq_nr at epoch 0
        try:
            found = await self._cassandra.execute(bound, conditional=True)
        except Exception as exc:
            return failed(write, exc)
        back = [decode_row(write.persistence_id, row) for row in found]
        if is_identical_retry(rows, back):
            return stored(write, partition)
        return WriteResult(outcome=WriteOutcome.REJECTED, persistence_id=write.persistence_id)


def _sized(placed: _Placed) -> Sized[_Placed]:
    write, partition = placed
    return Sized(
        placed,
        routing_key(str(write.persistence_id), partition),
        sum(row_size(data) for data in write.events),
        len(write.events),
    )

"""Decoding events rows without the dataclass constructor gives the records it would build;
the payload pass keeps only the chain's rows."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from repertory.persistence import EventRecord, PersistenceId, RecordSource
from repertory.persistence.cassandra_keys import ChainSpan
from repertory.persistence.cassandra_reads import EntityReader
from repertory.persistence.cassandra_rows import EVENT_COLUMNS, decode_row, decode_rows

pytestmark = pytest.mark.unit

PID = PersistenceId("account", "7")
FULL = (2, 17, 5, 4, "Deposited", 3, b"\x81", 1_700_000_000_000, "cmd-1", "commands", 6, 99)
BARE = (0, 1, 0, 0, "Opened", 1, None, 1_700_000_000_001, None, None, None, None, None, None)


def test_a_full_row_decodes_to_the_constructed_record() -> None:
    [record] = decode_rows(PID, [(*FULL, b"ok", {"trace": "t-1"})])
    assert record == EventRecord(
        persistence_id=PID,
        seq_nr=17,
        writer_epoch=5,
        prev_epoch=4,
        partition_nr=2,
        event_type="Deposited",
        schema_version=3,
        payload=b"\x81",
        timestamp_ms=1_700_000_000_000,
        command_id="cmd-1",
        source=RecordSource(topic="commands", partition=6, offset=99),
        reply=b"ok",
        metadata={"trace": "t-1"},
    )


def test_absent_columns_decode_to_the_defaults() -> None:
    record = decode_row(PID, BARE)
    assert record == EventRecord(
        persistence_id=PID,
        seq_nr=1,
        writer_epoch=0,
        prev_epoch=0,
        partition_nr=0,
        event_type="Opened",
        schema_version=1,
        payload=b"",
        timestamp_ms=1_700_000_000_001,
    )
    assert repr(record) == repr(dataclasses.replace(record))


def test_decoded_records_stay_frozen_and_apart() -> None:
    first, second = decode_rows(PID, [BARE, BARE])
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.seq_nr = 2  # type: ignore[misc]
    assert first.metadata is not second.metadata


def test_every_selected_column_is_decoded() -> None:
    row: tuple[Any, ...] = (*FULL, None, None)
    assert len(row) == len(EVENT_COLUMNS) - 1
    assert decode_row(PID, row).source == RecordSource(topic="commands", partition=6, offset=99)


class FakeSession:
    """Answers each events select with the stored rows of its partition and seq_nr range."""

    def __init__(self, rows: dict[int, list[tuple[Any, ...]]]) -> None:
        self.rows = rows
        self.settings = SimpleNamespace(fetch_size=2)
        self.asked: list[tuple[Any, ...]] = []

    async def pages(self, bound: Any, params: Any) -> AsyncIterator[list[tuple[Any, ...]]]:
        self.asked.append(bound.values)
        _, partition, low, high = bound.values
        found = [row for row in self.rows.get(partition, []) if low <= row[1] <= high]
        for start in range(0, len(found), self.settings.fetch_size):
            yield found[start : start + self.settings.fetch_size]


class FakeBound(SimpleNamespace):
    fetch_size = 0


def _row(partition: int, seq_nr: int, epoch: int, prev_epoch: int) -> tuple[Any, ...]:
    return (partition, seq_nr, epoch, prev_epoch, *BARE[4:])


async def test_chain_pages_keep_each_spans_epoch_and_range() -> None:
    stored = {
        0: [_row(0, 1, 1, 0), _row(0, 2, 1, 1), _row(0, 2, 2, 1), _row(0, 3, 1, 1)],
        1: [_row(1, 3, 2, 2), _row(1, 4, 2, 2), _row(1, 5, 2, 2)],
    }
    session = FakeSession(stored)
    select = SimpleNamespace(bind=lambda values: FakeBound(values=values))
    statements = SimpleNamespace(select_events=select)
    reader = EntityReader(session, statements, partition_size=10)  # type: ignore[arg-type]
    spans = [ChainSpan(0, 1, [1, 2]), ChainSpan(1, 3, [2, 2])]
    pages = [page async for page in reader.chain_pages(PID, spans)]
    kept = [(row.seq_nr, row.writer_epoch, row.partition_nr) for page in pages for row in page]
    assert kept == [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 2, 1)]
    assert session.asked == [("account|7", 0, 1, 2), ("account|7", 1, 3, 4)]

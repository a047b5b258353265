"""The binder leaves the values, and the routing key, exactly as the driver's ``bind`` would;
a write's values are those of its records."""

from __future__ import annotations

from typing import Any

import pytest
from cassandra import cqltypes
from cassandra.protocol import ColumnMetadata
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, PreparedStatement
from hypothesis import given
from hypothesis import strategies as st

from repertory.persistence import AtomicWrite, ChainTip, EventData, PersistenceId, RecordSource
from repertory.persistence.cassandra_binding import Binder
from repertory.persistence.cassandra_rows import bind_values, write_values

pytestmark = pytest.mark.unit

_TEXT_MAP = cqltypes.MapType.apply_parameters([cqltypes.UTF8Type, cqltypes.UTF8Type])
COLUMNS = (
    ("persistence_id", cqltypes.VarcharType),
    ("partition_nr", cqltypes.LongType),
    ("schema_version", cqltypes.Int32Type),
    ("payload", cqltypes.BytesType),
    ("command_id", cqltypes.UTF8Type),
    ("kind", cqltypes.AsciiType),
    ("metadata", _TEXT_MAP),
)
INSERT = PreparedStatement(
    [ColumnMetadata("ks", "events", name, kind) for name, kind in COLUMNS],
    b"query-id",
    [0, 1],
    "INSERT INTO ks.events (...) VALUES (...)",
    "ks",
    5,
    [],
    None,
)
INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.just(None), st.just(UNSET_VALUE))


ROWS = st.tuples(
    st.text(min_size=1),
    INT64,
    _maybe(INT32),
    _maybe(st.binary()),
    _maybe(st.text()),
    _maybe(st.text(alphabet=st.characters(max_codepoint=127))),
    _maybe(st.dictionaries(st.text(), st.text(), max_size=3)),
)


@given(ROWS)
def test_values_and_routing_key_are_the_drivers(row: tuple[Any, ...]) -> None:
    ours, theirs = Binder(INSERT).bind(row), INSERT.bind(row)
    assert ours.values == theirs.values
    assert ours.routing_key == theirs.routing_key


def test_a_batch_of_bound_rows_carries_the_drivers_parameters() -> None:
    rows = [(f"acct|{i}", i, 1, b"\x81", f"c-{i}", "k", UNSET_VALUE) for i in range(3)]
    ours = BatchStatement(batch_type=BatchType.UNLOGGED)
    theirs = BatchStatement(batch_type=BatchType.UNLOGGED)
    binder = Binder(INSERT)
    for row in rows:
        ours.add(binder.bind(row))
        theirs.add(INSERT, row)
    assert ours._statements_and_parameters == theirs._statements_and_parameters
    assert (ours.routing_key, ours.keyspace) == (theirs.routing_key, theirs.keyspace)
    assert ours.routing_key is not None


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (("a", "not a number", 1, b"", "c", "k", None), "partition_nr"),
        (("a", 1, 2**40, b"", "c", "k", None), "schema_version"),
        ((7, 1, 1, b"", "c", "k", None), "persistence_id"),
        (("a", 1, 1, b"", "c", "é", None), "kind"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_column(row: tuple[Any, ...], column: str) -> None:
    with pytest.raises(TypeError, match=rf"column \[{column}\]"):
        Binder(INSERT).bind(row)


def test_a_missing_value_is_refused() -> None:
    with pytest.raises(ValueError, match="values for"):
        Binder(INSERT).bind(("a", 1))


def test_a_writes_values_are_those_of_its_records() -> None:
    source = RecordSource(topic="commands", partition=3, offset=41)
    events = (
        EventData(event_type="Opened", payload=b"\x80", timestamp_ms=1, command_id="c-1"),
        EventData(
            event_type="Deposited",
            schema_version=2,
            payload=b"\x81",
            timestamp_ms=2,
            command_id="c-2",
            source=source,
            reply=b"ok",
            metadata={"trace": "t"},
        ),
        EventData(event_type="Deposited", payload=b"", timestamp_ms=3, source=source),
    )
    write = AtomicWrite(
        persistence_id=PersistenceId("account", "7"),
        writer_epoch=5,
        after=ChainTip(seq_nr=9, epoch=4, partition_nr=0),
        events=events,
    )
    values = write_values(write, 1)
    assert values == [bind_values(row) for row in write.records(1)]
    assert [(v[2], v[3], v[4]) for v in values] == [(10, 5, 4), (11, 5, 5), (12, 5, 5)]

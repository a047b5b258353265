"""Many rows in few statements: the same rows, in the same order, as one statement per row."""

from __future__ import annotations

import sqlite3

import pytest

from repertory.persistence._sqlite_many import insert_rows, select_json, update_where_in


@pytest.fixture
def connection() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT, b BLOB, done INTEGER)")
    return connection


def _rows(count: int) -> list[tuple[int, str, bytes, int]]:
    return [(k, f"v{k}", bytes([k % 256]), 0) for k in range(count)]


@pytest.mark.parametrize("count", [0, 1, 3, 255, 256, 257, 1000])
def test_every_row_is_inserted_in_order(connection: sqlite3.Connection, count: int) -> None:
    insert_rows(connection, "INSERT INTO t (k, v, b, done)", 4, _rows(count))
    assert connection.execute("SELECT k, v, b, done FROM t ORDER BY k").fetchall() == _rows(count)


def test_a_later_row_replaces_an_earlier_one_as_executemany_would(
    connection: sqlite3.Connection,
) -> None:
    rows = [(1, "first", b"", 0), *_rows(300)[2:], (1, "last", b"", 0)]
    insert_rows(connection, "INSERT OR REPLACE INTO t (k, v, b, done)", 4, rows)
    assert connection.execute("SELECT v FROM t WHERE k = 1").fetchone() == ("last",)
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (299,)


def test_chunks_stay_within_the_parameter_limit(connection: sqlite3.Connection) -> None:
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)  # two rows of four per statement
    insert_rows(connection, "INSERT INTO t (k, v, b, done)", 4, _rows(7))
    assert connection.execute("SELECT k, v, b, done FROM t ORDER BY k").fetchall() == _rows(7)


def test_update_touches_exactly_the_rows_named(connection: sqlite3.Connection) -> None:
    insert_rows(connection, "INSERT INTO t (k, v, b, done)", 4, _rows(10))
    update_where_in(connection, "UPDATE t SET done = 1", "k", [2, 5, 9])
    update_where_in(connection, "UPDATE t SET done = 1", "v", ["v3"])
    update_where_in(connection, "UPDATE t SET done = 1", "k", [])
    done = connection.execute("SELECT k FROM t WHERE done = 1 ORDER BY k").fetchall()
    assert done == [(2,), (3,), (5,), (9,)]


def test_a_json_answer_comes_back_decoded(connection: sqlite3.Connection) -> None:
    insert_rows(connection, "INSERT INTO t (k, v, b, done)", 4, [(1, 'quo"te|ü', b"", 0)])
    found = select_json(
        connection, "SELECT json_group_array(json_array(k, v)) FROM t WHERE k >= ?", (0,)
    )
    assert found == [[1, 'quo"te|ü']]

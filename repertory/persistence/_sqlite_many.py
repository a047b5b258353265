"""Many rows in a few statement steps, because every step costs the writer the GIL.

The sqlite3 module gives up the GIL around each statement step and must take it back after.
While the event loop's thread runs, that takes up to the interpreter's switch interval, so the
writer's time went to waiting rather than writing: ``executemany`` steps once per row, and a
query steps once per result row. Here a multi-row ``VALUES`` insert steps once per ``_CHUNK``
rows, and a lookup passes its keys as one JSON array and gets its answer back as one.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

__all__ = ["insert_rows", "select_json", "update_where_in"]

_CHUNK = 256
"""Rows per insert statement at most (fewer if SQLite allows fewer parameters: 999 before
3.32). Chunks are powers of two, so a table needs at most nine statements in the connection's
statement cache."""


def insert_rows(
    connection: sqlite3.Connection, insert: str, width: int, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Run ``insert`` (an ``INSERT … INTO table (columns)`` without its values) for ``rows``
    of ``width`` values each, in order (a later row replaces an earlier one as it would in
    ``executemany``)."""
    start, count = 0, len(rows)
    most = min(_CHUNK, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
    while start < count:
        size = 1 << (min(most, count - start).bit_length() - 1)
        values = list(chain.from_iterable(rows[start : start + size]))
        connection.execute(_values_statement(insert, width, size), values)
        start += size


@functools.cache
def _values_statement(insert: str, width: int, size: int) -> str:
    row = f"({', '.join('?' * width)})"
    return f"{insert} VALUES {', '.join([row] * size)}"


def update_where_in(
    connection: sqlite3.Connection, update: str, column: str, keys: Sequence[Any]
) -> None:
    """Run ``update`` (an ``UPDATE … SET …`` without its condition) on the rows whose
    ``column`` is one of ``keys``, in one step."""
    if keys:
        connection.execute(
            f"{update} WHERE {column} IN (SELECT value FROM json_each(?))", (json.dumps(keys),)
        )


def select_json(connection: sqlite3.Connection, query: str, parameters: Sequence[Any]) -> Any:
    """The one row of ``query`` (which selects a single JSON value), decoded."""
    (found,) = connection.execute(query, parameters).fetchone()
    return json.loads(found)

"""Creating the journal's keyspace and tables, and checking at start that they are ours.

The schema is ``schema.cql`` beside this module. A keyspace records what it is (mode, nominal
partition size, the commands topic's partition count) on first use; every later start
compares that record with its settings and refuses a mismatch, because a different partition
size would read the wrong partitions and a different partition count would route entities to
two owners. Changing either is an offline, documented step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

from repertory.errors import JournalMismatch

SCHEMA_VERSION = 1
"""The version of ``schema.cql`` this code reads and writes."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class CqlSession(Protocol):
    """What schema creation needs of a driver session (a plain blocking ``execute``)."""

    def execute(self, query: str, parameters: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyspaceRecord:
    """What a keyspace is, recorded in it on first start and checked at every later one.

    Args:
        mode: the journal mode's value (``"fenced"`` or ``"conditional"``).
        partition_size: the nominal number of seq_nrs per events partition.
        commands_partitions: the commands topic's partition count; None without Kafka.
    """

    mode: str
    partition_size: int
    commands_partitions: int | None

    def mismatches(self, wanted: KeyspaceRecord) -> list[str]:
        """Each field that differs from ``wanted``, as ``name [recorded] != [wanted]``."""
        return [
            f"{name} [{getattr(self, name)}] != [{getattr(wanted, name)}]"
            for name in ("mode", "partition_size", "commands_partitions")
            if getattr(self, name) != getattr(wanted, name)
        ]


def schema_statements(keyspace: str) -> list[str]:
    """The statements of ``schema.cql`` for ``keyspace``, comments removed."""
    _check_name(keyspace)
    text = resources.files("repertory.persistence").joinpath("schema.cql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines).replace("{keyspace}", keyspace)
    return [stmt.strip() for stmt in body.split(";\n") if stmt.strip().rstrip(";")]


def replication_options(
    replication_factor: int | None = 1, per_dc: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A replication map: SimpleStrategy with an RF, or NetworkTopologyStrategy per data centre."""
    if per_dc:
        return {"class": "NetworkTopologyStrategy", **{dc: int(rf) for dc, rf in per_dc.items()}}
    if not replication_factor or replication_factor < 1:
        raise ValueError("replication factor must be at least 1")
    return {"class": "SimpleStrategy", "replication_factor": int(replication_factor)}


def create_schema(
    session: CqlSession,
    keyspace: str,
    replication: Mapping[str, Any] | None = None,
    *,
    record: KeyspaceRecord | None = None,
) -> None:
    """Create the keyspace (if absent) and every table; optionally record what it is.

    Idempotent: existing objects are left as they are (a keyspace's replication is not
    changed here; ``ALTER KEYSPACE`` is the operator's decision).

    Args:
        session: a connected driver session (blocking calls; this is an offline step).
        keyspace: the keyspace name (lower case letters, digits, ``_``).
        replication: from ``replication_options``; default SimpleStrategy RF 1 (development).
        record: mode and partitioning to record now rather than on the first start.

    Raises:
        JournalMismatch: ``record`` differs from the one the keyspace already holds.
    """
    _check_name(keyspace)
    options = dict(replication or replication_options(1))
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {_cql(options)}")
    for statement in schema_statements(keyspace):
        session.execute(statement)
    if record is not None:
        session.execute(record_insert(keyspace), record_values(record))
        rows = list(session.execute(record_select(keyspace)))
        existing = record_from_values(rows[0]) if rows else None
        check_record(keyspace, existing, record)


def record_insert(keyspace: str, marker: str = "%s") -> str:
    """The conditional insert of a keyspace record: the first start's record wins."""
    marks = ", ".join([marker] * 5)
    return (
        f"INSERT INTO {keyspace}.keyspace_metadata"
        " (name, mode, partition_size, commands_partitions, schema_version, created_at)"
        f" VALUES ('journal', {marks}) IF NOT EXISTS"
    )


def record_select(keyspace: str) -> str:
    return (
        f"SELECT mode, partition_size, commands_partitions FROM {keyspace}.keyspace_metadata"
        " WHERE name = 'journal'"
    )


def record_values(record: KeyspaceRecord) -> Sequence[Any]:
    return (
        record.mode,
        record.partition_size,
        record.commands_partitions,
        SCHEMA_VERSION,
        datetime.now(UTC),
    )


def record_from_values(row: Sequence[Any]) -> KeyspaceRecord:
    """A record from a row of ``record_select`` (mode, partition_size, commands_partitions)."""
    mode, partition_size, commands_partitions = row[0], row[1], row[2]
    return KeyspaceRecord(
        mode=mode, partition_size=partition_size, commands_partitions=commands_partitions
    )


def check_record(keyspace: str, existing: KeyspaceRecord | None, wanted: KeyspaceRecord) -> None:
    """Refuse a keyspace whose record differs from the settings.

    Raises:
        JournalMismatch: naming each differing field.
    """
    if existing is None:
        return
    problems = existing.mismatches(wanted)
    if problems:
        raise JournalMismatch(
            f"keyspace [{keyspace}] was created for another journal: {'; '.join(problems)}"
            " (changing these is an offline step)"
        )


def _check_name(keyspace: str) -> None:
    if not _NAME.match(keyspace):
        raise ValueError(f"invalid keyspace name [{keyspace}]")


def _cql(options: Mapping[str, Any]) -> str:
    def literal(value: Any) -> str:
        return str(int(value)) if isinstance(value, int) else "'" + str(value) + "'"

    return "{" + ", ".join(f"'{k}': {literal(v)}" for k, v in options.items()) + "}"

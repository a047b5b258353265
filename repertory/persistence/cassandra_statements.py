"""Every statement the Cassandra journal sends, prepared once per session with its consistency.

Consistency is set on the prepared statement (bound statements inherit it), so no call site can
forget it: reads at the read level, writes at the write level, serial reads at SERIAL.
"""

from __future__ import annotations

from dataclasses import dataclass

from cassandra.query import PreparedStatement

from repertory.persistence.cassandra_rows import (
    insert_cql,
    select_cql,
    select_first_cql,
    select_first_many_cql,
    select_keys_cql,
)
from repertory.persistence.cassandra_session import CassandraSession, consistency


@dataclass(frozen=True, slots=True)
class Statements:
    """The prepared statements of one journal keyspace."""

    insert_event: PreparedStatement
    set_head: PreparedStatement
    read_head: PreparedStatement
    select_events: PreparedStatement
    select_events_serial: PreparedStatement
    select_first: PreparedStatement
    select_first_many: PreparedStatement
    select_keys: PreparedStatement
    read_marker: PreparedStatement
    read_markers: PreparedStatement
    insert_marker: PreparedStatement
    raise_marker: PreparedStatement
    delete_events: PreparedStatement

    @classmethod
    async def prepare(cls, cassandra: CassandraSession, keyspace: str) -> Statements:
        settings = cassandra.settings
        read, write = settings.read_consistency, settings.write_consistency
        serial = settings.serial_consistency
        ks = keyspace
        where_partition = "WHERE persistence_id = ? AND partition_nr = ?"

        async def prep(cql: str, level: str) -> PreparedStatement:
            statement = await cassandra.prepare(cql)
            statement.consistency_level = consistency(level)
            return statement

        return cls(
            insert_event=await prep(insert_cql(ks), write),
            set_head=await prep(
                f"UPDATE {ks}.events SET head_seq = ? {where_partition} IF head_seq = ?", write
            ),
            read_head=await prep(f"SELECT head_seq FROM {ks}.events {where_partition}", serial),
            select_events=await prep(select_cql(ks), read),
            select_events_serial=await prep(select_cql(ks), serial),
            select_first=await prep(select_first_cql(ks), read),
            select_first_many=await prep(select_first_many_cql(ks), read),
            select_keys=await prep(select_keys_cql(ks), read),
            read_marker=await prep(
                f"SELECT deleted_to_seq, deleted_epoch FROM {ks}.entity_metadata"
                " WHERE persistence_id = ?",
                read,  # markers are committed at the write level; QUORUM meets them
            ),
            read_markers=await prep(
                f"SELECT persistence_id, deleted_to_seq, deleted_epoch FROM {ks}.entity_metadata"
                " WHERE persistence_id IN ?",
                read,
            ),
            insert_marker=await prep(
                f"INSERT INTO {ks}.entity_metadata (persistence_id, deleted_to_seq,"
                " deleted_epoch, deleted_at) VALUES (?, ?, ?, ?) IF NOT EXISTS",
                write,
            ),
            raise_marker=await prep(
                f"UPDATE {ks}.entity_metadata SET deleted_to_seq = ?, deleted_epoch = ?,"
                " deleted_at = ? WHERE persistence_id = ? IF deleted_to_seq = ?",
                write,
            ),
            delete_events=await prep(
                f"DELETE FROM {ks}.events {where_partition} AND seq_nr <= ?", write
            ),
        )

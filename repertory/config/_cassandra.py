"""Settings of the ``cassandra`` section: how the production journal reaches its cluster.

The journal's mode and nominal partition size are recorded in the keyspace itself (a mismatch
refuses to start); the fields here say how to talk to the cluster, not what the data looks like.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from repertory.config._base import Section

ConsistencyName = Literal["ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM"]
"""Consistency levels a journal may read or write at (EACH_QUORUM and ANY are not offered)."""

SerialConsistencyName = Literal["SERIAL", "LOCAL_SERIAL"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class CassandraSettings(Section):
    contact_points: tuple[str, ...] = ("127.0.0.1",)
    """Hosts the driver first connects to; it discovers the rest of the ring from them."""

    port: int = Field(default=19042, ge=1, le=65535)
    """Native (CQL) port. Default 19042, the dev stack's."""

    keyspace: str = "repertory"
    """Keyspace holding the journal tables: lower case letters, digits, ``_``; at most 48."""

    local_datacenter: str | None = None
    """Data centre the driver prefers (and the one LOCAL_* levels mean). Default: none."""

    read_consistency: ConsistencyName = "QUORUM"
    """Consistency of reads. Default QUORUM; reads and writes must overlap (checked at start)."""

    write_consistency: ConsistencyName = "QUORUM"
    """Consistency of writes (and of the commit of conditional writes). Default QUORUM."""

    serial_consistency: SerialConsistencyName = "SERIAL"
    """Paxos consistency of conditional writes and serial reads. Default SERIAL; LOCAL_SERIAL
    only when both reads and writes are LOCAL_* (the whole consumer group in one data centre)."""

    batch_max_bytes: int = Field(default=45 * 1024, ge=1024, le=16 * 1024 * 1024)
    """Upper bound, in bytes of bound values, of one multi-partition unlogged batch. Default
    45 KiB: below Cassandra's ``batch_size_fail_threshold`` (50 KiB by default), which refuses
    larger multi-partition batches outright."""

    batch_max_statements: int = Field(default=500, ge=1, le=65535)
    """Upper bound of statements in one batch (the protocol allows 65535). Default 500."""

    max_in_flight: int = Field(default=64, ge=1, le=4096)
    """Requests one journal keeps outstanding at once; more wait for a slot. Default 64.
    Conditional writes have their own bound (``conditional_max_in_flight``)."""

    conditional_max_in_flight: int = Field(default=1024, ge=1, le=32_768)
    """Conditional writes (and the serial reads that settle them) one journal keeps outstanding
    at once, apart from ``max_in_flight``. Default 1024: a Paxos round waits on round trips, not
    on this process, so many at once drain faster (in a scratch drain of 60k commands on the dev
    stack, 64 in flight gave about 1.7k commands/s, 1024 about 2.7k/s). Lower it if conditional
    writes time out."""

    request_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds the driver waits for one request before its outcome counts as unknown."""

    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    """Seconds to wait for the first connection to the cluster at start."""

    fetch_size: int = Field(default=5000, ge=100, le=100_000)
    """Rows per page when replaying. Default 5000."""

    reconnect_base_delay: float = Field(default=0.5, gt=0, le=60)
    """First delay, in seconds, before reconnecting to a lost host; doubles each attempt."""

    reconnect_max_delay: float = Field(default=30.0, gt=0, le=3600)
    """Largest delay, in seconds, between reconnection attempts to one host."""

    reconnect_max_attempts: int | None = Field(default=None, ge=1)
    """Attempts before the driver gives a lost host up; default none (keep trying)."""

    @field_validator("keyspace")
    @classmethod
    def _keyspace_is_identifier(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError("must be lower case letters, digits or _ and start with a letter")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CassandraSettings:
        if self.reconnect_max_delay < self.reconnect_base_delay:
            raise ValueError("reconnect_max_delay must be at least reconnect_base_delay")
        local = [c.startswith("LOCAL_") for c in (self.read_consistency, self.write_consistency)]
        if self.serial_consistency == "LOCAL_SERIAL" and not all(local):
            raise ValueError("LOCAL_SERIAL needs LOCAL_* read and write consistency")
        if any(local) and not self.local_datacenter:
            raise ValueError("LOCAL_* consistency needs local_datacenter")
        return self

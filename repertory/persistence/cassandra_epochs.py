"""Claiming writer epochs: one global, only-rising counter per journal.

A claim reads the highest epoch at SERIAL (which also completes any half-done Paxos round) and
inserts ``max + 1`` with ``IF NOT EXISTS``. Claims are therefore contiguous, so a claim made on
a stale read always collides with an existing one. When a claim's outcome is unknown (a
timeout), it is claimed again, never read back and reused: another process may have read the
same row meanwhile, and an epoch must have exactly one owner.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import UTC, datetime

from cassandra import (
    CoordinationFailure,
    OperationTimedOut,
    RequestExecutionException,
)
from cassandra.cluster import NoHostAvailable

from repertory.errors import JournalUnavailable
from repertory.persistence.cassandra_session import CassandraSession, consistency

_AMBIGUOUS = (RequestExecutionException, CoordinationFailure, OperationTimedOut, NoHostAvailable)

MAX_CLAIM_ATTEMPTS = 20
"""Rounds (collisions or unknown outcomes) before a claim gives up as unavailable."""


def claimant_name() -> str:
    """Who claimed, for operators reading the claims table: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def claim_epoch(cassandra: CassandraSession, keyspace: str) -> int:
    """Claim the next writer epoch (1 for a new journal).

    Raises:
        JournalUnavailable: the cluster did not answer, or every attempt collided.
    """
    settings = cassandra.settings
    read = await cassandra.prepare(
        f"SELECT epoch FROM {keyspace}.epoch_claims WHERE bucket = 0 LIMIT 1"
    )
    read.consistency_level = consistency(settings.serial_consistency)
    insert = await cassandra.prepare(
        f"INSERT INTO {keyspace}.epoch_claims (bucket, epoch, claimant, claimed_at)"
        " VALUES (0, ?, ?, ?) IF NOT EXISTS"
    )
    insert.consistency_level = consistency(settings.write_consistency)
    last_error: BaseException | None = None
    for attempt in range(MAX_CLAIM_ATTEMPTS):
        try:
            rows = await cassandra.execute(read.bind(()))
            candidate = (rows[0][0] if rows else 0) + 1
            answer = await cassandra.execute(
                insert.bind((candidate, claimant_name(), datetime.now(UTC)))
            )
        except _AMBIGUOUS as exc:
            last_error = exc  # maybe claimed, maybe not: claim again, higher
        else:
            if answer and answer[0][0]:
                return int(candidate)
        await asyncio.sleep(min(0.005 * 2**attempt, 0.5))
    raise JournalUnavailable(
        f"could not claim a writer epoch in [{keyspace}] after {MAX_CLAIM_ATTEMPTS} attempts"
    ) from last_error

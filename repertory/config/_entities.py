"""Settings of the ``entities`` section: mailboxes, group commit, the write batcher, dedupe.

Per-entity-type choices (snapshot policy, passivation timeout, supervision) live on the entity
type; these are the process-wide defaults and caps of the entity runtime.
"""

from __future__ import annotations

from pydantic import Field

from repertory.config._base import Section


class EntitySettings(Section):
    mailbox_size: int = Field(default=64, ge=1, le=1_000_000)
    """Commands queued per entity before ``tell`` waits (backpressure, never a drop). Default 64."""

    ask_timeout: float = Field(default=5.0, gt=0, le=3600)
    """Seconds an ask waits when the caller passes no timeout of its own: the embedded engine's
    default for ``Engine.ask`` and for delivering its outbox (Kafka-mode asks use
    ``kafka.ask_timeout``). ``ActorRef.ask`` itself always takes one: the runtime never reads
    this field. Default 5.0."""

    passivation_timeout: float = Field(default=120.0, gt=0, le=86_400)
    """Seconds an entity may stay idle before it is stopped, unless its type sets its own.
    Default 120."""

    max_active_entities: int = Field(default=100_000, ge=1, le=10_000_000)
    """Active entities per runtime; past it the least recently used idle one is passivated.
    Default 100000."""

    group_commit_max_events: int = Field(default=256, ge=1, le=100_000)
    """Events one entity gathers into one atomic write while its previous write is in flight.
    Default 256."""

    group_commit_max_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    """Estimated encoded bytes of one entity's atomic write. Default 256 KiB. A single command
    whose events exceed it still gets its own write (commands are never split)."""

    batcher_max_in_flight: int = Field(default=4, ge=1, le=1024)
    """Journal calls the write batcher keeps in flight at once. Default 4."""

    batcher_max_writes: int = Field(default=512, ge=1, le=100_000)
    """Atomic writes (of different entities) handed to the journal in one call. Default 512."""

    batcher_max_bytes: int = Field(default=1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    """Estimated encoded bytes per journal call. Default 1 MiB; a single larger write still goes
    alone. Keep it below Cassandra's ``batch_size_fail_threshold``."""

    dedupe_window_count: int = Field(default=1000, ge=0, le=1_000_000)
    """Recent command ids each entity remembers to recognise duplicates. Default 1000; 0 keeps
    only source offsets."""

    dedupe_window_age: float = Field(default=3600.0, ge=0, le=30 * 86_400)
    """Seconds a command id stays in the window. Default 3600 (one hour)."""

    rejected_write_retries: int = Field(default=3, ge=0, le=100)
    """Times a command whose write was rejected (definitely not stored) is run again after
    recovery before its caller gets ``WriteRejected``. Default 3."""

    unknown_write_min_backoff: float = Field(default=0.05, gt=0, le=60)
    """Seconds before the first retry of a write with an unknown outcome; doubles per attempt.
    Default 0.05."""

    unknown_write_max_backoff: float = Field(default=5.0, gt=0, le=600)
    """Upper bound in seconds of that backoff. Retries never stop on their own. Default 5.0."""

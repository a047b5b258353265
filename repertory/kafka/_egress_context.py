"""What every partition worker of one engine shares: the runtime, the store, the encoders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from repertory.actors import EntityRuntime
from repertory.config import KafkaSettings
from repertory.kafka._capture import CapturingStore
from repertory.kafka._encoding import EgressEncoder
from repertory.observability.metrics import RepertoryMetrics
from repertory.protocols import InputLimits, StateChange

__all__ = ["EgressContext", "Republisher"]

Republisher = Callable[[str, int, int], Awaitable[list[StateChange]]]
"""``(persistence id, first seq_nr, last seq_nr) -> state changes`` read back from the journal,
with the epochs they were journaled under (for a redelivered command's events)."""


@dataclass(slots=True, kw_only=True)
class EgressContext:
    """Shared by the partition workers of one Kafka edge.

    Attributes:
        stopped_commands: ids of commands the runtime gave up on (their entity was stopped by
            its supervisor); ingress dead-letters them when their ask fails.
        client_options: TLS and SASL options of every Kafka client (``kafka_client_options``);
            they hold the password, so they stay out of ``repr``.
        metrics: where ingress and egress record (None: nothing is recorded).
    """

    settings: KafkaSettings
    runtime: EntityRuntime
    store: CapturingStore
    encoder: EgressEncoder
    limits: InputLimits
    partitions: int
    republish: Republisher
    group_id: str
    stopped_commands: set[str] = field(default_factory=set)
    client_options: dict[str, Any] = field(default_factory=dict, repr=False)
    metrics: RepertoryMetrics | None = None

"""What one journal request tells the metrics: its latency and worst outcome, and per stored
entity write its group-commit size (and, embedded, each command's end-to-end latency)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from repertory.actors._store import EntityWrite, WriteAck, WriteStatus
from repertory.observability.metrics import AppendOutcome, RepertoryMetrics

__all__ = ["observe_write"]

_OUTCOME_NAMES: tuple[AppendOutcome, ...] = ("stored", "rejected", "failed")


def observe_write(
    metrics: RepertoryMetrics,
    writes: Sequence[EntityWrite],
    acks: Sequence[WriteAck],
    elapsed: float,
    *,
    end_to_end: bool,
) -> None:
    """One observation per request; per entity write its group-commit size (and, when
    embedded, each command's end-to-end latency), binned per entity type in one pass."""
    worst, stored = 0, 0
    sizes: dict[str, list[int]] = {}
    timestamps: dict[str, list[float]] = {}
    for write, ack in zip(writes, acks, strict=True):
        if ack.status is not WriteStatus.STORED:
            worst = max(worst, 2 if ack.status is WriteStatus.FAILED else 1)
            continue
        entity_type = write.persistence_id.partition("|")[0]
        events = write.events
        stored += len(events)
        sizes.setdefault(entity_type, []).append(len(events))
        if end_to_end:
            ends = timestamps.setdefault(entity_type, [])
            ends.extend(event.timestamp for event in events if event.ends_command)
    for entity_type, counts in sizes.items():
        metrics.actors.group_committed_many(entity_type, counts)
    now = time.time()
    for entity_type, ends in timestamps.items():
        metrics.end_to_end.observe_many(entity_type, ends, now)
    metrics.journal.appended(_OUTCOME_NAMES[worst], elapsed, stored)

"""What one committed egress batch adds to the metrics: records by kind, publish latency, and
each command's end-to-end latency (its own timestamp to its state changes committed).

Called once per transaction, never per record from the poll loop: records are counted by topic
in C, and each entity type's latencies go into their histogram as one batch.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter

from repertory.config import KafkaSettings
from repertory.kafka._contents import RecordOutcome, TransactionContents
from repertory.kafka._intake import Slot
from repertory.observability.metrics import EgressRecordKind, RepertoryMetrics

__all__ = ["record_committed_batch"]

_TOPIC = attrgetter("topic")


def record_committed_batch(
    metrics: RepertoryMetrics,
    settings: KafkaSettings,
    slots: Sequence[Slot],
    outcomes: Sequence[RecordOutcome],
    contents: TransactionContents,
) -> None:
    """Record a batch whose transaction has just committed."""
    published = metrics.egress.published
    for topic, count in Counter(map(_TOPIC, contents.records)).items():
        published(_kind(settings, topic), count)
    first_journaled = 0.0
    by_type: dict[str, list[float]] = {}
    for slot, outcome in zip(slots, outcomes, strict=True):
        journaled_at = outcome.journaled_at
        if journaled_at and (not first_journaled or journaled_at < first_journaled):
            first_journaled = journaled_at
        envelope, entity_type = slot.envelope, slot.entity_type
        if outcome.changes and envelope is not None and entity_type is not None:
            timestamps = by_type.get(entity_type.name)
            if timestamps is None:
                timestamps = by_type[entity_type.name] = []
            timestamps.append(envelope.timestamp_ms / 1000)
    if first_journaled:
        metrics.egress.publish_seconds.observe(time.monotonic() - first_journaled)
    now = time.time()
    for name, timestamps in by_type.items():
        metrics.end_to_end.observe_many(name, timestamps, now)


def _kind(settings: KafkaSettings, topic: str) -> EgressRecordKind:
    if topic == settings.state_changes_topic:
        return "state_change"
    if topic == settings.dead_letters_topic:
        return "dead_letter"
    if topic == settings.commands_topic:
        return "command"
    return "reply"  # replies go to whatever topic each asker named

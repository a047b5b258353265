"""What one committed egress batch adds to the metrics: records by kind, publish latency, and
each command's end-to-end latency (its own timestamp to its state changes committed).

Called once per transaction, never per record from the poll loop, so its cost is a pass over
the batch's records and commands.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from repertory.config import KafkaSettings
from repertory.kafka._contents import RecordOutcome, TransactionContents
from repertory.kafka._intake import Slot
from repertory.observability.metrics import EgressRecordKind, RepertoryMetrics

__all__ = ["record_committed_batch"]


def record_committed_batch(
    metrics: RepertoryMetrics,
    settings: KafkaSettings,
    slots: Sequence[Slot],
    outcomes: Sequence[RecordOutcome],
    contents: TransactionContents,
) -> None:
    """Record a batch whose transaction has just committed."""
    by_topic: dict[str, int] = {}
    for record in contents.records:
        by_topic[record.topic] = by_topic.get(record.topic, 0) + 1
    published = metrics.egress.published
    for topic, count in by_topic.items():
        published(_kind(settings, topic), count)
    journaled = [o.journaled_at for o in outcomes if o.journaled_at]
    if journaled:
        metrics.egress.publish_seconds.observe(time.monotonic() - min(journaled))
    observe = metrics.end_to_end.observe
    now = time.time()
    for slot, outcome in zip(slots, outcomes, strict=True):
        envelope, entity_type = slot.envelope, slot.entity_type
        if outcome.changes and envelope is not None and entity_type is not None:
            observe(entity_type.name, envelope.timestamp_ms / 1000, now)


def _kind(settings: KafkaSettings, topic: str) -> EgressRecordKind:
    if topic == settings.state_changes_topic:
        return "state_change"
    if topic == settings.dead_letters_topic:
        return "dead_letter"
    if topic == settings.commands_topic:
        return "command"
    return "reply"  # replies go to whatever topic each asker named

"""The metric families of entities, the journal, end-to-end latency and the worker process."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from repertory.observability._metric_common import (
    LATENCY_BUCKETS,
    REPLAY_BUCKETS,
    SIZE_BUCKETS,
    AppendOutcome,
    Children,
    SnapshotLoadOutcome,
    SnapshotSaveOutcome,
    observe_many,
)

__all__ = ["ActorMetrics", "EndToEndMetrics", "JournalMetrics", "WorkerMetrics"]


class ActorMetrics:
    """Entities: lifecycle, recovery, supervision, mailboxes, command handling, group commit."""

    def __init__(self, registry: CollectorRegistry) -> None:
        by_type = ["entity_type"]
        self.active = Gauge(
            "repertory_actors_active_entities",
            "Entities in memory (activated and not yet passivated or stopped).",
            by_type,
            registry=registry,
        )
        self.activations = Counter(
            "repertory_actors_activations_total",
            "Entities created in memory (each then recovers).",
            by_type,
            registry=registry,
        )
        self.passivations = Counter(
            "repertory_actors_passivations_total",
            "Idle entities removed from memory.",
            by_type,
            registry=registry,
        )
        self.recovery_seconds = Histogram(
            "repertory_actors_recovery_seconds",
            "Seconds from activation to running: snapshot load plus replay.",
            by_type,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.recovery_events = Histogram(
            "repertory_actors_recovery_events",
            "Events replayed by one recovery.",
            by_type,
            buckets=REPLAY_BUCKETS,
            registry=registry,
        )
        self.restarts = Counter(
            "repertory_actors_restarts_total",
            "Entity restarts by their supervisor, by reason.",
            [*by_type, "reason"],
            registry=registry,
        )
        self.stops = Counter(
            "repertory_actors_stops_total",
            "Entities stopped other than by passivation, by reason.",
            [*by_type, "reason"],
            registry=registry,
        )
        self.mailbox_depth = Histogram(
            "repertory_actors_mailbox_depth",
            "Messages already waiting in the mailbox when a command arrives.",
            by_type,
            buckets=(0.0, *SIZE_BUCKETS),
            registry=registry,
        )
        self.command_seconds = Histogram(
            "repertory_actors_command_seconds",
            "Seconds from a command's arrival at its entity to its effect done (persisted, "
            "replied).",
            by_type,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.group_commit_events = Histogram(
            "repertory_actors_group_commit_events",
            "Events in one atomic write of one entity (group commit size).",
            by_type,
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self._active = Children(self.active)
        self._activations = Children(self.activations)
        self._passivations = Children(self.passivations)
        self._mailbox_depth = Children(self.mailbox_depth)
        self._command_seconds = Children(self.command_seconds)
        self._group_commit_events = Children(self.group_commit_events)
        self._recovery_seconds = Children(self.recovery_seconds)
        self._recovery_events = Children(self.recovery_events)

    def activated(self, entity_type: str) -> None:
        """Count an activation; one more entity in memory."""
        self._activations(entity_type).inc()
        self._active(entity_type).inc()

    def passivated(self, entity_type: str) -> None:
        """Count a passivation; one entity fewer in memory."""
        self._passivations(entity_type).inc()
        self._active(entity_type).dec()

    def stopped(self, entity_type: str, reason: str) -> None:
        """Count a stop (not a passivation); one entity fewer in memory."""
        self.stops.labels(entity_type=entity_type, reason=reason).inc()
        self._active(entity_type).dec()

    def recovered(self, entity_type: str, seconds: float, events: int) -> None:
        """Record one finished recovery."""
        self._recovery_seconds(entity_type).observe(seconds)
        self._recovery_events(entity_type).observe(events)

    def command_arrived(self, entity_type: str, waiting: int) -> None:
        """A command reached its entity with ``waiting`` messages ahead of it."""
        self._mailbox_depth(entity_type).observe(waiting)

    def command_handled(self, entity_type: str, seconds: float) -> None:
        """A command's effect is done, ``seconds`` after it arrived at its entity."""
        self._command_seconds(entity_type).observe(seconds)

    def group_committed(self, entity_type: str, events: int) -> None:
        """One atomic write of one entity held ``events`` events."""
        self._group_commit_events(entity_type).observe(events)

    def group_committed_many(self, entity_type: str, sizes: Iterable[int]) -> None:
        """``group_committed`` for each size of one journal request's writes, in one pass."""
        observe_many(self._group_commit_events(entity_type), sizes)


class JournalMetrics:
    """The journal and snapshot store: writes, replays, snapshots, dropped rows."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.append_seconds = Histogram(
            "repertory_journal_append_seconds",
            "Seconds per journal write request (one or many atomic writes), by outcome.",
            ["outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.append_events = Histogram(
            "repertory_journal_append_events",
            "Events per journal write request (the write batcher joins many entities' writes).",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.replayed_events = Counter(
            "repertory_journal_replayed_events_total",
            "Events read back by replays (recoveries, republishing).",
            registry=registry,
        )
        self.replay_seconds = Histogram(
            "repertory_journal_replay_seconds",
            "Seconds per replay read (resolving the canonical chain included).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.snapshot_saves = Counter(
            "repertory_journal_snapshot_saves_total",
            "Snapshot saves, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.snapshot_loads = Counter(
            "repertory_journal_snapshot_loads_total",
            "Snapshot loads, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.noncanonical_rows = Counter(
            "repertory_journal_noncanonical_rows_total",
            "Rows read that lie outside the canonical chain (a zombie writer's) and were dropped.",
            registry=registry,
        )
        self._append_seconds = Children(self.append_seconds)
        self._snapshot_saves = Children(self.snapshot_saves)
        self._snapshot_loads = Children(self.snapshot_loads)

    def appended(self, outcome: AppendOutcome, seconds: float, events: int) -> None:
        """Record one journal write request and its outcome."""
        self._append_seconds(outcome).observe(seconds)
        if outcome == "stored":
            self.append_events.observe(events)

    def replayed(self, seconds: float, events: int) -> None:
        """Record one replay read."""
        self.replay_seconds.observe(seconds)
        self.replayed_events.inc(events)

    def snapshot_saved(self, outcome: SnapshotSaveOutcome) -> None:
        self._snapshot_saves(outcome).inc()

    def snapshot_loaded(self, outcome: SnapshotLoadOutcome) -> None:
        self._snapshot_loads(outcome).inc()


class EndToEndMetrics:
    """From a command's own timestamp to its state change acknowledged."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.seconds = Histogram(
            "repertory_end_to_end_seconds",
            "Seconds from a command's timestamp to its state change acknowledged (published in "
            "Kafka mode, committed when embedded).",
            ["entity_type"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._seconds = Children(self.seconds)

    def observe(self, entity_type: str, command_timestamp: float, now: float | None = None) -> None:
        """Observe one command; timestamps are Unix seconds. Clock skew below zero counts as 0."""
        elapsed = (time.time() if now is None else now) - command_timestamp
        self._seconds(entity_type).observe(elapsed if elapsed > 0.0 else 0.0)

    def observe_many(
        self, entity_type: str, command_timestamps: Iterable[float], now: float
    ) -> None:
        """``observe`` for each command of one batch acknowledged at ``now``, in one pass."""
        observe_many(
            self._seconds(entity_type),
            (now - at if now > at else 0.0 for at in command_timestamps),
        )


class WorkerMetrics:
    """The process itself: when it started, so restarts show as changes."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.start_time = Gauge(
            "repertory_worker_start_time_seconds",
            "Unix time this worker process loaded its metrics (changes on every restart).",
            registry=registry,
        )
        self.start_time.set_to_current_time()

"""Every metric repertory exports, defined once, per layer, on prometheus-client's registry.

Layers import the module and call its layer objects::

    from repertory.observability import metrics

    metrics.ingress.consumed(partition)
    metrics.journal.appended("stored", seconds, events=len(rows))
    metrics.actors.command_handled("account", seconds)

Labels are bounded: ``entity_type`` (the registered entity types), ``partition`` (the commands
topic's partitions, fixed up front), ``reason``/``outcome``/``kind`` (the small vocabularies
below). Never an entity id: one series per entity would grow without limit. Histograms carry at
most ``entity_type`` or ``outcome`` (never ``partition``), so their bucket series stay few.

Families (name as scraped · type · labels — meaning):

ingress
  repertory_ingress_records_total                  counter    partition
      records consumed from the commands topic
  repertory_ingress_rejected_records_total         counter    reason
      records that could not become commands; reason = an InputRejected.reason or misrouted
  repertory_ingress_dead_lettered_records_total    counter    reason
      records and commands sent to the dead-letter topic
  repertory_ingress_consumer_lag_records           gauge      partition
      high watermark minus committed offset, per owned partition
  repertory_ingress_partition_paused               gauge      partition
      1 while an owned partition is paused (backpressure, a write being retried)
  repertory_ingress_assigned_partitions            gauge      -
      partitions of the commands topic this worker owns
  repertory_ingress_commit_seconds                 histogram  -
      seconds to commit consumed offsets (the commit of their egress transaction)
actors
  repertory_actors_active_entities                 gauge      entity_type
      entities in memory
  repertory_actors_activations_total               counter    entity_type
      entities created in memory (each then recovers)
  repertory_actors_passivations_total              counter    entity_type
      idle entities removed from memory
  repertory_actors_recovery_seconds                histogram  entity_type
      activation to running (snapshot load + replay); _count = recoveries
  repertory_actors_recovery_events                 histogram  entity_type
      events replayed per recovery; _sum = every event replayed
  repertory_actors_restarts_total                  counter    entity_type, reason
      entity restarts by the supervisor
  repertory_actors_stops_total                     counter    entity_type, reason
      entity stops other than passivation
  repertory_actors_mailbox_depth                   histogram  entity_type
      messages already waiting when a command arrives
  repertory_actors_command_seconds                 histogram  entity_type
      a command's arrival at its entity to its effect done (persisted, replied)
  repertory_actors_group_commit_events             histogram  entity_type
      events per atomic write of one entity (group commit size)
journal
  repertory_journal_append_seconds                 histogram  outcome
      seconds per write request; outcome stored / rejected / failed
  repertory_journal_append_events                  histogram  -
      events per stored write request (the batcher joins many entities' writes)
  repertory_journal_replayed_events_total          counter    -
      events read back by replays; its rate is the replay throughput
  repertory_journal_replay_seconds                 histogram  -
      seconds per replay read
  repertory_journal_snapshot_saves_total           counter    outcome
      snapshot saves: stored / failed
  repertory_journal_snapshot_loads_total           counter    outcome
      snapshot loads: found / absent / failed
  repertory_journal_noncanonical_rows_total        counter    -
      rows outside the canonical chain (a zombie writer's), dropped on read
egress
  repertory_egress_records_total                   counter    kind
      published records: state_change / reply / command / dead_letter
  repertory_egress_publish_seconds                 histogram  -
      events journaled to their transaction committed in Kafka
  repertory_egress_transactions_total              counter    outcome
      egress transactions: committed / retried / fenced
  repertory_egress_unpublished_events              gauge      partition
      events journaled but not yet published, per owned input partition
end to end
  repertory_end_to_end_seconds                     histogram  entity_type
      a command's timestamp to its state change acknowledged (published, or committed when
      embedded)
worker
  repertory_worker_start_time_seconds              gauge      -
      Unix time the process loaded its metrics; a change is a restart

Counters also export ``<name>_created``; histograms ``_bucket``, ``_sum``, ``_count``,
``_created``.

**Workers (``repertory run --workers N``): one port per worker.** Worker slot ``i`` serves
``/metrics``, ``/healthz`` and ``/readyz`` on ``observability.metrics_port + i``
(``worker_metrics_port``); Prometheus scrapes each worker and aggregates with ``sum by``. Chosen
over prometheus-client's multiprocess mode because: each worker's ``/readyz`` must run that
worker's own readiness checks (async callables in its event loop, which a parent process
cannot call); multiprocess mode must be switched on before prometheus-client is first imported
(the CLI imports it before it reads settings) and leaves per-process files to clean after every
restart; and plain in-process values are the cheapest to update on the hot path. A restarted
worker starts its counters at zero, which ``rate()`` and ``increase()`` handle. In Kubernetes run
one worker per pod and scale pods: one port, one target per pod.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry

from repertory.observability._metric_common import (
    AppendOutcome,
    EgressRecordKind,
    SnapshotLoadOutcome,
    SnapshotSaveOutcome,
    TransactionOutcome,
)
from repertory.observability._metric_core import (
    ActorMetrics,
    EndToEndMetrics,
    JournalMetrics,
    WorkerMetrics,
)
from repertory.observability._metric_edges import EgressMetrics, IngressMetrics

__all__ = [
    "ActorMetrics",
    "AppendOutcome",
    "EgressMetrics",
    "EgressRecordKind",
    "EndToEndMetrics",
    "IngressMetrics",
    "JournalMetrics",
    "RepertoryMetrics",
    "SnapshotLoadOutcome",
    "SnapshotSaveOutcome",
    "TransactionOutcome",
    "WorkerMetrics",
    "actors",
    "default_metrics",
    "egress",
    "end_to_end",
    "ingress",
    "journal",
    "set_worker_slot",
    "worker",
    "worker_metrics_port",
    "worker_slot",
]

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


class RepertoryMetrics:
    """Every layer's families, registered on one registry.

    Args:
        registry: where the families are registered; default prometheus-client's global one
            (what an embedding application's own ``/metrics`` already serves).
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.ingress = IngressMetrics(registry)
        self.actors = ActorMetrics(registry)
        self.journal = JournalMetrics(registry)
        self.egress = EgressMetrics(registry)
        self.end_to_end = EndToEndMetrics(registry)
        self.worker = WorkerMetrics(registry)

    def families(self) -> dict[str, str]:
        """Every family defined here: its name (as exposed, counters without ``_total``) → type."""
        found: dict[str, str] = {}
        for layer in (
            self.ingress,
            self.actors,
            self.journal,
            self.egress,
            self.end_to_end,
            self.worker,
        ):
            for value in vars(layer).values():
                describe = getattr(value, "describe", None)
                if describe is None:
                    continue
                for family in describe():
                    found[family.name] = family.type
        return found

    def sample_names(self) -> frozenset[str]:
        """Every sample name these families export (``_total``, ``_bucket``, ... included)."""
        return frozenset(
            name + suffix
            for name, kind in self.families().items()
            for suffix in _SUFFIXES.get(kind, ("",))
        )

    def __repr__(self) -> str:
        return f"<RepertoryMetrics families={len(self.families())}>"


default_metrics = RepertoryMetrics()
"""The process's metrics, on prometheus-client's default registry."""

ingress = default_metrics.ingress
actors = default_metrics.actors
journal = default_metrics.journal
egress = default_metrics.egress
end_to_end = default_metrics.end_to_end
worker = default_metrics.worker

_worker_slot: int | None = None


def set_worker_slot(slot: int) -> None:
    """Record which worker slot this process is (the worker process calls it before its app)."""
    global _worker_slot
    if slot < 0:
        raise ValueError(f"worker slot [{slot}] must not be negative")
    _worker_slot = slot


def worker_slot() -> int | None:
    """This process's worker slot, or None outside a worker pool."""
    return _worker_slot


def worker_metrics_port(base_port: int, slot: int | None = None) -> int:
    """The port a worker serves its metrics and health on: ``base_port + slot``.

    Args:
        base_port: the ``observability.metrics_port`` setting; 0 (off) stays 0.
        slot: the worker slot; default this process's (``set_worker_slot``), else 0.

    Raises:
        ValueError: the port would pass 65535 (report it as a settings error).
    """
    if base_port == 0:
        return 0
    slot = (_worker_slot or 0) if slot is None else slot
    port = base_port + slot
    if port > 65535:
        raise ValueError(
            f"metrics port [{base_port}] + worker slot [{slot}] = [{port}] is above 65535"
        )
    return port

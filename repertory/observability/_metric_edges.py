"""The Kafka edges' metric families: ingress (the commands topic) and egress (transactions)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from repertory.observability._metric_common import (
    LATENCY_BUCKETS,
    Children,
    EgressRecordKind,
    TransactionOutcome,
    partition_label,
)

__all__ = ["EgressMetrics", "IngressMetrics"]


class IngressMetrics:
    """The commands topic: consumed records, bad input, lag, pauses, offset commits."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "repertory_ingress_records_total",
            "Records consumed from the commands topic.",
            ["partition"],
            registry=registry,
        )
        self.rejected = Counter(
            "repertory_ingress_rejected_records_total",
            "Records that could not become commands (decode or validation), by reason.",
            ["reason"],
            registry=registry,
        )
        self.dead_lettered = Counter(
            "repertory_ingress_dead_lettered_records_total",
            "Records and commands sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.lag = Gauge(
            "repertory_ingress_consumer_lag_records",
            "Records of an owned partition not yet committed: high watermark minus committed.",
            ["partition"],
            registry=registry,
        )
        self.paused = Gauge(
            "repertory_ingress_partition_paused",
            "1 while an owned partition is paused (backpressure or a write being retried).",
            ["partition"],
            registry=registry,
        )
        self.assigned = Gauge(
            "repertory_ingress_assigned_partitions",
            "Partitions of the commands topic this worker owns.",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "repertory_ingress_commit_seconds",
            "Seconds to commit consumed offsets (the commit of their egress transaction).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._records = Children(self.records)

    def consumed(self, partition: int, records: int = 1) -> None:
        """Count ``records`` consumed from ``partition`` (call once per fetched batch)."""
        self._records(partition_label(partition)).inc(records)

    def set_lag(self, partition: int, lag: int) -> None:
        """Set the lag (records) of an owned partition."""
        self.lag.labels(partition=partition_label(partition)).set(lag)

    def set_paused(self, partition: int, paused: bool) -> None:
        """Flag an owned partition paused or resumed."""
        self.paused.labels(partition=partition_label(partition)).set(1 if paused else 0)

    def forget_partition(self, partition: int) -> None:
        """Drop the per-partition gauges of a partition this worker no longer owns.

        Otherwise its last lag would still be exported next to the new owner's, and a sum over
        workers would count it twice.
        """
        label = partition_label(partition)
        for gauge in (self.lag, self.paused):
            with contextlib.suppress(KeyError):
                gauge.remove(label)


class EgressMetrics:
    """Kafka egress: published records, transactions, events journaled but not published."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "repertory_egress_records_total",
            "Records published in committed transactions, by kind.",
            ["kind"],
            registry=registry,
        )
        self.publish_seconds = Histogram(
            "repertory_egress_publish_seconds",
            "Seconds from events journaled to their transaction committed in Kafka.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.transactions = Counter(
            "repertory_egress_transactions_total",
            "Egress transactions, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.unpublished_events = Gauge(
            "repertory_egress_unpublished_events",
            "Events journaled but not yet published, per owned input partition.",
            ["partition"],
            registry=registry,
        )
        self._records = Children(self.records)
        self._transactions = Children(self.transactions)

    def published(self, kind: EgressRecordKind, records: int = 1) -> None:
        """Count ``records`` of ``kind`` in a committed transaction (once per kind and batch)."""
        self._records(kind).inc(records)

    def transaction(self, outcome: TransactionOutcome) -> None:
        self._transactions(outcome).inc()

    def set_unpublished(self, partition: int, events: int) -> None:
        self.unpublished_events.labels(partition=partition_label(partition)).set(events)

    def forget_partition(self, partition: int) -> None:
        """Drop the gauge of a partition this worker no longer owns."""
        with contextlib.suppress(KeyError):
            self.unpublished_events.remove(partition_label(partition))

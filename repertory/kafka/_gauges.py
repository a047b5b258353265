"""The Kafka edge's gauges, refreshed on a timer rather than on the hot path: consumer lag,
paused partitions, assigned partitions and events journaled but not yet published.

Gauges are states, not events, so sampling them once a second costs the poll loop nothing and
is as fresh as a 15-second scrape needs. Partitions this worker no longer owns are removed, so a
sum over workers never counts one twice.
"""

from __future__ import annotations

import asyncio

from repertory.kafka._edge import KafkaEdge
from repertory.observability.metrics import RepertoryMetrics

__all__ = ["EdgeGauges"]


class EdgeGauges:
    """Samples ``edge`` into ``metrics`` (``refresh`` once, or ``run`` every ``interval`` s)."""

    def __init__(self, edge: KafkaEdge, metrics: RepertoryMetrics, interval: float = 1.0) -> None:
        self.edge = edge
        self.metrics = metrics
        self.interval = interval
        self._known: set[int] = set()

    async def run(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(self.interval)

    def refresh(self) -> None:
        edge, ingress, egress = self.edge, self.metrics.ingress, self.metrics.egress
        ownership = edge.ownership
        workers = dict(ownership.workers) if ownership is not None else {}
        consumer = edge.consumer
        paused = edge.held()
        owned: set[int] = set()
        scans: dict[tuple[int, str], dict[int, int]] = {}  # the workers share one store
        for tp, worker in workers.items():
            partition = tp.partition
            owned.add(partition)
            high = consumer.highwater(tp)
            if high is not None:
                ingress.set_lag(partition, max(0, high - worker.committed_offset))
            ingress.set_paused(partition, tp in paused)
            store = worker.context.store
            unpublished = scans.get((id(store), tp.topic))
            if unpublished is None:
                unpublished = scans[id(store), tp.topic] = store.unpublished(tp.topic)
            egress.set_unpublished(partition, unpublished.get(partition, 0) + worker.publishing)
        for partition in self._known - owned:
            ingress.forget_partition(partition)
            egress.forget_partition(partition)
        self._known = owned
        ingress.assigned.set(len(owned))

    def forget(self) -> None:
        """Remove every per-partition gauge (the edge stopped)."""
        for partition in self._known:
            self.metrics.ingress.forget_partition(partition)
            self.metrics.egress.forget_partition(partition)
        self._known = set()
        self.metrics.ingress.assigned.set(0)

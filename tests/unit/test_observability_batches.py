"""Batched recording: one pass per batch exports exactly what one call per command would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from repertory.actors import CommandSource, EntityWrite, StoredEvent, WriteAck, WriteStatus
from repertory.kafka._capture import CapturingStore
from repertory.observability._metric_common import LATENCY_BUCKETS, SIZE_BUCKETS, observe_many
from repertory.observability.metrics import RepertoryMetrics


def exported(metrics: RepertoryMetrics) -> list[str]:
    """The exposition without what holds creation times (``_created``, the start time)."""
    text = generate_latest(metrics.registry).decode()
    clocks = ("_created", "repertory_worker_start_time_seconds ")
    return [line for line in text.splitlines() if not any(c in line for c in clocks)]


def bucket(metrics: RepertoryMetrics, name: str, le: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name + "_bucket", {**labels, "le": le})
    assert found is not None
    return found


# bounds themselves, between them, below the first, past the last finite one, infinity
AMOUNTS = [0.0, *LATENCY_BUCKETS, 0.0007, 0.3, 45.0, 61.0, 1e9, float("inf")]


@pytest.mark.parametrize("amounts", [AMOUNTS, [0.01] * 7, []])
def test_observe_many_exports_what_repeated_observe_does(amounts: list[float]) -> None:
    one, many = RepertoryMetrics(CollectorRegistry()), RepertoryMetrics(CollectorRegistry())
    child = one.actors.command_seconds.labels("account")
    for amount in amounts:
        child.observe(amount)
    observe_many(many.actors.command_seconds.labels("account"), amounts)
    assert exported(many) == exported(one)


def test_observe_many_bins_a_bound_into_its_own_bucket() -> None:
    metrics = RepertoryMetrics(CollectorRegistry())
    observe_many(metrics.actors.group_commit_events.labels("account"), [1, 2, 2, 3, 5000])
    name = "repertory_actors_group_commit_events"
    assert bucket(metrics, name, "1.0", entity_type="account") == 1
    assert bucket(metrics, name, "2.0", entity_type="account") == 3
    assert bucket(metrics, name, "4.0", entity_type="account") == 4
    assert bucket(metrics, name, str(SIZE_BUCKETS[-1]), entity_type="account") == 4
    assert bucket(metrics, name, "+Inf", entity_type="account") == 5


def test_batched_helpers_match_their_one_call_forms() -> None:
    one, many = RepertoryMetrics(CollectorRegistry()), RepertoryMetrics(CollectorRegistry())
    stamps = [99.0, 99.9, 100.0, 101.0]  # the last is ahead of ``now``: a skewed clock
    for at in stamps:
        one.end_to_end.observe("account", at, now=100.0)
    many.end_to_end.observe_many("account", stamps, now=100.0)
    for size in (1, 3, 3, 40):
        one.actors.group_committed("account", size)
    many.actors.group_committed_many("account", [1, 3, 3, 40])
    assert exported(many) == exported(one)
    sample = many.registry.get_sample_value
    assert sample("repertory_end_to_end_seconds_sum", {"entity_type": "account"}) == pytest.approx(
        1.1
    )


class _Stored:
    """An inner store that stores every write."""

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        return [WriteAck(WriteStatus.STORED, None) for _ in writes]


class _Encoder:
    def state_change(self, pid: str, event: StoredEvent, epoch: int, journaled: Any) -> str:
        return f"{pid}:{event.seq_nr}"


def _write(pid: str, partition: int, offset: int, events: int) -> EntityWrite:
    source = CommandSource(topic="commands", partition=partition, offset=offset)
    stored = tuple(
        StoredEvent(seq_nr=n, event=None, timestamp=0.0, source=source) for n in range(events)
    )
    return EntityWrite(persistence_id=pid, events=stored, position=None, size=0)


async def test_unpublished_events_are_counted_per_partition_in_one_pass() -> None:
    store = CapturingStore(_Stored(), _Encoder(), lambda: 1)  # type: ignore[arg-type]
    await store.write([_write("a|1", 0, 10, 2), _write("a|2", 0, 11, 1), _write("a|3", 3, 10, 4)])
    await store.write([_write("a|4", 3, 11, 1)])
    assert store.unpublished("commands") == {0: 3, 3: 5}
    assert store.unpublished("other") == {}
    assert store.take(("commands", 3, 10)) is not None
    assert store.unpublished("commands") == {0: 3, 3: 1}

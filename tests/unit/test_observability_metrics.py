"""The metric families: defined once, documented, bounded labels, helpers move the right series."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from repertory.observability import metrics
from repertory.observability.metrics import RepertoryMetrics, worker_metrics_port

LAYERS = ("ingress", "actors", "journal", "egress", "end_to_end", "worker")
FORBIDDEN_LABELS = {"entity_id", "persistence_id", "command_id", "offset", "seq_nr"}


@pytest.fixture
def fresh() -> RepertoryMetrics:
    return RepertoryMetrics(CollectorRegistry())


def value(m: RepertoryMetrics, name: str, **labels: str) -> float:
    found = m.registry.get_sample_value(name, labels)
    assert found is not None, f"no sample {name}{labels}"
    return found


def documented_names() -> set[str]:
    doc = metrics.__doc__ or ""
    return set(re.findall(r"^  (repertory_[a-z_]+)\s+(?:counter|gauge|histogram)\b", doc, re.M))


def test_every_family_is_documented_in_the_module_table_and_nothing_else_is() -> None:
    exposed = set()
    for name, kind in metrics.default_metrics.families().items():
        exposed.add(name + "_total" if kind == "counter" else name)
    assert documented_names() == exposed


def test_every_layer_has_families_with_conventional_names(fresh: RepertoryMetrics) -> None:
    families = fresh.families()
    for layer in LAYERS:
        prefix = "repertory_" + layer + "_" if layer != "end_to_end" else "repertory_end_to_end"
        assert any(name.startswith(prefix) for name in families), layer
    for name, kind in families.items():
        assert re.fullmatch(r"repertory_[a-z0-9_]+", name)
        if name.endswith(("_seconds", "_latency")):
            assert kind in {"histogram", "gauge"}, name
        assert not name.endswith("_milliseconds"), "base units only"


def test_no_family_is_labelled_by_an_unbounded_identifier(fresh: RepertoryMetrics) -> None:
    for layer in LAYERS:
        for family in vars(getattr(fresh, layer)).values():
            labels = set(getattr(family, "_labelnames", ()))
            assert not labels & FORBIDDEN_LABELS, family
            if getattr(family, "_type", "") == "histogram":
                assert "partition" not in labels, family


def test_ingress_helpers_move_and_forget_partition_series(fresh: RepertoryMetrics) -> None:
    fresh.ingress.consumed(3, records=5)
    fresh.ingress.set_lag(3, 42)
    fresh.ingress.set_paused(3, True)
    assert value(fresh, "repertory_ingress_records_total", partition="3") == 5
    assert value(fresh, "repertory_ingress_consumer_lag_records", partition="3") == 42
    assert value(fresh, "repertory_ingress_partition_paused", partition="3") == 1
    fresh.ingress.forget_partition(3)
    fresh.ingress.forget_partition(3)  # twice is fine
    lag = fresh.registry.get_sample_value(
        "repertory_ingress_consumer_lag_records", {"partition": "3"}
    )
    assert lag is None
    # a counter keeps counting across ownership changes
    assert value(fresh, "repertory_ingress_records_total", partition="3") == 5


def test_actor_lifecycle_keeps_the_active_gauge_balanced(fresh: RepertoryMetrics) -> None:
    for _ in range(3):
        fresh.actors.activated("account")
    fresh.actors.passivated("account")
    fresh.actors.stopped("account", "restart_limit")
    fresh.actors.recovered("account", seconds=0.02, events=250)
    assert value(fresh, "repertory_actors_active_entities", entity_type="account") == 1
    assert value(fresh, "repertory_actors_activations_total", entity_type="account") == 3
    assert (
        value(fresh, "repertory_actors_stops_total", entity_type="account", reason="restart_limit")
        == 1
    )
    assert value(fresh, "repertory_actors_recovery_events_sum", entity_type="account") == 250
    assert (
        value(fresh, "repertory_actors_recovery_events_bucket", entity_type="account", le="100.0")
        == 0
    )


def test_hot_path_helpers_reach_the_exported_series(fresh: RepertoryMetrics) -> None:
    fresh.actors.command_arrived("account", waiting=3)
    fresh.actors.command_handled("account", 0.002)
    fresh.actors.command_handled("account", 0.004)
    fresh.actors.group_committed("account", 5)
    fresh.egress.published("state_change", 4)
    fresh.egress.published("state_change", 1)
    assert value(fresh, "repertory_actors_mailbox_depth_sum", entity_type="account") == 3
    assert value(fresh, "repertory_actors_command_seconds_count", entity_type="account") == 2
    assert value(fresh, "repertory_actors_group_commit_events_sum", entity_type="account") == 5
    assert value(fresh, "repertory_egress_records_total", kind="state_change") == 5
    # the cached child is the family's own child, not a detached copy
    assert fresh.actors.command_seconds.labels("account") is fresh.actors._command_seconds(
        "account"
    )


def test_journal_counts_events_only_of_stored_writes(fresh: RepertoryMetrics) -> None:
    fresh.journal.appended("stored", 0.004, events=12)
    fresh.journal.appended("failed", 1.5, events=12)
    fresh.journal.replayed(0.01, events=100)
    fresh.journal.snapshot_loaded("absent")
    assert value(fresh, "repertory_journal_append_seconds_count", outcome="stored") == 1
    assert value(fresh, "repertory_journal_append_seconds_count", outcome="failed") == 1
    assert value(fresh, "repertory_journal_append_events_sum") == 12
    assert value(fresh, "repertory_journal_replayed_events_total") == 100
    assert value(fresh, "repertory_journal_snapshot_loads_total", outcome="absent") == 1


def test_end_to_end_uses_the_command_timestamp_and_never_goes_negative(
    fresh: RepertoryMetrics,
) -> None:
    fresh.end_to_end.observe("account", command_timestamp=100.0, now=100.25)
    fresh.end_to_end.observe("account", command_timestamp=100.0, now=99.0)  # skewed clock
    assert value(fresh, "repertory_end_to_end_seconds_sum", entity_type="account") == 0.25
    assert (
        value(fresh, "repertory_end_to_end_seconds_bucket", entity_type="account", le="0.0005") == 1
    )


def test_sample_names_cover_what_the_registry_exports(fresh: RepertoryMetrics) -> None:
    fresh.ingress.consumed(0)
    fresh.actors.command_seconds.labels(entity_type="account").observe(0.1)
    fresh.egress.published("state_change", 3)
    fresh.egress.set_unpublished(0, 7)
    text = generate_latest(fresh.registry).decode()
    exported = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert exported <= fresh.sample_names()
    assert "repertory_actors_command_seconds_bucket" in exported


def test_the_default_metrics_live_on_the_global_registry() -> None:
    from prometheus_client import REGISTRY

    assert metrics.default_metrics.registry is REGISTRY
    assert metrics.journal is metrics.default_metrics.journal
    assert REGISTRY.get_sample_value("repertory_worker_start_time_seconds", {}) is not None


def test_worker_ports_are_the_base_plus_the_slot() -> None:
    assert worker_metrics_port(9400, slot=0) == 9400
    assert worker_metrics_port(9400, slot=3) == 9403
    assert worker_metrics_port(0, slot=3) == 0  # off stays off
    with pytest.raises(ValueError, match="above 65535"):
        worker_metrics_port(65535, slot=1)


def test_the_process_slot_is_used_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_worker_slot", None)
    assert metrics.worker_slot() is None
    assert worker_metrics_port(9400) == 9400
    metrics.set_worker_slot(2)
    assert metrics.worker_slot() == 2
    assert worker_metrics_port(9400) == 9402
    with pytest.raises(ValueError, match="negative"):
        metrics.set_worker_slot(-1)

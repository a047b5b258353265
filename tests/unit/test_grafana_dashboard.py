"""The Grafana dashboard: every query reads a metric the engine really exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from repertory.observability import metrics
from tests.unit.deploy_support import (
    DEPLOY,
    PromQLError,
    dashboard_expressions,
    load_yaml_documents,
    metric_names,
)

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "repertory.json"
ROW_LAYERS = ("Ingress", "Actors", "Journal", "Egress", "End to end")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_the_reference_extractor_reads_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, entity_type) (rate(a_bucket{outcome="x",le!=""}'
        "[$__rate_interval]))) / on (job) group_left (instance) b_total offset 5m"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}
    assert metric_names("sum(x) without (partition) > bool 3") == {"x"}
    with pytest.raises(PromQLError, match="unknown function"):
        metric_names("frobnicate(x)")
    with pytest.raises(PromQLError, match="unbalanced"):
        metric_names("sum(rate(x[5m])")
    with pytest.raises(PromQLError, match="no metric"):
        metric_names("vector(1)")


def test_every_query_names_only_metrics_the_engine_defines(dashboard: dict[str, Any]) -> None:
    known = metrics.default_metrics.sample_names()
    expressions = dashboard_expressions(dashboard)
    assert len(expressions) >= 30
    unknown = {
        name: expr for expr in expressions for name in metric_names(expr) if name not in known
    }
    assert unknown == {}


def test_every_layer_has_a_row_and_every_family_a_panel(dashboard: dict[str, Any]) -> None:
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    for layer in ROW_LAYERS:
        assert any(title.startswith(layer) for title in rows), layer
    read = {name for expr in dashboard_expressions(dashboard) for name in metric_names(expr)}
    for family, kind in metrics.default_metrics.families().items():
        samples = {family + s for s in ("", "_total", "_bucket", "_sum", "_count")}
        assert samples & read, f"{family} ({kind}) is on no panel"


def test_latency_panels_use_histogram_quantile_over_buckets(dashboard: dict[str, Any]) -> None:
    for expr in dashboard_expressions(dashboard):
        if "histogram_quantile" in expr:
            assert "_bucket" in expr and "by (le" in expr, expr


def test_panels_and_the_provisioned_datasource_agree(dashboard: dict[str, Any]) -> None:
    (datasources,) = load_yaml_documents(
        DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    )
    uids = {d["uid"] for d in datasources["datasources"]}
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] in uids, panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_provider_loads_the_directory_compose_mounts() -> None:
    (provider,) = load_yaml_documents(
        DEPLOY / "grafana" / "provisioning" / "dashboards" / "repertory.yml"
    )
    path = provider["providers"][0]["options"]["path"]
    (compose,) = load_yaml_documents(DEPLOY.parent / "docker-compose.yml")
    volumes = compose["services"]["grafana"]["volumes"]
    assert any(v.endswith(":" + path + ":ro") and "grafana/dashboards" in v for v in volumes)

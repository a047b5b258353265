"""A real Prometheus scrapes ``repertory.observability.http`` and answers for its series."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from repertory.observability import metrics
from repertory.observability.http import ObservabilityServer
from tests.ops.conftest import PrometheusServer
from tests.unit.deploy_support import DEPLOY, dashboard_expressions

PARTITION_LAG = 17


def move_every_layer() -> None:
    """Touch each layer's families the way the engine does while it processes commands."""
    metrics.ingress.consumed(0, records=40)
    metrics.ingress.consumed(1, records=2)
    metrics.ingress.set_lag(0, PARTITION_LAG)
    metrics.ingress.set_paused(1, False)
    metrics.ingress.assigned.set(2)
    metrics.ingress.rejected.labels(reason="malformed").inc()
    metrics.ingress.dead_lettered.labels(reason="malformed").inc()
    metrics.ingress.commit_seconds.observe(0.004)
    metrics.actors.activated("ops_account")
    metrics.actors.activated("ops_account")
    metrics.actors.activated("ops_account")
    metrics.actors.passivated("ops_account")
    metrics.actors.stopped("ops_account", "restart_limit")
    metrics.actors.recovered("ops_account", seconds=0.003, events=12)
    metrics.actors.restarts.labels(entity_type="ops_account", reason="handler_error").inc()
    metrics.actors.mailbox_depth.labels(entity_type="ops_account").observe(2)
    metrics.actors.command_seconds.labels(entity_type="ops_account").observe(0.002)
    metrics.actors.group_commit_events.labels(entity_type="ops_account").observe(3)
    metrics.journal.appended("stored", 0.003, events=9)
    metrics.journal.replayed(0.001, events=12)
    metrics.journal.snapshot_saved("stored")
    metrics.journal.snapshot_loaded("absent")
    metrics.journal.noncanonical_rows.inc(0)
    metrics.egress.published("state_change", 9)
    metrics.egress.transaction("committed")
    metrics.egress.publish_seconds.observe(0.006)
    metrics.egress.set_unpublished(0, 0)
    metrics.end_to_end.observe("ops_account", command_timestamp=0.0, now=0.05)


async def wait_for(
    prometheus: PrometheusServer, expr: str, ok: Callable[[list[Any]], bool], within: float = 30
) -> list[Any]:
    """Query ``expr`` until ``ok(result)``; the result list of the last answer."""
    answer: Any = None
    async with asyncio.timeout(within):
        while True:
            answer = await asyncio.to_thread(prometheus.query, expr)
            if answer["status"] == "success" and ok(answer["data"]["result"]):
                result: list[Any] = answer["data"]["result"]
                return result
            await asyncio.sleep(0.5)


async def test_prometheus_scrapes_every_layer_and_runs_every_dashboard_query(
    start_prometheus: Callable[[list[str]], PrometheusServer],
) -> None:
    move_every_layer()
    async with ObservabilityServer("127.0.0.1", 0) as endpoint:
        prometheus = await asyncio.to_thread(start_prometheus, [f"127.0.0.1:{endpoint.port}"])

        up = await wait_for(prometheus, 'up{job="repertory"}', lambda r: bool(r))
        assert up[0]["value"][1] == "1", up

        lag = await wait_for(
            prometheus, 'repertory_ingress_consumer_lag_records{partition="0"}', bool
        )
        assert float(lag[0]["value"][1]) == PARTITION_LAG

        # every family that moved is stored under the name the module defines
        names = await wait_for(
            prometheus,
            'count by (__name__) ({__name__=~"repertory_.+", job="repertory"})',
            lambda r: len(r) >= 30,
        )
        stored = {series["metric"]["__name__"] for series in names}
        defined = metrics.default_metrics.sample_names()
        assert stored <= defined, stored - defined
        for family, kind in metrics.default_metrics.families().items():
            sample = {"counter": "_total", "histogram": "_count"}.get(kind, "")
            assert family + sample in stored, family

        # counters keep moving between scrapes: rate() over them becomes positive
        for _ in range(3):
            metrics.ingress.consumed(0, records=100)
            await asyncio.sleep(1.1)
        rate = await wait_for(
            prometheus,
            'sum(rate(repertory_ingress_records_total{partition="0"}[30s]))',
            lambda r: bool(r) and float(r[0]["value"][1]) > 0,
        )
        assert float(rate[0]["value"][1]) > 0

        # the real server parses and evaluates every dashboard query
        dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "repertory.json").read_text())
        failures = {}
        for expr in dashboard_expressions(dashboard):
            concrete = expr.replace("$__rate_interval", "30s")
            answer = await asyncio.to_thread(prometheus.query, concrete)
            if answer["status"] != "success":
                failures[expr] = answer.get("error")
        assert failures == {}

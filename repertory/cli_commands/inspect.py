"""``repertory inspect skew``: where the data and the load pile up — events per entity and per
journal partition, records and lag per Kafka partition — as terminal histograms or a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repertory.cli_commands._context import echo_json, fail, run_async, settings_of
from repertory.cli_commands._journals import JOURNAL_OPTION, describe, sqlite_path
from repertory.cli_commands._progress import progress
from repertory.cli_commands._skew_scan import SkewTally, cassandra_partitions, sqlite_partitions
from repertory.config import Settings
from repertory.errors import RepertoryError
from repertory.observability._skew_render import (
    PngUnavailable,
    SkewChart,
    chart_from_counts,
    render_chart,
    write_png,
)

__all__ = ["inspect_group"]


@click.group("inspect")
def inspect_group() -> None:
    """Look inside a running system's data.

    \b
    Examples:
      repertory inspect skew --journal bank.sqlite3
      repertory inspect skew --kafka --png skew.png
    """


@inspect_group.command("skew")
@JOURNAL_OPTION
@click.option(
    "--top", type=click.IntRange(1, 500), default=15, show_default=True, help="Bars per ranking."
)
@click.option(
    "--capacity",
    type=click.IntRange(10, 10_000_000),
    default=10_000,
    show_default=True,
    help="Counters for entities when exact counts would be unbounded (Cassandra).",
)
@click.option(
    "--kafka/--no-kafka",
    "with_kafka",
    default=None,
    help="Also count records and lag per commands-topic partition (default: when kafka.enabled).",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw every histogram into this PNG file (needs matplotlib).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of histograms.")
@click.pass_context
def skew(
    ctx: click.Context,
    journal_file: Path | None,
    top: int,
    capacity: int,
    with_kafka: bool | None,
    png: Path | None,
    as_json: bool,
) -> None:
    """Find the hot entities, journal partitions and Kafka partitions.

    Counts every journal row per entity and per journal partition (one scan: SQLite in entity
    order, exact; Cassandra in token order, where entity counts come from a Space-Saving
    summary of --capacity counters: the heaviest are never missed, and each count is an upper
    bound shown with its possible overestimate). With Kafka, the commands topic's records and
    the consumer group's lag per partition. "× the mean" compares the hottest bucket with an
    even spread: 1.0 is no skew.

    \b
    Examples:
      repertory inspect skew --journal bank.sqlite3
      repertory inspect skew --top 30 --png skew.png
      REPERTORY_JOURNAL__BACKEND=cassandra repertory inspect skew --kafka --json
    """
    settings = settings_of(ctx).settings
    kafka = settings.kafka.enabled if with_kafka is None else with_kafka
    tally = SkewTally(
        top=top, capacity=capacity, ordered=sqlite_path(settings, journal_file) is not None
    )
    run_async(_scan(settings, journal_file, tally))
    charts = tally.charts()
    offsets = run_async(_kafka_charts(settings, top)) if kafka else []
    charts += offsets
    if png is not None:
        try:
            write_png(png, charts)
        except PngUnavailable as exc:
            raise fail(str(exc)) from exc
    if as_json:
        echo_json(
            {
                "journal": describe(settings, journal_file),
                **tally.as_dict(),
                "charts": [_chart_dict(c) for c in charts],
                "png": str(png) if png else None,
            }
        )
        return
    click.echo(f"journal: {describe(settings, journal_file)}\n")
    for chart in charts:
        click.echo(render_chart(chart) + "\n")
    if png is not None:
        click.echo(f"wrote {png}")


async def _scan(settings: Settings, journal_file: Path | None, tally: SkewTally) -> None:
    path = sqlite_path(settings, journal_file)
    with progress(desc="scanning journal", unit="partition") as bar:
        if path is not None:
            if not path.is_file():
                raise fail(f"no journal at [{path}]", "give --journal FILE")
            for pid, partition_nr, rows in sqlite_partitions(path):
                tally.add(pid, partition_nr, rows)
                bar.update(1)
        else:
            async for pid, partition_nr, rows in cassandra_partitions(settings.cassandra):
                tally.add(pid, partition_nr, rows)
                bar.update(1)
    tally.finish()


async def _kafka_charts(settings: Settings, top: int) -> list[SkewChart]:
    from repertory.kafka.tools import partition_offsets

    kafka = settings.kafka
    try:
        offsets = await partition_offsets(
            kafka, settings.kafka_security, kafka.commands_topic, kafka.group_id
        )
    except (RepertoryError, OSError, TimeoutError) as exc:
        raise fail(
            f"cannot read offsets of [{kafka.commands_topic}] at [{kafka.bootstrap_servers}]: "
            f"{str(exc) or type(exc).__name__}",
            "is Kafka up (`repertory devstack status`)? or pass --no-kafka",
        ) from exc
    records = {f"{kafka.commands_topic}-{o.partition}": o.records for o in offsets}
    charts = [chart_from_counts("records per commands partition", records, top=top, unit="records")]
    lags = {f"{kafka.commands_topic}-{o.partition}": o.lag for o in offsets if o.lag is not None}
    if lags:
        charts.append(
            chart_from_counts(
                f"lag of group [{kafka.group_id}] per partition",
                {k: float(v) for k, v in lags.items()},
                top=top,
                unit="records",
            )
        )
    return charts


def _chart_dict(chart: SkewChart) -> dict[str, Any]:
    return {
        "title": chart.title,
        "unit": chart.unit,
        "total": chart.total,
        "buckets": chart.buckets,
        "hottest_share": chart.hottest_share,
        "max_over_mean": chart.max_over_mean,
        "bars": [{"label": b.label, "value": b.value, "error": b.error} for b in chart.bars],
    }

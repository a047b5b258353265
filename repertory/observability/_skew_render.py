"""Skew figures and their pictures: bar histograms for the terminal and, with matplotlib, PNG.

A ``SkewChart`` is one ranking (events per entity, per Cassandra partition, records or lag per
Kafka partition): its heaviest bars, the total over everything (not only the bars shown) and,
when known, how many buckets share that total, which gives the hottest bucket's ratio to the
mean. ``render_chart`` draws it with block characters; ``write_png`` draws charts into one PNG.
"""

from __future__ import annotations

import importlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repertory.observability._topk import SpaceSaving

__all__ = [
    "Bar",
    "PngUnavailable",
    "SkewChart",
    "chart_from_counts",
    "chart_from_top",
    "render_chart",
    "write_png",
]

_EIGHTHS = " ▏▎▍▌▋▊▉"
_FULL = "█"


class PngUnavailable(ImportError):
    """A PNG was asked for but matplotlib is not installed (observability imports no
    ``repertory`` module, so this is not a ``RepertoryError``; the CLI reports it as one line)."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One bucket: ``value`` (an upper bound when approximate) and its possible overestimate."""

    label: str
    value: float
    error: float = 0.0


@dataclass(frozen=True, slots=True)
class SkewChart:
    """One ranking, heaviest first.

    Attributes:
        title: what is counted, e.g. ``events per entity``.
        bars: the heaviest buckets, highest value first.
        total: the sum over every bucket, shown or not.
        buckets: how many buckets share ``total``, when known (gives max / mean).
        unit: the counted thing, e.g. ``events`` or ``records``.
    """

    title: str
    bars: tuple[Bar, ...]
    total: float
    buckets: int | None = None
    unit: str = "events"

    @property
    def approximate(self) -> bool:
        return any(bar.error for bar in self.bars)

    @property
    def hottest_share(self) -> float:
        """The heaviest bucket's fraction of the total (0 when empty)."""
        return self.bars[0].value / self.total if self.bars and self.total else 0.0

    @property
    def max_over_mean(self) -> float | None:
        """Heaviest bucket / mean bucket: 1 is perfectly even; None when buckets is unknown."""
        if not self.bars or not self.buckets or not self.total:
            return None
        return self.bars[0].value / (self.total / self.buckets)


def chart_from_counts(
    title: str, counts: Mapping[str, float], *, top: int = 20, unit: str = "events"
) -> SkewChart:
    """An exact chart from every bucket's count (e.g. records per Kafka partition)."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    bars = tuple(Bar(label, value) for label, value in ranked[:top])
    return SkewChart(title, bars, total=sum(counts.values()), buckets=len(counts), unit=unit)


def chart_from_top(
    title: str,
    summary: SpaceSaving[Any],
    *,
    top: int = 20,
    buckets: int | None = None,
    unit: str = "events",
) -> SkewChart:
    """A chart of a ``SpaceSaving`` summary's heaviest items (approximate counts)."""
    bars = tuple(Bar(_label(hit.item), hit.count, hit.error) for hit in summary.top(top))
    return SkewChart(title, bars, total=summary.total, buckets=buckets, unit=unit)


def _label(item: Hashable) -> str:
    if isinstance(item, tuple):
        return "|".join(str(part) for part in item)
    return str(item)


def render_chart(chart: SkewChart, *, width: int = 40, label_width: int = 28) -> str:
    """The chart as terminal lines: a heading, then one bar per bucket scaled to the heaviest."""
    lines = [_heading(chart)]
    if not chart.bars:
        lines.append("  (nothing counted)")
        return "\n".join(lines)
    peak = chart.bars[0].value or 1.0
    number_width = max(len(_number(bar.value)) for bar in chart.bars)
    for bar in chart.bars:
        label = bar.label if len(bar.label) <= label_width else bar.label[: label_width - 1] + "…"
        share = 100 * bar.value / chart.total if chart.total else 0.0
        error = f"  ±{_number(bar.error)}" if bar.error else ""
        lines.append(
            f"  {label:<{label_width}} {_bar(bar.value / peak, width)} "
            f"{_number(bar.value):>{number_width}} {share:5.1f} %{error}"
        )
    if chart.approximate:
        lines.append("  counts are upper bounds; ± is the most each may be over")
    return "\n".join(lines)


def _heading(chart: SkewChart) -> str:
    parts = [f"{_number(chart.total)} {chart.unit} in total"]
    if chart.buckets is not None:
        parts.append(f"{chart.buckets} buckets")
    if chart.bars:
        parts.append(f"hottest {100 * chart.hottest_share:.1f} %")
    ratio = chart.max_over_mean
    if ratio is not None:
        parts.append(f"{ratio:.1f}× the mean")
    return f"{chart.title} — " + ", ".join(parts)


def _bar(fraction: float, width: int) -> str:
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    full, rest = divmod(eighths, 8)
    text = _FULL * full + (_EIGHTHS[rest] if rest else "")
    return f"{text:<{width}}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def write_png(path: Path, charts: Sequence[SkewChart], *, dpi: int = 110) -> Path:
    """Draw each chart as a horizontal bar panel, stacked, into one PNG file.

    Raises:
        PngUnavailable: matplotlib is not installed.
    """
    pyplot = _pyplot()
    rows = max(len(charts), 1)
    height = sum(max(len(c.bars), 1) * 0.28 + 1.2 for c in charts) or 2.0
    figure, axes = pyplot.subplots(rows, 1, figsize=(10, height), squeeze=False)
    try:
        for axis, chart in zip(axes[:, 0], charts, strict=False):
            labels = [bar.label for bar in reversed(chart.bars)]
            values = [bar.value for bar in reversed(chart.bars)]
            errors = [bar.error for bar in reversed(chart.bars)]
            axis.barh(labels, values, xerr=errors if chart.approximate else None, color="#c0504d")
            axis.set_title(_heading(chart), fontsize=9, loc="left")
            axis.set_xlabel(chart.unit)
            axis.tick_params(axis="y", labelsize=7)
        figure.tight_layout()
        figure.savefig(path, dpi=dpi, format="png")
    finally:
        pyplot.close(figure)
    return path


def _pyplot() -> Any:
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError as exc:
        raise PngUnavailable(
            "writing a PNG needs matplotlib (pip install matplotlib); the terminal histogram "
            "needs nothing"
        ) from exc
    matplotlib.use("Agg")  # files only, never a window
    return importlib.import_module("matplotlib.pyplot")

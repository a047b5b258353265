"""The skew profiler's pure core: Space-Saving top-K and the histogram renderers, on known skew."""

from __future__ import annotations

import importlib.util
import random
from collections import Counter
from pathlib import Path

import pytest

from repertory.observability._skew_render import (
    Bar,
    PngUnavailable,
    SkewChart,
    chart_from_counts,
    chart_from_top,
    render_chart,
    write_png,
)
from repertory.observability._topk import SpaceSaving

HOT = {"account|7": 5000, "account|3": 2500, "account|11": 1200}
COLD_ENTITIES = 2000


def skewed_stream(seed: int = 7) -> list[str]:
    """Three hot entities plus 2000 cold ones with 1–3 events each, shuffled."""
    rng = random.Random(seed)
    stream = [entity for entity, n in HOT.items() for _ in range(n)]
    stream += [f"account|c{i}" for i in range(COLD_ENTITIES) for _ in range(rng.randint(1, 3))]
    rng.shuffle(stream)
    return stream


def test_space_saving_finds_the_hot_entities_with_bounded_error() -> None:
    stream = skewed_stream()
    exact = Counter(stream)
    summary: SpaceSaving[str] = SpaceSaving(capacity=50)
    summary.update(stream)
    assert summary.total == len(stream)
    assert len(summary) == 50  # bounded, although 2003 distinct entities went through
    top = summary.top(3)
    assert [hit.item for hit in top] == list(HOT)
    bound = len(stream) / 50
    for hit in summary.top():
        true = exact[hit.item]
        assert hit.lower_bound <= true <= hit.count
        assert hit.error <= bound
    assert summary.max_error <= bound


def test_space_saving_is_exact_while_everything_fits() -> None:
    summary: SpaceSaving[str] = SpaceSaving(capacity=10)
    for item, weight in (("a", 5), ("b", 2), ("a", 1), ("c", 9)):
        summary.add(item, weight)
    assert [(h.item, h.count, h.error) for h in summary.top()] == [
        ("c", 9, 0),
        ("a", 6, 0),
        ("b", 2, 0),
    ]
    assert summary.max_error == 0 and "a" in summary and "z" not in summary


def test_space_saving_replaces_the_minimum_and_carries_its_count_as_error() -> None:
    summary: SpaceSaving[str] = SpaceSaving(capacity=2)
    summary.add("a", 5)
    summary.add("b", 2)
    summary.add("c")  # evicts b (2): c = 3 with error 2
    assert "b" not in summary
    (first, second) = summary.top()
    assert (first.item, first.count, first.error) == ("a", 5, 0)
    assert (second.item, second.count, second.error, second.lower_bound) == ("c", 3, 2, 1)


def test_space_saving_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="capacity"):
        SpaceSaving(0)
    with pytest.raises(ValueError, match="weight"):
        SpaceSaving[str](3).add("a", 0)


def test_space_saving_stays_small_on_a_long_stream() -> None:
    summary: SpaceSaving[int] = SpaceSaving(capacity=8)
    for i in range(50_000):
        summary.add(i % 1000 if i % 3 else 0)
    assert len(summary._heap) <= 4 * 16 + 1  # stale heap entries are compacted away
    assert summary.top(1)[0].item == 0


def test_terminal_histogram_of_a_known_skew() -> None:
    counts = {"p0": 800.0, "p1": 100.0, "p2": 50.0, "p3": 50.0}
    chart = chart_from_counts("records per Kafka partition", counts, unit="records")
    assert chart.hottest_share == 0.8
    assert chart.max_over_mean == pytest.approx(3.2)
    text = render_chart(chart, width=20)
    lines = text.splitlines()
    assert lines[0] == (
        "records per Kafka partition — 1,000 records in total, 4 buckets, "
        "hottest 80.0 %, 3.2× the mean"
    )
    assert lines[1].split()[0] == "p0" and "█" * 20 in lines[1] and "80.0 %" in lines[1]
    assert "█" * 2 + "▌" in lines[2]  # 100/800 of 20 columns = 2.5
    assert len(lines) == 5


def test_terminal_histogram_of_an_approximate_top_k() -> None:
    summary: SpaceSaving[tuple[str, str]] = SpaceSaving(capacity=2)
    for key, weight in ((("account", "1"), 9), (("account", "2"), 4), (("account", "3"), 1)):
        summary.add(key, weight)
    chart = chart_from_top("events per entity", summary, top=5)
    text = render_chart(chart)
    assert "account|1" in text.splitlines()[1]
    assert "±4" in text and "upper bounds" in text
    assert chart.max_over_mean is None  # buckets unknown for a sketch


def test_an_empty_chart_says_so() -> None:
    text = render_chart(SkewChart("events per entity", (), total=0))
    assert "nothing counted" in text


def test_png_is_written_or_the_missing_library_is_named(tmp_path: Path) -> None:
    charts = [
        chart_from_counts("events per Cassandra partition", {"a|0": 10.0, "b|0": 3.0}),
        SkewChart("events per entity", (Bar("a", 10, 1), Bar("b", 3)), total=13),
    ]
    target = tmp_path / "skew.png"
    if importlib.util.find_spec("matplotlib") is None:
        with pytest.raises(PngUnavailable, match="matplotlib"):
            write_png(target, charts)
        assert not target.exists()
    else:
        assert write_png(target, charts) == target
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert target.stat().st_size > 2000

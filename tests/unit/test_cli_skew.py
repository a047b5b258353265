"""``repertory inspect skew`` on a SQLite journal with a known skew: figures and PNG."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cli_support import COLD, HOT, WARM, bank_journal, invoke, stdout_json

from repertory.cli_commands._skew_scan import SkewTally


def test_skew_ranks_the_hot_entities_exactly(tmp_path: Path) -> None:
    journal = str(bank_journal(tmp_path / "bank.sqlite3"))
    result = invoke("inspect", "skew", "--journal", journal, "--json", "--no-kafka", "--top", "3")
    assert result.exit_code == 0, result.output
    report = stdout_json(result)
    total = (1 + HOT + 1) + (1 + WARM) + 10 * (1 + COLD)
    assert (report["events"], report["entities"], report["exact"]) == (total, 12, True)
    entities = report["charts"][0]
    bars = [(b["label"], b["value"]) for b in entities["bars"]]
    assert bars[:2] == [("account|acct-hot", HOT + 2), ("account|acct-warm", WARM + 1)]
    assert bars[2][0].startswith("account|acct-c") and bars[2][1] == COLD + 1  # a tie of ten
    assert entities["max_over_mean"] == pytest.approx((HOT + 2) / (total / 12))
    assert report["charts"][1]["bars"][0]["label"] == "account|acct-hot#0"


def test_skew_draws_histograms_and_a_png(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed")
    journal = str(bank_journal(tmp_path / "bank.sqlite3"))
    png = tmp_path / "skew.png"
    result = invoke("inspect", "skew", "--journal", journal, "--no-kafka", "--png", str(png))
    assert result.exit_code == 0, result.output
    assert "events per entity — " in result.stdout and "account|acct-hot" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unordered_scan_falls_back_to_space_saving() -> None:
    tally = SkewTally(top=2, capacity=3, ordered=False)
    for partition in range(3):  # a hot entity's partitions arrive scattered among cold ones
        tally.add("account|hot", partition, 100)
        for cold in range(5):
            tally.add(f"account|c{partition}-{cold}", 0, 1)
    tally.finish()
    chart = tally.charts()[0]
    assert chart.bars[0].label == "account|hot" and chart.bars[0].value >= 300
    assert chart.bars[0].value - chart.bars[0].error <= 300
    assert tally.as_dict() == {"events": 315, "entities": 16, "partitions": 18, "exact": False}


def test_skew_without_a_journal_says_what_to_do(tmp_path: Path) -> None:
    result = invoke("inspect", "skew", "--journal", str(tmp_path / "none"), "--no-kafka")
    assert result.exit_code == 1 and "give --journal FILE" in result.output

"""The engine's hold on the garbage collector: tuned while held, given back as found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from repertory._engine_collector import MIDDLE_EVERY, OLDEST_EVERY, tuned_collector
from repertory.config import JournalSettings, ProcessSettings, Settings
from repertory.engine import Engine
from tests.integration.engine_domain import LEDGER, REGISTRY, Deposit


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if frozen:
        gc.freeze()


def test_held_collector_is_tuned_and_given_back() -> None:
    with tuned_collector(123_456):
        assert gc.get_threshold() == (123_456, MIDDLE_EVERY, OLDEST_EVERY)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_holds_nest_and_the_last_gives_back() -> None:
    with tuned_collector(50_000):
        with tuned_collector(99_999):  # a second engine in the process changes nothing
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)


def test_a_freeze_made_before_the_hold_stays() -> None:
    gc.freeze()
    before = gc.get_freeze_count()
    with tuned_collector(10_000):
        pass
    assert gc.get_freeze_count() >= before > 0


async def test_an_engine_holds_the_collector_only_when_tuned(tmp_path: Path) -> None:
    journal = JournalSettings(backend="sqlite", sqlite_path=tmp_path / "j.sqlite3")
    tuned = Settings(journal=journal, process=ProcessSettings(gc_young_threshold=77_777))
    async with Engine(tuned, [LEDGER], registry=REGISTRY) as engine:
        assert await engine.ask("ledger", "a", Deposit(amount=3)) == 3
        assert gc.get_threshold() == (77_777, MIDDLE_EVERY, OLDEST_EVERY)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
    untouched = Settings(journal=journal, process=ProcessSettings(gc="untouched"))
    async with Engine(untouched, [LEDGER], registry=REGISTRY):
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0


def test_a_bad_threshold_fails_with_its_name() -> None:
    with pytest.raises(ValueError, match="gc_young_threshold"):
        ProcessSettings(gc_young_threshold=10)

"""Scenarios 5–7: duplicates and redelivered batches on a hot entity, fuzzed poison records,
and a handler that keeps raising for one entity — all under load."""

from __future__ import annotations

import asyncio
import time

from repertory.testing.chaos._domain import Deposit, Jam
from repertory.testing.chaos._kafka_io import committed_lag
from repertory.testing.chaos._poison import fuzz
from repertory.testing.chaos._result import ScenarioResult, StackControl
from repertory.testing.chaos._run import ChaosRun, RunFailed
from repertory.testing.chaos._scenarios_faults import under_load
from repertory.testing.chaos._settings import ChaosSettings

__all__ = ["duplicates_hot_entity", "jammed_entity", "poison_records"]

HOT = "hot"
_WINDOW_SHARE = 400  # hot commands per gap: all three sends within the 1000-id window
JAMMED = "jammed"


async def duplicates_hot_entity(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 5: commands produced three times, ``duplicate_gap`` apart (inside the id
    window), while half the load goes to one hot entity whose batches are redelivered after a
    worker dies between its journal write and its commit."""

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        rng = run.rng
        copies = [run.envelope(rng.choice([HOT, "0", "1"]), Deposit(amount=1)) for _ in range(30)]
        await run.send(copies)
        # inside the window: the three sends come within the default 1000 ids (the entity's
        # dedupe_window_count), or the id is rightly forgotten
        for round_ in (2, 3):
            await _apart(run, settings.duplicate_gap)
            await run.send(copies)
            faults.append(f"{len(copies)} commands produced again (send {round_} of 3)")
            if round_ == 2:
                await run.fleet.kill(0)
                await run.start_worker(0, f"after_journal:{rng.randint(5, 30)}")
                faults.append("worker 0 armed to die after a journal write")
        code = await run.fleet.wait_exit(0, within=15.0)
        faults.append(f"worker 0 died after a journal write (exit {code})")
        await run.fleet.kill(0)
        await run.start_worker(0)

    return await under_load(settings, "duplicates_hot", 2, inject, hot=HOT)


async def _apart(run: ChaosRun, gap: float) -> None:
    """Wait ``gap`` seconds, or less once ``_WINDOW_SHARE`` commands went to the hot entity."""

    def hot_sent() -> int:
        return sum(1 for c in run.sent if c.persistence_id == f"account|{HOT}")

    base, deadline = hot_sent(), time.monotonic() + gap
    while time.monotonic() < deadline and hot_sent() - base < _WINDOW_SHARE:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def poison_records(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 6: ``poison_records`` fuzzed records mixed into the load: each dead-lettered
    with a reason, every valid command applied, nothing journaled for poison, lag back to 0."""
    started = time.monotonic()
    async with ChaosRun(settings, "poison") as run:
        for slot in range(2):
            await run.start_worker(slot)
        await run.fleet.wait_owned(settings.partitions)
        records = fuzz(run.rng, settings.poison_records, settings.partitions)
        chunk = max(1, len(records) // 20)

        async def mix() -> None:
            for i in range(0, len(records), chunk):
                run.poison.extend(await run.producer.send_raw(records[i : i + chunk]))
                await asyncio.sleep(settings.load_seconds / 25)

        await asyncio.gather(mix(), run.load())
        report = await run.verdict()
        await _no_poison_journaled(run)
        await _lag_drains(run)
        faults = [f"{len(records)} poison records: {dict(report.dead_letters)}"]
        return ScenarioResult("poison", report, len(run.sent), time.monotonic() - started, faults)


async def _no_poison_journaled(run: ChaosRun) -> None:
    poison = set(run.poison)
    rows = await run.rows.rows(run.keyspace)
    journaled = [r for r in rows if r.source in poison or r.command_id.startswith("poison-")]
    if journaled:
        raise RunFailed(f"[poison] {len(journaled)} rows journaled for poison: {journaled[:3]}")


async def _lag_drains(run: ChaosRun, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    s = run.settings
    while True:
        lag = await committed_lag(
            s.kafka_bootstrap, run.group, run.topics["commands"], s.partitions
        )
        if lag == 0:
            return
        if time.monotonic() > deadline:
            raise RunFailed(f"[{run.name}] consumer lag still {lag} after {within} s")
        await asyncio.sleep(0.5)


async def jammed_entity(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 7: ``Jam`` makes one entity's handler raise every time: restarted with backoff,
    then stopped, each of its commands dead-lettered with the reason; the others progress."""
    jams: list[str] = []

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        for _ in range(5):
            await asyncio.sleep(run.rng.uniform(0.5, 1.5))
            envelope = run.envelope(JAMMED, Jam())
            await run.send([envelope], valid=False)
            jams.append(envelope.command_id)
        faults.append(f"{len(jams)} commands that make the handler raise")
        await asyncio.sleep(2.0)

    result = await under_load(settings, "jammed_entity", 2, inject)
    letters = result.report.dead_letters
    if letters.get("entity_stopped", 0) < len(jams):
        raise RunFailed(f"[jammed_entity] {len(jams)} jams, dead letters {dict(letters)}")
    return result

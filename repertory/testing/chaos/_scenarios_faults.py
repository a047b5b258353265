"""Scenarios 1–4: workers killed (at random and at fault points), Cassandra frozen and
restarted, the Kafka broker restarted, and rebalances with a zombie — all under load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from repertory.testing.chaos._result import ScenarioResult, StackControl, restored
from repertory.testing.chaos._run import ChaosRun
from repertory.testing.chaos._settings import ChaosSettings

__all__ = [
    "cassandra_pause",
    "cassandra_restart",
    "kafka_restart",
    "rebalance_zombie",
    "under_load",
    "worker_kills",
]

Faults = Callable[[ChaosRun, list[str]], Awaitable[None]]


async def under_load(
    settings: ChaosSettings, name: str, workers: int, inject: Faults, hot: str | None = None
) -> ScenarioResult:
    """Start ``workers``, run the load while ``inject`` runs (at least ``load_seconds``, and
    until ``inject`` returns; half of it to ``hot`` if given), then judge the run."""
    started = time.monotonic()
    faults: list[str] = []
    async with ChaosRun(settings, name) as run:
        for slot in range(workers):
            await run.start_worker(slot)
        await run.fleet.wait_owned(settings.partitions)
        done = asyncio.Event()

        async def faults_then_done() -> None:
            try:
                await inject(run, faults)
            finally:
                done.set()

        async with asyncio.TaskGroup() as group:
            group.create_task(faults_then_done())
            group.create_task(run.load(until=done, hot=hot, hot_share=0.5))
        report = await run.verdict()
        return ScenarioResult(name, report, len(run.sent), time.monotonic() - started, faults)


async def _kill_and_restart(run: ChaosRun, slot: int, fault: str | None = None) -> None:
    await run.fleet.kill(slot)
    await run.start_worker(slot, fault)


async def worker_kills(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 1: SIGKILL at random times, then at each fault point of the command path."""

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        rng = run.rng
        for _ in range(2):
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            slot = rng.randrange(2)
            await _kill_and_restart(run, slot)
            faults.append(f"SIGKILL worker {slot} at random")
        hits = {"after_consume": rng.randint(20, 120), "after_journal": rng.randint(10, 60)}
        hits["after_commit"] = rng.randint(2, 8)
        for point, hit in hits.items():
            slot = rng.randrange(2)
            await _kill_and_restart(run, slot, f"{point}:{hit}")
            code = await run.fleet.wait_exit(slot, within=20.0)
            faults.append(f"SIGKILL worker {slot} at {point}:{hit} (exit {code})")
            if code is None:
                await run.fleet.kill(slot)
            await run.start_worker(slot)

    return await under_load(settings, "worker_kills", 2, inject)


async def cassandra_pause(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 2a: Cassandra frozen (SIGSTOP) under load, then let go (SIGCONT)."""

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        await asyncio.sleep(2.0)
        try:
            await asyncio.to_thread(stack.pause, "cassandra")
            faults.append(f"Cassandra SIGSTOP for {settings.cassandra_pause:.0f} s")
            await asyncio.sleep(settings.cassandra_pause)
        finally:
            await asyncio.to_thread(stack.resume, "cassandra")
        await asyncio.sleep(3.0)

    return await _healed(stack, under_load(settings, "cassandra_pause", 2, inject))


async def cassandra_restart(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 2b: Cassandra stopped and started again under load."""

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        await asyncio.sleep(2.0)
        try:
            outcome = await asyncio.to_thread(stack.stop, "cassandra")
            faults.append(f"Cassandra stopped ({outcome})")
            await asyncio.sleep(1.0)
        finally:
            await restored(stack)
        faults.append("Cassandra started")
        await asyncio.sleep(3.0)

    return await _healed(stack, under_load(settings, "cassandra_restart", 2, inject))


async def kafka_restart(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 3: the Kafka broker stopped and started again under load."""

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        await asyncio.sleep(2.0)
        try:
            outcome = await asyncio.to_thread(stack.stop, "kafka")
            faults.append(f"Kafka stopped ({outcome})")
        finally:
            await restored(stack)
        faults.append("Kafka started")
        await asyncio.sleep(3.0)

    return await _healed(stack, under_load(settings, "kafka_restart", 2, inject))


async def rebalance_zombie(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 4: 1 → 2 → 1 workers; a zombie frozen past its session timeout; a worker frozen
    right after its epoch claim, before its proof."""
    freeze = settings.zombie_pause
    parts = settings.partitions

    async def inject(run: ChaosRun, faults: list[str]) -> None:
        fleet = run.fleet
        await asyncio.sleep(1.5)
        await run.start_worker(1)
        await fleet.wait_owned(parts)
        faults.append("rebalance 1 -> 2 workers")
        await asyncio.sleep(1.0)
        fleet.freeze(1)
        await asyncio.sleep(freeze)
        fleet.thaw(1)
        faults.append(f"zombie: worker 1 SIGSTOP {freeze:.0f} s, then SIGCONT")
        await fleet.wait_owned(parts)
        await fleet.stop(1)
        await run.start_worker(1, "freeze_after_claim:1")
        if await fleet.wait_frozen(1, within=20.0):
            await asyncio.sleep(freeze)
            faults.append(f"worker 1 frozen {freeze:.0f} s after its epoch claim")
        fleet.thaw(1)
        await fleet.wait_owned(parts)
        await asyncio.sleep(1.0)
        await fleet.stop(0)
        faults.append("rebalance 2 -> 1 workers")
        await fleet.wait_owned(parts)

    return await under_load(settings, "rebalance_zombie", 1, inject)


async def _healed(stack: StackControl, scenario: Awaitable[ScenarioResult]) -> ScenarioResult:
    """Run ``scenario``; whatever happens, leave both servers serving."""
    try:
        return await scenario
    finally:
        await restored(stack)

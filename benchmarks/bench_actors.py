"""Entity runtime throughput, activation rate and idle memory, beside a bare asyncio baseline.

Run: ``.venv/bin/python benchmarks/bench_actors.py [--entities 10000] [--commands 100000]``.
The baseline does the same dispatch with a plain queue and one task per entity: the ratio
runtime/baseline is what the runtime's mailbox, group commit and batcher cost. Its asks time out
the way ``ActorRef.ask`` does, with one loop timer (``asyncio.wait_for`` would add a task per ask
on Python 3.11 and flatter the runtime). The bare baseline runs no entity handlers, so the
runtime's figures include the cost of ``on_command``/``on_event`` building effects and states;
the second baseline ("+handlers") runs the same handlers in the same loop, so its ratio is the
runtime's own cost alone.

Each measured run starts after a full garbage collection, so that no run pays for scanning the
garbage the run before it left (a runtime and its store, or the baseline's queues and tasks).
``--clock cpu`` times the runs in this process's CPU seconds rather than wall-clock seconds:
every case here is CPU-bound (the store is in memory), and on a machine shared with other work
the wall clock also counts the time this process waits for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from repertory.actors import Effect, EntityRuntime, EntityType
from repertory.config import EntitySettings
from repertory.testing.entity_store import MemoryEventStore


@dataclass(frozen=True, slots=True)
class Bump:
    persist: bool


@dataclass(frozen=True, slots=True)
class Bumped:
    pass


def on_command(state: int, command: Bump) -> Effect[int, Bumped]:
    if command.persist:
        return Effect.persist(Bumped()).then_reply(lambda s: s)
    return Effect.none().then_reply(lambda s: s)


COUNTER: EntityType[int, Bump, Bumped] = EntityType(
    name="counter", empty_state=0, on_command=on_command, on_event=lambda s, e: s + 1
)


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
clock = time.perf_counter
"""Times every rate (``--clock``)."""


async def runtime_run(entities: int, commands: int, persist: bool, ask: bool) -> float:
    settings = EntitySettings(mailbox_size=1024, max_active_entities=1_000_000)
    async with EntityRuntime(MemoryEventStore(), [COUNTER], settings=settings) as runtime:
        refs = [runtime.ref(COUNTER, str(i)) for i in range(entities)]
        for ref in refs:  # activate first: measure steady dispatch
            await ref.ask(Bump(False), timeout=60)
        command = Bump(persist)
        start = clock()
        if ask:
            await _asks(lambda i: refs[i % entities].ask(command, timeout=60), commands)
        else:
            for i in range(commands):
                await refs[i % entities].tell(command)
            await asyncio.gather(*(ref.ask(Bump(False), timeout=60) for ref in refs))
        return commands / (clock() - start)


async def _asks(one: Callable[[int], Awaitable[Any]], commands: int) -> None:
    window = 1000  # asks in flight at once, as many clients would keep
    for base in range(0, commands, window):
        await asyncio.gather(*(one(i) for i in range(base, min(base + window, commands))))


async def baseline_run(
    entities: int, commands: int, persist: bool, ask: bool, handlers: bool = False
) -> float:
    """One bounded queue and one task per entity; persisting = appending to a list.

    With ``handlers`` each command goes through ``on_command``, its events through
    ``on_event`` and the reply through the effect's ``reply``, as the runtime does.
    """
    journal: list[object] = []
    queues = [asyncio.Queue[tuple[Bump, asyncio.Future[int] | None]](1024) for _ in range(entities)]
    states = [0] * entities

    async def bare(i: int) -> None:
        queue = queues[i]
        while True:
            command, future = await queue.get()
            if command.persist:
                journal.append(Bumped())
                states[i] += 1
            if future is not None:
                future.set_result(states[i])

    async def with_handlers(i: int) -> None:
        queue = queues[i]
        on_command, on_event = COUNTER.on_command, COUNTER.on_event
        while True:
            command, future = await queue.get()
            effect = on_command(states[i], command)
            state = states[i]
            for event in effect.events:
                state = on_event(state, event)
            journal.extend(effect.events)
            states[i] = state
            if future is not None and effect.reply is not None:
                future.set_result(effect.reply(state))

    worker = with_handlers if handlers else bare

    loop = asyncio.get_running_loop()
    tasks = [asyncio.create_task(worker(i)) for i in range(entities)]
    command = Bump(persist)

    async def one_ask(i: int) -> int:
        future: asyncio.Future[int] = loop.create_future()
        timer = loop.call_later(60, future.cancel)
        try:
            await queues[i % entities].put((command, future))
            return await future
        finally:
            timer.cancel()

    start = clock()
    if ask:
        await _asks(one_ask, commands)
    else:
        for i in range(commands):
            await queues[i % entities].put((command, None))
        await asyncio.gather(*(one_ask(i) for i in range(entities)))
    elapsed = clock() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return commands / elapsed


async def activations(count: int, known_empty: bool) -> float:
    settings = EntitySettings(max_active_entities=1_000_000)
    store = MemoryEventStore(known_empty=known_empty)
    async with EntityRuntime(store, [COUNTER], settings=settings) as runtime:
        start = clock()
        await _asks(lambda i: runtime.ref(COUNTER, str(i)).ask(Bump(False), timeout=60), count)
        return count / (clock() - start)


async def idle_memory(count: int) -> float:
    # nothing may passivate while a million entities are being created
    settings = EntitySettings(max_active_entities=count, passivation_timeout=86_400)
    async with EntityRuntime(MemoryEventStore(), [COUNTER], settings=settings) as runtime:
        ids = [str(i) for i in range(count)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for base in range(0, count, 1000):
            await asyncio.gather(
                *(runtime.ref(COUNTER, i).tell(Bump(False)) for i in ids[base : base + 1000])
            )
            await asyncio.sleep(0)
        while runtime.statistics()["busy"]:  # noqa: ASYNC110 -- the last recoveries settle
            await asyncio.sleep(0.01)
        assert runtime.statistics()["active"] == count
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / count


def measure(make: Callable[[], Awaitable[float]]) -> float:
    """One run in a fresh event loop, after a full collection (see the module doc)."""
    gc.collect()
    return asyncio.run(make())  # type: ignore[arg-type]


def median(runs: int, make: Callable[[], Awaitable[float]]) -> float:
    return statistics.median(measure(make) for _ in range(runs))


def interleaved(runs: int, *makes: Callable[[], Awaitable[float]]) -> list[float]:
    """The median of each measurement, run in turns so that load from elsewhere on the
    machine falls on all of them alike."""
    rates: list[list[float]] = [[] for _ in makes]
    for _ in range(runs):
        for make, kept in zip(makes, rates, strict=True):
            kept.append(measure(make))
    return [statistics.median(kept) for kept in rates]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=int, default=100_000)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    print(
        f"settings: entities={args.entities} commands={args.commands} runs={args.runs} "
        f"(medians, runs interleaved), clock={args.clock}, mailbox=1024, ask window=1000, "
        "in-memory store"
    )
    print(
        f"{'case':44} {'runtime/s':>10} {'bare/s':>10} {'ratio':>6} "
        f"{'+handlers/s':>12} {'ratio':>6}"
    )
    for entities in (args.entities, 1):
        for persist in (False, True):
            for ask in (False, True):
                name = (
                    f"{'asks' if ask else 'tells'} {'persist 1 event' if persist else 'no events'}"
                    f" on {'hot entity' if entities == 1 else f'{entities} entities'}"
                )
                ours, base, full = interleaved(
                    args.runs,
                    lambda e=entities, p=persist, a=ask: runtime_run(e, args.commands, p, a),
                    lambda e=entities, p=persist, a=ask: baseline_run(e, args.commands, p, a),
                    lambda e=entities, p=persist, a=ask: baseline_run(
                        e, args.commands, p, a, handlers=True
                    ),
                )
                print(
                    f"{name:44} {ours:10,.0f} {base:10,.0f} {ours / base:6.2f} "
                    f"{full:12,.0f} {ours / full:6.2f}"
                )
    for known in (True, False):
        rate = median(args.runs, lambda k=known: activations(args.commands, k))
        how = "store reports empty, no task" if known else "load_snapshot + replay in a task"
        print(f"activations of entities with empty journals ({how}): {rate:,.0f}/s")
    per = asyncio.run(idle_memory(args.idle))
    print(
        f"memory per idle active entity at {args.idle:,}: {per:,.0f} bytes "
        "(tracemalloc traced-memory difference / count, entity ids included)"
    )


if __name__ == "__main__":
    main()

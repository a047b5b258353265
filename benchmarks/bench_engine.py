"""The engine against a raw loop doing the same work without actors, per journal mode.

One run, one process, the dev stack's servers (``repertory devstack up``), fresh topics and
keyspaces (dropped afterwards). ``--mode fenced`` (the default) measures the Kafka pair:

- throughput: N commands over E entities are produced first; then (a) a raw loop — consume →
  plain inserts in multi-entity unlogged batches of 100 rows → the state changes and the
  offsets in one transaction per input partition batch, each command's work done by hand with
  the same output as repertory's (``_raw_loop``) — and (b) repertory in fenced mode
  each drain them; commands/s = N / (time until the last state change is read), and the
  process's CPU per command (the system and its drivers; the reader runs in a process of its
  own, so that it takes no CPU from the system it measures).
- latency: commands offered at a fixed rate (default 50% of repertory's measured maximum),
  command produced → state change read, for repertory and for the raw loop run strictly one
  step after another (consume → write → transaction, one batch at a time). The client that
  produces and reads runs in a process of its own (``_offered_load``).

``--mode conditional`` measures the same pair with a conditional Cassandra journal, which runs
without Kafka (``_raw_conditional``): commands are offered in process (at most ``--in-flight``
unanswered) to repertory's embedded engine (``ask``) and to a raw loop sending one conditional
batch per entity per round, over ``--partitions`` lanes; commands/s = N / time until the last
is answered (start-up excluded); latency = offered → answered (event stored), repertory vs the
raw loop on one lane. ``--mode both`` runs the fenced pair, then the conditional one.

Usage: ``.venv/bin/python benchmarks/bench_engine.py [--mode fenced|conditional|both]
[--entities 10000] [--commands 200000] [--partitions 8] [--latency-seconds 10] [--rate R]
[--in-flight 5000] [--metrics on|off] [--zipf 1.1] [--skip-throughput] [--gc-young N]
[--default-gc]``. Defaults are small for a quick run; ``--zipf S`` sends the commands to
Zipf(S)-skewed entities (hot keys, where group commit pays) instead of round robin
(``_workload``). ``--metrics on`` runs repertory with its metrics endpoint on (every layer
records); ``--metrics compare --repeat N`` measures only the fenced engine's throughput, N times
with metrics off and N times on, interleaved (off/on, then on/off, ...), and prints both
medians. ``--skip-throughput --rate R`` runs only the fenced latency pair at R commands/s (a
quicker loop while working on latency). ``--warm-latency`` first offers one unmeasured command
per entity and measures once their state changes are all read (entities active, as in a service
that has been running), for both systems. Both systems run under the engine's collector policy
(``process.gc``, held over the whole process): ``--gc-young N`` changes its young-generation
threshold, ``--default-gc`` keeps CPython's collector for both. Every run prints its settings
and the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import statistics
import uuid
from collections.abc import Awaitable
from typing import Any

from _deposits import ACCOUNT, DEPOSIT, REGISTRY
from _measure import Drained, latency, throughput
from _raw_conditional import conditional_pair
from _raw_loop import RawLoop
from _stack import Stack
from _workload import Workload

from repertory.config import (
    CassandraSettings,
    EntitySettings,
    JournalSettings,
    KafkaSettings,
    ObservabilitySettings,
    ProcessSettings,
    Settings,
    load_settings,
)
from repertory.engine import Engine, tuned_collector
from repertory.persistence.cassandra_session import CassandraSession

# -- repertory, measured against the raw loops (``_raw_loop``, ``_raw_conditional``) ------------


PROCESS = ProcessSettings()
"""The engines' ``process`` settings; ``--default-gc`` and ``--gc-young`` change them."""


def engine_settings(
    stack: Stack, topics: dict[str, str], keyspace: str, metrics_port: int = 0
) -> Settings:
    base = load_settings()
    ident = uuid.uuid4().hex[:8]
    return Settings(
        kafka=KafkaSettings(
            enabled=True,
            bootstrap_servers=stack.bootstrap,
            commands_topic=topics["commands"],
            state_changes_topic=topics["changes"],
            dead_letters_topic=topics["dead"],
            replies_topic=topics["replies"],
            group_id=f"bench-{ident}",
            transactional_id_prefix=f"bench-{ident}",
        ),
        journal=JournalSettings(backend="cassandra", mode="fenced"),
        cassandra=CassandraSettings(port=base.devstack.port("cassandra"), keyspace=keyspace),
        entities=EntitySettings(passivation_timeout=3600),
        observability=ObservabilitySettings(metrics_port=metrics_port),
        process=PROCESS,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EngineSystem:
    """repertory; ``metrics`` turns its metrics endpoint (and so every layer's recording) on."""

    def __init__(
        self, stack: Stack, topics: dict[str, str], keyspace: str, metrics: bool = False
    ) -> None:
        self.settings = engine_settings(stack, topics, keyspace, free_port() if metrics else 0)
        self.partitions = stack.partitions
        self.ready = asyncio.Event()
        """Set once every partition is owned (ownership proven): latency is measured after."""

    async def run(self, stop: asyncio.Event) -> None:
        async with Engine(self.settings, [ACCOUNT], registry=REGISTRY) as engine:
            while engine.statistics().get("kafka_owned", 0) < self.partitions:
                if stop.is_set():
                    return
                await asyncio.sleep(0.05)
            self.ready.set()
            await stop.wait()


class EmbeddedSystem:
    """repertory embedded (no Kafka) on a conditional Cassandra journal, fed by ``ask``."""

    def __init__(self, keyspace: str, metrics: bool = False) -> None:
        self.settings = Settings(
            journal=JournalSettings(backend="cassandra", mode="conditional"),
            cassandra=CassandraSettings(
                port=load_settings().devstack.port("cassandra"), keyspace=keyspace
            ),
            entities=EntitySettings(passivation_timeout=3600),
            observability=ObservabilitySettings(metrics_port=free_port() if metrics else 0),
            process=PROCESS,
        )
        self.ready = asyncio.Event()
        self.engine: Engine | None = None

    async def run(self, stop: asyncio.Event) -> None:
        async with Engine(self.settings, [ACCOUNT], registry=REGISTRY) as engine:
            self.engine = engine
            self.ready.set()
            await stop.wait()

    def submit(self, entity: int) -> Awaitable[Any]:
        assert self.engine is not None
        return self.engine.ask("acct", str(entity), DEPOSIT, timeout=600)


# -- the run -------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    """Both systems run under one collector policy: the engine's own (``process.gc``, tuned by
    default), held over the whole process so the raw loop gets it too."""
    tuned = PROCESS.gc == "tuned"
    with tuned_collector(PROCESS.gc_young_threshold) if tuned else contextlib.nullcontext():
        await run(args)


async def run(args: argparse.Namespace) -> None:
    base = load_settings()
    cassandra = CassandraSession(
        CassandraSettings(port=base.devstack.port("cassandra"), keyspace="system")
    )
    await cassandra.connect()
    stack = Stack(f"127.0.0.1:{base.devstack.port('kafka')}", cassandra, args.partitions, [], [])
    workload = Workload(args.entities, args.zipf)
    print(
        f"mode={args.mode} entities={args.entities} commands={args.commands} "
        f"partitions={args.partitions} workload {workload.describe()} (hottest entity "
        f"{workload.hottest_share():.2%}) metrics={args.metrics} "
        f"gc={PROCESS.gc} young-threshold={PROCESS.gc_young_threshold} "
        f"latency-seconds={args.latency_seconds} "
        f"rate={args.rate or '50% of max'} in-flight={args.in_flight} (conditional) "
        f"load average {load()}"
    )
    try:
        on = args.metrics == "on"
        if args.metrics == "compare":
            await compare_metrics(stack, args, workload)
        elif args.mode != "conditional":
            await fenced_pair(stack, args, workload)
        if args.metrics != "compare" and args.mode != "fenced":
            await conditional_pair(stack, args, workload, lambda k: EmbeddedSystem(k, on))
    finally:
        await stack.cleanup()
        await cassandra.aclose()
    print(f"load average at the end {load()}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def fenced_pair(stack: Stack, args: argparse.Namespace, workload: Workload) -> None:
    """The Kafka pair: the raw loop and repertory on a fenced journal."""
    metrics = args.metrics == "on"

    def engine_system(s: Stack, t: dict[str, str], k: str) -> EngineSystem:
        return EngineSystem(s, t, k, metrics)

    print("mode fenced (Kafka intake and egress; plain batched inserts under writer epochs)")
    if args.skip_throughput:
        rate = args.rate
    else:
        raw = await throughput(
            stack, lambda s, t, k: RawLoop(s, t, k, False), args.commands, workload
        )
        ours = await throughput(stack, engine_system, args.commands, workload)
        print(
            f"throughput raw loop       {raw.rate:9.0f} commands/s"
            f"  {raw.cpu_us:6.1f} µs CPU/command"
        )
        print(
            f"throughput repertory      {ours.rate:9.0f} commands/s"
            f"  {ours.cpu_us:6.1f} µs CPU/command   ratio {ours.rate / raw.rate:.2f}"
        )
        rate = args.rate or ours.rate * 0.5
    warm = args.warm_latency
    if warm:
        print(f"latency after a warm-up of {workload.entities} commands (not measured)")
    p50, p99 = await latency(stack, engine_system, rate, args.latency_seconds, workload, warm)
    print(f"latency repertory     @{rate:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    p50, p99 = await latency(
        stack, lambda s, t, k: RawLoop(s, t, k, True), rate, args.latency_seconds, workload, warm
    )
    print(f"latency raw sequential @{rate:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")


async def compare_metrics(stack: Stack, args: argparse.Namespace, workload: Workload) -> None:
    """repertory's throughput with metrics off and on, interleaved, compared by median."""
    runs: dict[bool, list[Drained]] = {False: [], True: []}
    for i in range(args.repeat):
        for metrics in (False, True) if i % 2 == 0 else (True, False):

            def system(s: Stack, t: dict[str, str], k: str, on: bool = metrics) -> EngineSystem:
                return EngineSystem(s, t, k, on)

            # What earlier runs left behind is collected now, not by a full collection in
            # the middle of a later run (the ninth run of a process paid one, always "off").
            gc.collect()
            run = await throughput(stack, system, args.commands, workload)
            runs[metrics].append(run)
            print(
                f"run {i + 1} metrics {'on ' if metrics else 'off'} {run.rate:9.0f} commands/s"
                f"  {run.cpu_us:6.1f} µs CPU/command"
            )
    off = statistics.median(r.rate for r in runs[False])
    on = statistics.median(r.rate for r in runs[True])
    # Each round's on/off ratio compares two runs made back to back, under the same load from
    # whatever else shares the machine; their median is steadier than a ratio of medians.
    pairs = list(zip(runs[False], runs[True], strict=True))
    ratio = statistics.median(b.rate / a.rate for a, b in pairs)
    cpu = statistics.median(b.cpu_us / a.cpu_us for a, b in pairs)
    print(f"entities={args.entities} commands={args.commands} partitions={args.partitions}")
    print(f"median metrics off {off:9.0f} commands/s")
    print(f"median metrics on  {on:9.0f} commands/s   overhead {(off - on) / off * 100:5.1f}%")
    print(f"median on/off throughput ratio of the rounds {ratio:.3f}  ({(1 - ratio) * 100:.1f}%)")
    print(f"median on/off CPU-per-command ratio of the rounds {cpu:.3f}  ({(cpu - 1) * 100:.1f}%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode",
        choices=("fenced", "conditional", "both"),
        default="fenced",
        help="the journal mode of the pair; both: fenced, then conditional",
    )
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument(
        "--default-gc", action="store_true", help="keep CPython's collector (process.gc=untouched)"
    )
    parser.add_argument(
        "--gc-young",
        type=int,
        default=PROCESS.gc_young_threshold,
        help="process.gc_young_threshold, for both systems (default: the engine's)",
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="offered commands/s (default 50%% of max)"
    )
    parser.add_argument(
        "--metrics",
        choices=("on", "off", "compare"),
        default="off",
        help="repertory's metrics endpoint and recording; compare: off vs on, interleaved",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=5000,
        help="conditional mode: most commands offered and not yet answered",
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per side with compare")
    parser.add_argument(
        "--zipf",
        type=float,
        default=0.0,
        help="Zipf exponent s of the entity choice (1.1: hot keys); 0: uniform round robin",
    )
    parser.add_argument(
        "--warm-latency",
        action="store_true",
        help="fenced mode: offer one command per entity (uniform) before measuring latency, so "
        "it is measured with every entity active (steady state); default: from a cold start",
    )
    parser.add_argument(
        "--skip-throughput",
        action="store_true",
        help="fenced mode: measure only the latency pair, at --rate (required)",
    )
    parsed = parser.parse_args()
    if parsed.skip_throughput and not parsed.rate:
        parser.error("--skip-throughput needs --rate")
    if parsed.metrics == "compare" and parsed.mode != "fenced":
        parser.error("--metrics compare measures the fenced engine: use --mode fenced")
    PROCESS = ProcessSettings(
        gc="untouched" if parsed.default_gc else "tuned", gc_young_threshold=parsed.gc_young
    )
    asyncio.run(main(parsed))

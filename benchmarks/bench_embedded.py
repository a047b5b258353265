"""The embedded engine on SQLite with the bank workload, beside the raw SQLite journal.

One process, a fresh SQLite file per run: ``--accounts`` openings, then ``--commands``
deposits, withdrawals and transfers (the demo's seeded plan) sent through ``Engine.ask`` by
``--lanes`` concurrent senders (one entity's commands share a lane, in order, as in the demo),
to an engine with the demo's settings (``embedded_settings``).
For each transfer share it prints the median commands/s (acknowledged plan commands over the
time until the last acknowledgement), the median process CPU time per command and the part of
it spent on the event loop's thread (the rest is SQLite's threads), and the time until every
transfer settled; then the raw journal (``bench_sqlite_journal``: appends with
group commit, no engine) in the same run, for scale.

    .venv/bin/python benchmarks/bench_embedded.py [--accounts 1000] [--commands 50000]
        [--shares 0,0.1] [--repeat 3] [--lanes 1024] [--tuning demo|default] [--profile FILE]

``--tuning demo`` (default) tunes the interpreter after start-up as the demo's engine process
does (``tune_interpreter``: the collector frozen, then a young-generation threshold of 50,000;
a 0.02 ms GIL switch interval); ``--tuning default`` keeps CPython's (the engine too leaves the
collector untouched: ``process.gc``).
``--profile FILE`` runs cProfile over the first run's command loop and writes its stats there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from examples.bank.domain import ACCOUNT, REGISTRY, TRANSFER, BankError, GetTransfer
from repertory.cli_commands.demo._child import embedded_settings, tune_interpreter
from repertory.cli_commands.demo._plan import DemoPlan, Planned, lane
from repertory.config import ProcessSettings
from repertory.engine import Engine
from repertory.observability import configure_logging

sys.path.insert(0, str(Path(__file__).parent))
from bench_sqlite_journal import bench_journal

_DEFAULT_GC = gc.get_threshold()
_DEFAULT_SWITCH = sys.getswitchinterval()


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    cpu_us: float
    loop_us: float
    settle_s: float


async def _send(engine: Engine, items: Sequence[Planned]) -> None:
    for planned in items:
        with contextlib.suppress(BankError):  # a refusal is an answer too
            await engine.ask(
                planned.entity_type,
                planned.entity_id,
                planned.command,
                command_id=planned.command_id,
            )


async def _settled(engine: Engine, transfers: list[str]) -> None:
    while transfers:
        asks = (engine.ask("transfer", t, GetTransfer()) for t in transfers)
        states = await asyncio.gather(*asks)
        transfers = [t for t, s in zip(transfers, states, strict=True) if not s.status.settled]
        if transfers:
            await asyncio.sleep(0.01)


async def _run(
    path: Path, plan: DemoPlan, args: argparse.Namespace, profile: cProfile.Profile | None
) -> Run:
    settings = embedded_settings(path)
    if args.tuning == "default":  # nor does the engine tune the collector
        settings = settings.model_copy(update={"process": ProcessSettings(gc="untouched")})
    planned = list(plan)
    opening, stream = planned[: plan.accounts], planned[plan.accounts :]
    by_lane: defaultdict[int, list[Planned]] = defaultdict(list)
    for item in stream:
        by_lane[lane(item, args.lanes)].append(item)
    async with Engine(settings, [ACCOUNT, TRANSFER], registry=REGISTRY) as engine:
        await asyncio.gather(*(_send(engine, [p]) for p in opening))
        if args.tuning == "demo":  # as the demo's engine process does after start-up
            tune_interpreter()
        if profile is not None:
            profile.enable()
        began, cpu, loop = time.perf_counter(), time.process_time(), time.thread_time()
        await asyncio.gather(*(_send(engine, items) for items in by_lane.values()))
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        loop = time.thread_time() - loop
        transfers = [p.entity_id for p in stream if p.entity_type == "transfer"]
        await _settled(engine, transfers)
        settle = time.perf_counter() - began
        if profile is not None:
            profile.disable()
    return Run(len(stream) / elapsed, cpu / len(stream) * 1e6, loop / len(stream) * 1e6, settle)


def _measure(args: argparse.Namespace, share: float, profile: cProfile.Profile | None) -> Run:
    plan = DemoPlan(accounts=args.accounts, commands=args.commands, transfer_share=share)
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as directory:
        gc.collect()
        try:
            return asyncio.run(_run(Path(directory) / "journal.sqlite3", plan, args, profile))
        finally:
            gc.unfreeze()
            gc.set_threshold(*_DEFAULT_GC)
            sys.setswitchinterval(_DEFAULT_SWITCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=50_000)
    parser.add_argument("--shares", default="0,0.1", help="transfer shares, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=1024)
    parser.add_argument("--tuning", choices=("demo", "default"), default="demo")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the first run")
    args = parser.parse_args()
    configure_logging("console", "ERROR")
    shares = [float(s) for s in args.shares.split(",")]
    print(
        f"python {sys.version.split()[0]}, SQLite (WAL, synchronous=NORMAL), "
        f"{args.accounts} accounts, {args.commands} commands, {args.lanes} lanes, "
        f"tuning {args.tuning}, median of {args.repeat}"
    )
    profile = cProfile.Profile() if args.profile else None
    for share in shares:
        runs = []
        for _ in range(args.repeat):
            runs.append(_measure(args, share, profile))
            if profile is not None:
                profile.dump_stats(args.profile)
                profile = None
        rate = statistics.median(r.rate for r in runs)
        cpu = statistics.median(r.cpu_us for r in runs)
        loop = statistics.median(r.loop_us for r in runs)
        settle = statistics.median(r.settle_s for r in runs)
        print(
            f"transfers {share:>4.0%}: {rate:>8,.0f} commands/s  {cpu:>5.0f} us CPU/command "
            f"({loop:.0f} on the loop)  "
            f"all settled after {settle:.2f} s  (runs: {', '.join(f'{r.rate:,.0f}' for r in runs)})"
        )
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as directory:
        raw = asyncio.run(bench_journal(Path(directory) / "raw.db", "NORMAL", 10_000, 3, 500))
    print(f"raw SQLite journal (group commit, no engine): {raw:,.0f} events/s")


if __name__ == "__main__":
    main()

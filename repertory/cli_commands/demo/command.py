"""``repertory demo``: the bank on the embedded engine — throughput, a real crash, a recovery
that is checked, not claimed.

1. An engine process (SQLite in a temporary directory) opens accounts and runs a stream of
   deposits, withdrawals and transfers; the demo prints commands/s.
2. Mid-stream the process is killed with SIGKILL.
3. A new engine process recovers every account by replaying its journal, sends again every
   command the first one had not acknowledged (same ids) and the rest of the stream, and lets
   every transfer settle.
4. The demo judges the run: every acknowledged command applied exactly once
   (``repertory.testing.history.check_history`` over the raw journal), every balance equal to an
   independent tally, and the money conserved across transfers. Exit code 1 if any check fails.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from repertory.cli_commands._context import EXIT_FAILED, echo_json, fail
from repertory.cli_commands._progress import progress
from repertory.cli_commands.demo._plan import DemoPlan

__all__ = ["demo_command"]

_POLL = 0.05
_CHILD_START_TIMEOUT = 60.0


@dataclass(slots=True)
class _Phase:
    """What the parent saw of one engine process."""

    acked: int = 0
    seconds: float = 0.0
    recovery_seconds: float = 0.0
    killed: bool = False

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0


@click.command("demo")
@click.option(
    "--accounts",
    type=click.IntRange(2, 1_000_000),
    default=1000,
    show_default=True,
    help="Accounts to open.",
)
@click.option(
    "--commands",
    type=click.IntRange(10, 10_000_000),
    default=100_000,
    show_default=True,
    help="Deposits, withdrawals and transfers after the openings.",
)
@click.option(
    "--kill-at",
    type=click.FloatRange(0.05, 0.95),
    default=0.6,
    show_default=True,
    help="Fraction of the stream acknowledged when the engine process is SIGKILLed.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Workload seed.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the journal in this directory (inspect it with `repertory replay`).",
)
@click.option(
    "--kafka",
    is_flag=True,
    help="Run on the dev stack's Kafka and Cassandra instead of embedded SQLite.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON document.")
@click.pass_context
def demo_command(
    ctx: click.Context,
    accounts: int,
    commands: int,
    kill_at: float,
    seed: int,
    keep: Path | None,
    kafka: bool,
    as_json: bool,
) -> None:
    """The bank, embedded: throughput, a SIGKILL mid-stream, and a checked recovery.

    Needs no servers: the journal is SQLite in a temporary directory (removed afterwards unless
    --keep), commands come from a source inside the engine's process. Exit code 0 when every
    check passes, 1 when one fails.

    With --kafka the same runs on the dev stack (`repertory devstack up`): the engine process
    in Kafka mode on a fenced Cassandra journal, fresh topics and keyspace per run (kept with
    --keep), 200 accounts and 5,000 commands unless given, and the judge also checks that every
    journaled event was published.

    \b
    Examples:
      repertory demo
      repertory demo --accounts 5000 --commands 500000
      repertory demo --kafka                # on the dev stack's Kafka and Cassandra
      repertory demo --keep /tmp/bank && repertory replay account acct-000007 \\
          --app examples.bank.app --journal /tmp/bank/journal.sqlite3
    """
    if kafka:
        verdict = _kafka_demo(ctx, accounts, commands, seed, kill_at, keep, as_json)
        if not verdict:
            ctx.exit(EXIT_FAILED)
        return
    plan = DemoPlan(accounts=accounts, commands=commands, seed=seed)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        verdict = _demo(plan, keep, kill_at, as_json)
    else:
        with tempfile.TemporaryDirectory(prefix="repertory-demo-") as directory:
            verdict = _demo(plan, Path(directory), kill_at, as_json)
    if not verdict:
        ctx.exit(EXIT_FAILED)


def _kafka_demo(
    ctx: click.Context,
    accounts: int,
    commands: int,
    seed: int,
    kill_at: float,
    keep: Path | None,
    as_json: bool,
) -> bool:
    """The demo on the dev stack (see ``_kafka``); smaller default counts, as every ask
    crosses Kafka twice and every write reaches Cassandra."""
    from repertory.cli_commands._context import settings_of
    from repertory.cli_commands.demo._kafka import kafka_demo

    default = click.core.ParameterSource.DEFAULT
    if ctx.get_parameter_source("accounts") is default:
        accounts = 200
    if ctx.get_parameter_source("commands") is default:
        commands = 5000
    plan = DemoPlan(accounts=accounts, commands=commands, seed=seed)
    base = settings_of(ctx).settings
    with tempfile.TemporaryDirectory(prefix="repertory-demo-") as directory:
        verdict, first, second = kafka_demo(
            base, plan, Path(directory), kill_at, keep is not None, lambda t: _say(as_json, t)
        )
    _report(verdict, first, second, plan, as_json, where="Kafka + Cassandra")
    return bool(verdict.ok)


def _say(as_json: bool, text: str) -> None:
    if not as_json:
        click.echo(text)


def _demo(plan: DemoPlan, directory: Path, kill_at: float, as_json: bool) -> bool:
    from repertory.cli_commands.demo._child import ChildJob, read_acks
    from repertory.cli_commands.demo._judge import judge

    journal = directory / "journal.sqlite3"
    first_acks, second_acks = directory / "acks-1.txt", directory / "acks-2.txt"
    result = directory / "final.json"
    _say(
        as_json,
        f"bank demo: {plan.accounts:,} accounts, then {plan.commands:,} deposits, "
        f"withdrawals and transfers, on SQLite ({journal})",
    )
    began = time.perf_counter()
    first = _run_phase(ChildJob(journal, plan, first_acks), plan.total, kill_at, "running")
    _say(
        as_json,
        f"  {first.acked:,} commands acknowledged in {first.seconds:.2f} s: "
        f"{first.rate:,.0f} commands/s",
    )
    _say(as_json, f"  engine process killed with SIGKILL after {first.acked:,} acknowledgements")
    done = read_acks(first_acks)
    job = ChildJob(journal, plan, second_acks, skip=first_acks, result=result)
    second = _run_phase(job, plan.total - len(done), None, "recovering")
    _say(
        as_json,
        f"  restarted: {plan.accounts:,} accounts recovered by replay in "
        f"{second.recovery_seconds:.2f} s; {plan.total - len(done):,} commands sent again or "
        f"for the first time in {second.seconds:.2f} s ({second.rate:,.0f} commands/s)",
    )
    if not result.exists():
        raise fail("the restarted engine did not finish", "run again with --keep DIR and look")
    import json

    final = json.loads(result.read_text())
    acks = {**done, **read_acks(second_acks)}
    verdict = judge(plan, acks, journal, final, time.perf_counter() - began)
    _report(verdict, first, second, plan, as_json)
    return verdict.ok


def _run_phase(job: Any, total: int, kill_at: float | None, label: str) -> _Phase:
    """Run one engine process; SIGKILL it once ``kill_at`` of ``total`` is acknowledged."""
    from repertory.cli_commands.demo._child import run_child

    context = multiprocessing.get_context("spawn")
    acked = context.Value("q", 0, lock=False)
    started = context.Value("d", 0.0, lock=False)
    recovered = context.Value("d", 0.0, lock=False)
    reached = context.Event()  # the child sets it at ``limit`` acks: the kill needs no polling
    limit = None if kill_at is None else int(total * kill_at)
    process = context.Process(
        target=run_child,
        args=(job, acked, started, recovered, limit, reached),
        name=f"repertory-demo-{label}",
        daemon=True,
    )
    process.start()
    phase = _Phase()
    try:
        with progress(total, desc=label, unit="cmd") as bar:
            phase = _watch(process, (acked, started, reached), limit, bar)
    finally:
        if process.is_alive():
            os.kill(process.pid or 0, signal.SIGKILL)
        process.join()
    phase.recovery_seconds = recovered.value
    if not phase.killed and process.exitcode != 0:
        raise fail(
            f"the engine process failed (exit code {process.exitcode})",
            "run again with --keep DIR and read its output above",
        )
    return phase


def _watch(process: Any, shared: tuple[Any, Any, Any], limit: int | None, bar: Any) -> _Phase:
    acked, started, reached = shared
    deadline = time.monotonic() + _CHILD_START_TIMEOUT
    while not started.value:
        if not process.is_alive() or time.monotonic() > deadline:
            return _Phase()
        time.sleep(_POLL)
    seen = 0
    while process.is_alive():
        count = acked.value
        bar.update(count - seen)
        seen = count
        if limit is not None and count >= limit:
            os.kill(process.pid, signal.SIGKILL)
            elapsed = time.time() - started.value
            process.join()
            return _Phase(acked=count, seconds=elapsed, killed=True)
        reached.wait(_POLL)
    return _Phase(acked=acked.value, seconds=time.time() - started.value)


def _report(
    verdict: Any,
    first: _Phase,
    second: _Phase,
    plan: DemoPlan,
    as_json: bool,
    where: str = "SQLite",
) -> None:
    report = verdict.report
    if as_json:
        echo_json(
            {
                "ok": verdict.ok,
                "commands_per_second": round(first.rate),
                "acknowledged_before_kill": first.acked,
                "seconds_before_kill": round(first.seconds, 3),
                "recovery_seconds": round(second.recovery_seconds, 3),
                "after_restart_per_second": round(second.rate),
                "accounts": verdict.accounts,
                "balances_matching_tally": verdict.tallied,
                "balance_total": verdict.balance_total,
                "deposits_minus_withdrawals": verdict.deposits_minus_withdrawals,
                "transfers": dict(verdict.transfers),
                "unsettled_transfers": verdict.unsettled,
                "history": report.as_dict(),
            }
        )
        return
    click.echo("recovery check:")
    click.echo(
        f"  exactly once: {report.applied:,} commands applied, "
        f"{verdict.anomalies or 'no anomaly'}, {report.unresolved} unresolved, "
        f"{report.dropped_rows} dropped rows (history checker)"
    )
    click.echo(
        f"  balances: {verdict.tallied:,} of {verdict.accounts:,} accounts match an "
        "independent tally of the acknowledged commands"
    )
    click.echo(
        f"  money conserved: total balance {verdict.balance_total / 100:,.2f} = deposits "
        f"- withdrawals {verdict.deposits_minus_withdrawals / 100:,.2f}"
        f"{'' if verdict.conserved else '  ✗ MISMATCH'}"
    )
    transfers = ", ".join(f"{n:,} {s}" for s, n in sorted(verdict.transfers.items()))
    click.echo(f"  transfers: {transfers}; {verdict.unsettled} left half-way")
    if not verdict.exactly_once:
        click.echo(report.summary())
    click.echo(
        f"demo {'passed' if verdict.ok else 'FAILED'}: {first.rate:,.0f} commands/s "
        f"on {where}; recovery check {'ok' if verdict.ok else 'failed'}"
    )

"""The demo's engine process: an embedded engine on SQLite, fed by an in-process command source.

It runs in a child process so the demo can kill it for real (SIGKILL: no drain, no flush of
anything the engine had not committed). It appends one line per acknowledged command to an
acks file (``<plan index> <outcome>``) and counts them in shared memory for the progress bar.
A restarted run skips the commands an earlier run acknowledged and sends every other one —
including those that were in flight at the kill, with their original ids, so the engine must
recognise the ones it had already applied.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.bank.domain import (
    ACCOUNT,
    REGISTRY,
    TRANSFER,
    BankError,
    GetAccount,
    GetTransfer,
    TransferStatus,
)
from repertory.cli_commands.demo._acks import AckLog
from repertory.cli_commands.demo._plan import DemoPlan, Planned, lane
from repertory.config import EntitySettings, JournalSettings, LoggingSettings, Settings
from repertory.engine import Engine
from repertory.observability import configure_logging

__all__ = ["ChildJob", "embedded_settings", "read_acks", "run_child", "tune_interpreter"]

_SETTLE_TIMEOUT = 30.0
_KILL_WAIT = 10.0
"""Seconds the process stands still at the kill point for the parent's SIGKILL."""


@dataclass(frozen=True, slots=True)
class ChildJob:
    """What one engine process does.

    Attributes:
        journal: the SQLite journal file.
        plan: the workload.
        acks: this run's acks file (appended).
        skip: an earlier run's acks file: those commands are done.
        result: when set, settle every transfer and write the final states here.
        lanes: concurrent senders (one entity's commands always share one).
        settings: the engine's settings when not the embedded SQLite ones (``demo --kafka``:
            Kafka mode on a fenced Cassandra journal; ``journal`` is then unused).
    """

    journal: Path
    plan: DemoPlan
    acks: Path
    skip: Path | None = None
    result: Path | None = None
    lanes: int = 1024
    settings: Settings | None = None


def read_acks(path: Path | None) -> dict[int, str]:
    """Plan index → outcome of every complete line (a kill may cut the last one)."""
    if path is None or not path.exists():
        return {}
    found: dict[int, str] = {}
    for line in path.read_text().splitlines():
        index, _, outcome = line.partition(" ")
        if outcome and index.isdigit():
            found[int(index)] = outcome
    return found


def run_child(
    job: ChildJob,
    acked: Any,
    started: Any,
    recovered: Any,
    limit: int | None = None,
    reached: Any = None,
) -> None:
    """The process entry point (``multiprocessing`` target); ``acked``/``started``/``recovered``
    are shared ``Value`` objects the parent reads; ``reached`` (an ``Event``) is set once
    ``limit`` commands are acknowledged."""
    configure_logging("console", "ERROR")
    asyncio.run(_run(job, acked, started, recovered, AckLimit(limit, reached)))


BATCHER_CALLS = 16
"""Journal calls the demo's write batcher keeps in flight (the setting's default: 4). The SQLite
journal merges every call waiting for its writer into the next transaction, so a call costs
little; with four, the writer often started a group with one call while the rest were still
being written, and the next group had to wait for their acknowledgements. Sixteen gave 4-5%
more commands/s (``bench_embedded.py``, medians of five alternated runs); 64 no more."""


def embedded_settings(journal: Path) -> Settings:
    """The settings of the demo's engine on SQLite (``bench_embedded.py`` uses them too)."""
    return Settings(
        logging=LoggingSettings(level="ERROR"),
        journal=JournalSettings(backend="sqlite", sqlite_path=journal),
        entities=EntitySettings(ask_timeout=60.0, batcher_max_in_flight=BATCHER_CALLS),
    )


def _settings(job: ChildJob) -> Settings:
    return job.settings if job.settings is not None else embedded_settings(job.journal)


@dataclass(frozen=True, slots=True)
class AckLimit:
    """When to tell the parent: ``reached.set()`` at ``limit`` acknowledgements."""

    limit: int | None = None
    reached: Any = None


async def _run(
    job: ChildJob, acked: Any, started: Any, recovered: Any, at: AckLimit = AckLimit()
) -> None:
    done = read_acks(job.skip)
    async with Engine(_settings(job), [ACCOUNT, TRANSFER], registry=REGISTRY) as engine:
        if job.skip is not None:
            began = time.perf_counter()
            await _recover_accounts(engine, job.plan)
            recovered.value = time.perf_counter() - began
        lanes: defaultdict[int, list[Planned]] = defaultdict(list)
        for planned in job.plan:
            if planned.index not in done:
                lanes[lane(planned, job.lanes)].append(planned)
        # An ack is on disk before anything its lane sent afterwards is journaled (``AckLog``).
        with job.acks.open("a") as out:
            log = AckLog(out, acked, at.limit, at.reached, hold=_KILL_WAIT)
            tune_interpreter(embedded=job.settings is None)
            started.value = time.time()
            await asyncio.gather(*(_send(engine, items, log) for items in lanes.values()))
            log.flush()
        if job.result is not None:
            await _settle(engine, job.plan)
            job.result.write_text(json.dumps(await _final_states(engine, job.plan)))


SWITCH_INTERVAL = 0.00002
"""Seconds a thread may hold the GIL while another waits for it (CPython's default: 0.005)."""


def tune_interpreter(*, embedded: bool = True) -> None:
    """This process's own choices for the collector and (``embedded``: on SQLite) the GIL,
    made after start-up.

    Measured (``benchmarks/bench_embedded.py``): with CPython's defaults the collector took
    about a third of this process's time, re-scanning the long-lived plan, entities and dedupe
    windows. Freezing what exists after start-up and collecting the youngest generation every
    50,000 allocations instead of 700 cut that to a few percent. The engine leaves no garbage
    cycles on its hot paths, so collections find little either way.

    The SQLite writer thread gives the GIL up around every statement step and must get it back
    to go on; while the event loop runs, that took up to the switch interval each time, so the
    writer mostly waited for the loop to go idle and the two hardly overlapped. A 0.2 ms
    interval let them: 7-34% more commands/s than the default 5 ms (four paired runs of
    ``bench_embedded.py``, each pair run at the same time on a shared two-core machine). Once
    the writer stepped a few times per group rather than once per row (``_sqlite_many``),
    shorter still paid: 0.05 ms gave 5% more than 0.2 ms, 0.02 ms 3% more again (medians of
    six to seven alternated runs each).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
    if embedded:
        sys.setswitchinterval(SWITCH_INTERVAL)


async def _recover_accounts(engine: Engine, plan: DemoPlan) -> None:
    """Ask every account once: each is rebuilt from its journal by replay."""
    ids = [plan.account_id(n) for n in range(plan.accounts)]
    for first in range(0, len(ids), 1000):
        await asyncio.gather(
            *(engine.ask("account", i, GetAccount()) for i in ids[first : first + 1000])
        )


async def _send(engine: Engine, items: Sequence[Planned], log: AckLog) -> None:
    for planned in items:
        try:
            await engine.ask(
                planned.entity_type,
                planned.entity_id,
                planned.command,
                command_id=planned.command_id,
            )
            outcome = "ok"
        except BankError as exc:
            outcome = f"rejected:{type(exc).__name__}"
        except Exception as exc:  # an ask that failed: the judge treats it as an error ack
            outcome = _failure(exc)
        log.add(planned.index, outcome)


def _refusals(cls: type[BankError]) -> set[str]:
    return {cls.__name__}.union(*(_refusals(sub) for sub in cls.__subclasses__()))


_REFUSALS = frozenset(_refusals(BankError))


def _failure(exc: Exception) -> str:
    """The ack of a failed ask. On Kafka a refusal crosses the wire by class name (the asker
    gets ``CommandFailed`` with ``error_class``): a bank error's name is still a rejection."""
    error_class = getattr(exc, "error_class", None)
    if error_class in _REFUSALS:
        return f"rejected:{error_class}"
    return f"error:{error_class or type(exc).__name__}"


def _transfer_ids(plan: DemoPlan) -> list[str]:
    return [p.entity_id for p in plan if p.entity_type == "transfer"]


async def _settle(engine: Engine, plan: DemoPlan) -> None:
    """Wait until no transfer is half-way (the outbox delivers their legs in the background)."""
    waiting = _transfer_ids(plan)
    deadline = time.monotonic() + _SETTLE_TIMEOUT
    while waiting and time.monotonic() < deadline:
        states = await _ask_all(engine, "transfer", waiting, GetTransfer())
        waiting = [
            i
            for i, s in zip(waiting, states, strict=True)
            if s.status is not TransferStatus.NEW and not s.status.settled
        ]
        if waiting:
            await asyncio.sleep(0.1)


async def _ask_all(engine: Engine, entity_type: str, ids: list[str], command: Any) -> list[Any]:
    found: list[Any] = []
    for first in range(0, len(ids), 1000):
        batch = ids[first : first + 1000]
        found += await asyncio.gather(*(engine.ask(entity_type, i, command) for i in batch))
    return found


async def _final_states(engine: Engine, plan: DemoPlan) -> dict[str, Any]:
    accounts = [plan.account_id(n) for n in range(plan.accounts)]
    transfers = _transfer_ids(plan)
    account_states = await _ask_all(engine, "account", accounts, GetAccount())
    transfer_states = await _ask_all(engine, "transfer", transfers, GetTransfer())
    return {
        "accounts": {
            i: [str(s.status), s.balance] for i, s in zip(accounts, account_states, strict=True)
        },
        "transfers": {i: str(s.status) for i, s in zip(transfers, transfer_states, strict=True)},
    }

"""Scenario 8: embedded engines in child processes — SQLite with the process SIGKILLed
mid-stream and restarted, and two processes racing on one conditional Cassandra keyspace."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from pathlib import Path
from typing import Any

from repertory.engine import Engine
from repertory.persistence import PersistenceId
from repertory.protocols import Serializer
from repertory.testing.chaos._domain import ACCOUNT, REGISTRY, fold_balance, tally
from repertory.testing.chaos._embedded import embedded_settings
from repertory.testing.chaos._fleet import Fleet
from repertory.testing.chaos._result import ScenarioResult, StackControl
from repertory.testing.chaos._rows import CassandraRows, sqlite_rows
from repertory.testing.chaos._run import RunFailed
from repertory.testing.chaos._settings import ChaosSettings
from repertory.testing.history import (
    Ack,
    AckOutcome,
    History,
    JournalRow,
    PublishedEvent,
    SentCommand,
    Source,
    check_history,
)

__all__ = ["conditional_race", "sqlite_kill"]

_MODULE = "repertory.testing.chaos._embedded"
_OUTCOMES = {"ok": AckOutcome.OK, "rejected": AckOutcome.REJECTED}


def read_log(log: Path) -> tuple[list[SentCommand], list[Ack]]:
    """A driver's log as sends (first send of each id, its lane as the source) and acks."""
    sent: dict[str, SentCommand] = {}
    acks: list[Ack] = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "S" and parts[1] not in sent:
            command_id, pid, kind, amount = parts[1:]
            driver, entity, index = command_id.rsplit("-", 2)
            sent[command_id] = SentCommand(
                command_id=command_id,
                persistence_id=pid,
                command_type=kind,
                payload={"amount": int(amount)},
                source=Source(topic=f"{driver}/{entity}", partition=0, offset=int(index)),
            )
        elif len(parts) == 3 and parts[0] == "A":
            outcome = _OUTCOMES.get(parts[2], AckOutcome.ERROR)
            acks.append(Ack(command_id=parts[1], outcome=outcome, error=parts[2]))
    return list(sent.values()), acks


async def replayed(
    spec: dict[str, Any], pids: set[str]
) -> tuple[list[PublishedEvent], dict[str, object]]:
    """What the journal's own replay returns per entity (the embedded engine's readers see
    this), and each balance folded from it."""
    serializer = Serializer(REGISTRY)
    events: list[PublishedEvent] = []
    balances: dict[str, object] = {}
    async with Engine(embedded_settings(spec), [ACCOUNT], registry=REGISTRY) as engine:
        assert engine.journal is not None
        for pid in sorted(pids):
            folded = []
            async for row in engine.journal.replay(PersistenceId.parse(pid)):
                events.append(
                    PublishedEvent(
                        persistence_id=pid,
                        seq_nr=row.seq_nr,
                        writer_epoch=row.writer_epoch,
                        command_id=row.command_id,
                        event_type=row.event_type,
                    )
                )
                event = serializer.decode_message(row.event_type, row.schema_version, row.payload)
                folded.append((row.event_type, int(getattr(event, "amount", 0))))
            if folded:
                balances[pid] = fold_balance(folded)
    return events, balances


def _answers(log: Path) -> int:
    try:
        return log.read_text().count("\nA ")
    except OSError:
        return 0


async def _kill_while_running(
    fleet: Fleet, slot: int, spec: dict[str, Any], kills: int, rng: random.Random
) -> list[str]:
    """SIGKILL the slot's driver ``kills`` times, each after a random share of its commands
    were answered (so the kills land mid-stream however fast the engine runs), restarting it."""
    faults = []
    total = spec["count"] * len(spec["entities"])
    log = Path(spec["log"])
    for k in range(kills):
        target = int(total * (k + rng.uniform(0.3, 0.9)) / (kills + 1))
        while _answers(log) < target and fleet.children[slot].alive:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if not fleet.children[slot].alive:
            break
        await fleet.kill(slot)
        faults.append(f"SIGKILL embedded driver {spec['driver']} after {_answers(log)} answers")
        await fleet.start(slot, spec)
    return faults


async def _finish(fleet: Fleet, slots: list[int], within: float) -> None:
    for slot in slots:
        code = await fleet.wait_exit(slot, within)
        if code != 0:
            raise RunFailed(f"embedded driver {slot} exit {code}\n{fleet.log_tail()}")


def _judge(
    name: str,
    logs: list[Path],
    rows: list[JournalRow],
    published: list[PublishedEvent],
    final: dict[str, object],
    started: float,
    faults: list[str],
) -> ScenarioResult:
    sent: list[SentCommand] = []
    acks: list[Ack] = []
    for log in logs:
        more_sent, more_acks = read_log(log)
        sent += more_sent
        acks += more_acks
    history = History(
        sent=sent,
        acks=acks,
        journal=rows,
        published=published,
        duration_s=time.monotonic() - started,
        tally=tally,
        final_states=final,
    )
    report = check_history(history)
    reasons = report.failures(min_applied=max(1, len(sent) // 2))
    if reasons:
        raise RunFailed(f"[{name}] " + "; ".join(reasons) + "\n" + report.summary())
    return ScenarioResult(name, report, len(sent), time.monotonic() - started, faults)


def _spec(
    settings: ChaosSettings, work: Path, driver: str, seed: int, **more: Any
) -> dict[str, Any]:
    return {
        "driver": driver,
        "seed": seed,
        "count": settings.embedded_commands,
        "entities": [f"e{i}" for i in range(8)],
        "log": str(work / f"{driver}.log"),
        "cassandra_host": settings.cassandra_host,
        "cassandra_port": settings.cassandra_port,
        **more,
    }


async def sqlite_kill(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 8a: an embedded SQLite engine SIGKILLed mid-stream, restarted, three times."""
    started = time.monotonic()
    rng = random.Random(settings.seed)
    work = Path(settings.work_dir) / f"sqlite-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    spec = _spec(
        settings,
        work,
        "d0",
        rng.randrange(1 << 30),
        backend="sqlite",
        sqlite_path=str(work / "journal.sqlite3"),
    )
    fleet = Fleet(work, _MODULE)
    try:
        await fleet.start(0, spec)
        faults = await _kill_while_running(fleet, 0, spec, 3, rng)
        await _finish(fleet, [0], settings.drain_timeout)
    finally:
        await fleet.close()
    rows = sqlite_rows(Path(spec["sqlite_path"]))
    published, final = await replayed(spec, {r.persistence_id for r in rows})
    return _judge("sqlite_kill", [Path(spec["log"])], rows, published, final, started, faults)


async def conditional_race(settings: ChaosSettings, stack: StackControl) -> ScenarioResult:
    """Scenario 8b: two processes, each an embedded engine on one conditional Cassandra
    keyspace, racing on the same entities; one of them SIGKILLed and restarted."""
    started = time.monotonic()
    rng = random.Random(settings.seed)
    work = Path(settings.work_dir) / f"conditional-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    keyspace = f"chaos_{uuid.uuid4().hex[:12]}"
    seed = rng.randrange(1 << 30)
    specs = [
        _spec(settings, work, f"d{i}", seed, backend="cassandra", keyspace=keyspace)
        for i in range(2)
    ]
    rows_reader = CassandraRows(settings.cassandra_host, settings.cassandra_port)
    await rows_reader.connect()
    fleet = Fleet(work, _MODULE)
    try:
        await rows_reader.create_keyspace(keyspace)
        for slot, spec in enumerate(specs):
            await fleet.start(slot, spec)
        faults = await _kill_while_running(fleet, 1, specs[1], 1, rng)
        await _finish(fleet, [0, 1], settings.drain_timeout)
        rows = await rows_reader.rows(keyspace)
        published, final = await replayed(specs[0], {r.persistence_id for r in rows})
        logs = [Path(s["log"]) for s in specs]
        return _judge("conditional_race", logs, rows, published, final, started, faults)
    finally:
        await fleet.close()
        await rows_reader.drop_keyspace(keyspace)
        await rows_reader.aclose()

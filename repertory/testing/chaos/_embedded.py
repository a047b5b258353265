"""An embedded-engine driver in its own OS process, killable mid-stream and restartable.

Run as ``python -m repertory.testing.chaos._embedded <spec.json>``. It hosts an embedded engine
(SQLite, or a conditional Cassandra journal shared with other drivers) and runs one lane per
entity: each lane asks its commands one after another. Every send is logged (``S``) before the
ask and every answer (``A``) after it, line-buffered, so a SIGKILL leaves a log the harness can
trust: a restarted driver resends a lane's unanswered command with the same command id (the
entity recognises it) and goes on. Exits 0 once every lane is done.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any, TextIO

from repertory.config import CassandraSettings, EntitySettings, JournalSettings, Settings
from repertory.engine import Engine
from repertory.errors import RepertoryError
from repertory.observability import configure_logging
from repertory.protocols import Command
from repertory.testing.chaos._domain import (
    ACCOUNT,
    DEPOSIT,
    REGISTRY,
    Deposit,
    InsufficientFunds,
    Withdraw,
)

__all__ = ["embedded_settings", "lane_commands"]

_ATTEMPTS = 20


def embedded_settings(spec: dict[str, Any]) -> Settings:
    """Embedded settings: a SQLite file, or a conditional journal on Cassandra."""
    entities = EntitySettings(passivation_timeout=600, ask_timeout=15.0, rejected_write_retries=10)
    if spec["backend"] == "sqlite":
        journal = JournalSettings(backend="sqlite", sqlite_path=Path(spec["sqlite_path"]))
        return Settings(journal=journal, entities=entities)
    cassandra = CassandraSettings(
        contact_points=(spec["cassandra_host"],),
        port=spec["cassandra_port"],
        keyspace=spec["keyspace"],
    )
    journal = JournalSettings(backend="cassandra", mode="conditional")
    return Settings(journal=journal, cassandra=cassandra, entities=entities)


def lane_commands(seed: int, driver: str, entity: str, count: int) -> list[tuple[str, Command]]:
    """The lane's commands, the same on every start: ``(command id, command)``."""
    rng = random.Random(f"{seed}-{driver}-{entity}")
    commands: list[tuple[str, Command]] = []
    for i in range(count):
        command_id = f"{driver}-{entity}-{i}"
        if rng.random() < 0.85:
            commands.append((command_id, Deposit(amount=rng.randint(1, 9))))
        else:
            commands.append((command_id, Withdraw(amount=rng.randint(1, 20))))
    return commands


def _answered(log: Path) -> set[str]:
    if not log.exists():
        return set()
    lines = log.read_text().splitlines()
    return {line.split()[1] for line in lines if line.startswith("A ")}


async def _ask(engine: Engine, entity: str, command_id: str, command: Command) -> str:
    for attempt in range(_ATTEMPTS):
        try:
            await engine.ask("account", entity, command, command_id=command_id)
            return "ok"
        except InsufficientFunds:
            return "rejected"
        except RepertoryError as error:  # lost a race, or timed out: the same command again
            if attempt == _ATTEMPTS - 1:
                return f"error:{type(error).__name__}"
            await asyncio.sleep(0.05 * (attempt + 1))
    return "error"


async def _lane(
    engine: Engine, spec: dict[str, Any], entity: str, out: TextIO, done: set[str]
) -> None:
    for command_id, command in lane_commands(spec["seed"], spec["driver"], entity, spec["count"]):
        if command_id in done:
            continue
        amount = getattr(command, "amount", 0)
        kind = DEPOSIT if isinstance(command, Deposit) else "chaos.Withdraw"
        out.write(f"S {command_id} account|{entity} {kind} {amount}\n")
        outcome = await _ask(engine, entity, command_id, command)
        out.write(f"A {command_id} {outcome}\n")


async def drive(spec: dict[str, Any]) -> None:
    log = Path(spec["log"])
    done = _answered(log)
    with log.open("a", buffering=1) as out:  # noqa: ASYNC230 - one line per answer, unbuffered by line
        async with Engine(embedded_settings(spec), [ACCOUNT], registry=REGISTRY) as engine:
            await asyncio.gather(*(_lane(engine, spec, e, out, done) for e in spec["entities"]))


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[1]).read_text())
    configure_logging("console", "WARNING")
    asyncio.run(drive(spec))


if __name__ == "__main__":
    main(sys.argv)

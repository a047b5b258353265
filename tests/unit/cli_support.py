"""Journals with known contents for the CLI tests: a bank written by the embedded engine, and a
fenced journal where a zombie writer left rows outside the canonical chain."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from examples.bank.app import ENTITIES
from examples.bank.domain import REGISTRY, Deposit, OpenAccount, Withdraw
from repertory.cli import main
from repertory.config import JournalSettings, Settings
from repertory.engine import Engine
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    JournalMode,
    PersistenceId,
    SqliteJournal,
)

HOT, WARM, COLD = 40, 12, 3
"""Deposits per account in ``bank_journal``: acct-hot, acct-warm and ten cold ones."""


def invoke(*args: str) -> Result:
    """Run ``repertory ARGS`` in-process (warnings off: the tests read stdout as JSON)."""
    runner = CliRunner(env={"REPERTORY_LOGGING__LEVEL": "ERROR"})
    return runner.invoke(main, list(args), catch_exceptions=False)


async def _write_bank(path: Path) -> None:
    settings = Settings(journal=JournalSettings(backend="sqlite", sqlite_path=path))
    async with Engine(settings, ENTITIES, registry=REGISTRY) as bank:
        plan = {"acct-hot": HOT, "acct-warm": WARM, **{f"acct-c{i}": COLD for i in range(10)}}
        for account, deposits in plan.items():
            await bank.ask("account", account, OpenAccount(owner=account))
            for n in range(deposits):
                await bank.ask("account", account, Deposit(amount=100 + n))
        await bank.ask("account", "acct-hot", Withdraw(amount=100))


def stdout_json(result: Result) -> Any:
    """The JSON document a verb printed. Log lines from loggers bound before the CLI configured
    logging (imports made by the test process itself) may precede it on stdout; skip them."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line[:1] in "{[")
    return json.loads("\n".join(lines[start:]))


def stdout_json_lines(result: Result) -> list[Any]:
    """Each JSON line a verb printed (log lines skipped, see ``stdout_json``)."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def bank_journal(path: Path) -> Path:
    """A bank journal: each account has 1 + deposits events; acct-hot one more (a withdrawal)."""
    asyncio.run(_write_bank(path))
    return path


def _data(tag: str) -> EventData:
    return EventData(
        event_type="test.Event", payload=b"\x81\xa1t\xa1x", timestamp_ms=1, command_id=tag
    )


async def _write_zombie(path: Path) -> None:
    journal = await SqliteJournal.open(path, mode=JournalMode.FENCED)
    pid = PersistenceId("account", "z")
    try:
        old, new = await journal.claim_epoch(), await journal.claim_epoch()
        first = await journal.append(
            [
                AtomicWrite(
                    persistence_id=pid, writer_epoch=old, after=ChainTip(), events=(_data("c1"),)
                )
            ]
        )
        tip = first[0].tip
        assert tip is not None
        await journal.append(
            [AtomicWrite(persistence_id=pid, writer_epoch=new, after=tip, events=(_data("c2"),))]
        )
        await journal.append(
            [
                AtomicWrite(
                    persistence_id=pid, writer_epoch=old, after=tip, events=(_data("zombie"),)
                )
            ]
        )
    finally:
        await journal.aclose()


def zombie_journal(path: Path) -> Path:
    """A fenced journal where ``account|z`` has one dropped row (seq_nr 2 of the old epoch)."""
    asyncio.run(_write_zombie(path))
    return path

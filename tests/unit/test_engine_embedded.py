"""The embedded engine (SQLite, no Kafka): asks reach entities directly; emitted commands go
through the journal's outbox; everything survives a restart on the same file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from repertory.config import JournalSettings, Settings
from repertory.engine import Engine
from repertory.errors import ConfigError
from tests.integration.engine_domain import (
    LEDGER,
    REGISTRY,
    Deposit,
    InsufficientFunds,
    Transfer,
    Withdraw,
)


def settings(path: Path) -> Settings:
    return Settings(journal=JournalSettings(backend="sqlite", sqlite_path=path))


async def balance_of(engine: Engine, entity_id: str, wanted: int) -> int:
    async with asyncio.timeout(10):
        while True:  # the outbox relay delivers in the background
            found = int(await engine.ask("ledger", entity_id, Deposit(amount=0)))
            if found == wanted:
                return found
            await asyncio.sleep(0.02)


async def test_asks_transfers_and_restart(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    async with Engine(settings(path), [LEDGER], registry=REGISTRY) as engine:
        assert await engine.ask("ledger", "a", Deposit(amount=10)) == 10
        with pytest.raises(InsufficientFunds):
            await engine.ask("ledger", "a", Withdraw(amount=11))
        assert await engine.ask("ledger", "a", Deposit(amount=1), command_id="x") == 11
        assert await engine.ask("ledger", "a", Deposit(amount=1), command_id="x") == 11
        await engine.ask("ledger", "a", Transfer(to="b", amount=4))
        assert await balance_of(engine, "b", 4) == 4
    async with Engine(settings(path), [LEDGER], registry=REGISTRY) as engine:
        assert await engine.ask("ledger", "a", Deposit(amount=0)) == 7
        assert await engine.ask("ledger", "b", Deposit(amount=0)) == 4


async def test_an_engine_without_kafka_refuses_a_fenced_journal(tmp_path: Path) -> None:
    fenced = Settings(
        journal=JournalSettings(backend="sqlite", mode="fenced", sqlite_path=tmp_path / "j")
    )
    with pytest.raises(ConfigError, match=r"journal\.mode"):
        async with Engine(fenced, [LEDGER], registry=REGISTRY):
            pass

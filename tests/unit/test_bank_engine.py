"""The bank on the embedded engine (SQLite in tmp_path): transfers travel through the outbox,
apply once on each side, survive a restart, and a declined debit cancels the transfer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from examples.bank.app import DEFAULTS, ENTITIES
from examples.bank.domain import (
    REGISTRY,
    Deposit,
    GetAccount,
    GetTransfer,
    InsufficientFunds,
    OpenAccount,
    RequestTransfer,
    Transfer,
    TransferStatus,
    Withdraw,
)
from repertory.config import JournalSettings, Settings
from repertory.engine import Engine


def engine(path: Path) -> Engine:
    return Engine(
        Settings(journal=JournalSettings(backend="sqlite", sqlite_path=path)),
        ENTITIES,
        registry=REGISTRY,
    )


async def settled(engine: Engine, transfer_id: str) -> Transfer:
    async with asyncio.timeout(10):
        while True:  # the outbox relay delivers the legs in the background
            state: Transfer = await engine.ask("transfer", transfer_id, GetTransfer())
            if state.status.settled:
                return state
            await asyncio.sleep(0.02)


async def balance(engine: Engine, account: str) -> int:
    return int((await engine.ask("account", account, GetAccount())).balance)


async def test_transfers_apply_once_on_both_sides_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    async with engine(path) as bank:
        for account in ("a", "b"):
            await bank.ask("account", account, OpenAccount(owner=account))
        await bank.ask("account", "a", Deposit(amount=1_000))
        with pytest.raises(InsufficientFunds):
            await bank.ask("account", "b", Withdraw(amount=1))
        request = RequestTransfer(transfer_id="t1", source="a", target="b", amount=300)
        await bank.ask("transfer", "t1", request, command_id="req-1")
        await bank.ask("transfer", "t1", request, command_id="req-1")  # a resend: once
        assert (await settled(bank, "t1")).status is TransferStatus.COMPLETED
        too_much = RequestTransfer(transfer_id="t2", source="b", target="a", amount=301)
        await bank.ask("transfer", "t2", too_much)
        cancelled = await settled(bank, "t2")
        assert cancelled.status is TransferStatus.CANCELLED
        assert "insufficient funds" in cancelled.reason
        assert (await balance(bank, "a"), await balance(bank, "b")) == (700, 300)
    async with engine(path) as bank:  # recovered by replay from the same file
        assert (await balance(bank, "a"), await balance(bank, "b")) == (700, 300)
        assert (await bank.ask("transfer", "t1", GetTransfer())).amount == 300


def test_the_app_defaults_name_its_own_journal_file() -> None:
    assert DEFAULTS["journal"]["sqlite_path"] == "bank.sqlite3"
    assert {t.name for t in ENTITIES} == {"account", "transfer"}

"""The CLI's journal verbs against the dev stack's Cassandra: ``schema create|show`` on a fresh
keyspace, then ``replay``, ``journal check`` and ``inspect skew`` on a journal the embedded
engine wrote there."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from cassandra.cluster import Session
from click.testing import CliRunner, Result

from examples.bank.app import ENTITIES
from examples.bank.domain import REGISTRY, Deposit, OpenAccount
from repertory.cli import main
from repertory.config import CassandraSettings, JournalSettings, Settings
from repertory.engine import Engine


@pytest.fixture
def keyspace(cassandra_session: Session, cassandra_contact: tuple[str, int]) -> Iterator[str]:
    name = f"cli_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {name}")


def cli(keyspace: str, *args: str) -> Result:
    env = {
        "REPERTORY_CASSANDRA__KEYSPACE": keyspace,
        "REPERTORY_JOURNAL__BACKEND": "cassandra",
        "REPERTORY_LOGGING__LEVEL": "ERROR",
    }
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def last_json(result: Result) -> dict[str, object]:
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return dict(json.loads(lines[-1]))


async def write_bank(keyspace: str) -> None:
    settings = Settings(
        journal=JournalSettings(backend="cassandra"),
        cassandra=CassandraSettings(keyspace=keyspace),
    )
    async with Engine(settings, ENTITIES, registry=REGISTRY) as bank:
        await bank.ask("account", "a", OpenAccount(owner="ada"))
        for amount in (100, 200, 300):
            await bank.ask("account", "a", Deposit(amount=amount))
        await bank.ask("account", "b", OpenAccount(owner="bob"))


def test_schema_then_journal_verbs_on_cassandra(keyspace: str) -> None:
    shown = cli(keyspace, "schema", "show", "--dc", "dc1=3")
    assert shown.exit_code == 0
    assert f"CREATE TABLE IF NOT EXISTS {keyspace}.events" in shown.stdout
    assert "'class': 'NetworkTopologyStrategy', 'dc1': 3" in shown.stdout
    created = cli(keyspace, "schema", "create", "-r", "1")
    assert created.exit_code == 0, created.output
    live = json.loads(cli(keyspace, "schema", "show", "--live", "--json").stdout)["live"]
    assert live["exists"] and live["replication"]["replication_factor"] == "1"
    assert "events" in live["tables"] and live["journal"] is None  # nothing written yet

    asyncio.run(write_bank(keyspace))
    replayed = cli(keyspace, "replay", "account", "a", "--app", "examples.bank.app", "--json")
    assert replayed.exit_code == 0, replayed.output
    assert last_json(replayed)["state"] == {"status": "open", "owner": "ada", "balance": 600}
    checked = cli(keyspace, "journal", "check", "--json")
    assert checked.exit_code == 0 and json.loads(checked.stdout) == {}
    skew = cli(keyspace, "inspect", "skew", "--no-kafka", "--json")
    assert skew.exit_code == 0, skew.output
    figures = json.loads(skew.stdout)
    assert (figures["events"], figures["partitions"]) == (5, 2)
    assert figures["charts"][0]["bars"][0] == {"label": "account|a", "value": 4, "error": 0}

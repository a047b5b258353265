"""The CLI on the dev stack's Kafka and Cassandra: ``schema create``, ``run`` (one engine, and
``--workers 2``), ``send``, ``tail``, ``republish``, ``replay``, ``journal check`` and
``inspect skew --kafka``, each against the real servers, with settings from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cassandra.cluster import Session

from repertory.kafka import partition_for
from tests.integration.cli_kafka_support import (
    bank_env,
    cli,
    drop_topics,
    eventually,
    group_assignment,
    json_lines,
    make_topics,
    processes_with,
    start_run,
    stop_run,
    unique_name,
)

COMMANDS_PARTITIONS = 4
APP = ("--app", "examples.bank.app")


@pytest.fixture
def bank(
    kafka_bootstrap: str, cassandra_contact: tuple[str, int], cassandra_session: Session
) -> Iterator[dict[str, str]]:
    """One test's settings: its topics exist, its keyspace does not (``schema create`` makes it)."""
    env = bank_env(kafka_bootstrap, cassandra_contact[1], unique_name())
    topics = make_topics(env, COMMANDS_PARTITIONS)
    try:
        yield env
    finally:
        drop_topics(env, topics)
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {env['REPERTORY_CASSANDRA__KEYSPACE']}")


def send(
    env: dict[str, str], entity: str, message: str, fields: str, *flags: str
) -> dict[str, object]:
    result = cli(env, "send", "account", entity, f"bank.account.{message}", fields, *flags)
    assert result.exit_code == 0, result.output
    return json_lines(result)[-1]


def changes_of(env: dict[str, str], entity: str, count: int) -> list[dict[str, object]]:
    """The state changes of ``account|entity`` on the topic, once there are ``count``."""

    def read() -> list[dict[str, object]] | None:
        tailed = cli(env, "tail", *APP, "--offset", "0", "--no-follow")
        assert tailed.exit_code == 0, tailed.output
        found = [c for c in json_lines(tailed) if c["key"] == f"account|{entity}"]
        return found if len(found) >= count else None

    return eventually(read, timeout=20)


def serving(bootstrap: str, group: str, count: int) -> list[list[int]] | None:
    """The members' partitions once ``count`` members of a stable group each hold some."""
    members = [m for m in group_assignment(bootstrap, group) if m]
    return members if len(members) == count else None


def test_verbs_against_a_running_engine(bank: dict[str, str]) -> None:
    created = cli(bank, "schema", "create", "-r", "1")
    assert created.exit_code == 0, created.output
    engine = start_run(bank)
    try:
        opened = send(bank, "ada", "Open", '{"owner": "ada"}', "--wait", "--timeout", "40")
        assert opened["reply"] == {"status": "open", "owner": "ada", "balance": 0}
        for amount, balance in ((500, 500), (250, 750)):
            deposited = send(bank, "ada", "Deposit", json.dumps({"amount": amount}), "--wait")
            assert deposited["reply"] == {"status": "open", "owner": "ada", "balance": balance}
        refused = cli(bank, "send", "account", "ada", "bank.account.Withdraw", '{"amount": 9000}')
        assert refused.exit_code == 0  # without --wait nobody hears the refusal: sent is done
        refused = cli(
            bank, "send", "account", "ada", "bank.account.Withdraw", '{"amount": 9000}', "--wait"
        )
        assert refused.exit_code == 1  # a business rejection: documented exit code 1
        assert json_lines(refused)[-1]["rejected"] == {
            "error_class": "InsufficientFunds",
            "error": "balance 750 < 9000",
        }
        told = send(bank, "ada", "Withdraw", '{"amount": 100}', "--command-id", "w-100")
        assert told == {"command_id": "w-100"}

        changes = changes_of(bank, "ada", 4)
        assert [(c["seq_nr"], c["event_type"], c["payload"]) for c in changes] == [
            (1, "bank.account.Opened", {"owner": "ada"}),
            (2, "bank.account.Deposited", {"amount": 500}),
            (3, "bank.account.Deposited", {"amount": 250}),
            (4, "bank.account.Withdrawn", {"amount": 100}),
        ]
        assert changes[0]["command_id"] == opened["command_id"]
        assert changes[3]["command_id"] == "w-100"

        republished = cli(bank, "republish", "account", "ada", "--from", "2", "--to", "3")
        assert republished.exit_code == 0, republished.output
        assert "2 state change(s) published" in republished.stdout
        again = changes_of(bank, "ada", 6)
        assert [c["seq_nr"] for c in again] == [1, 2, 3, 4, 2, 3]
        same = ("entity_id", "seq_nr", "writer_epoch", "command_id", "event_type", "payload")
        for first, repeat in zip(again[1:3], again[4:6], strict=True):
            assert {k: repeat[k] for k in same} == {k: first[k] for k in same}

        replayed = cli(bank, "replay", "account", "ada", *APP, "--json")
        assert replayed.exit_code == 0, replayed.output
        assert json_lines(replayed)[-1]["state"] == {
            "status": "open",
            "owner": "ada",
            "balance": 650,
        }
        checked = cli(bank, "journal", "check", "--json")
        assert checked.exit_code == 0, checked.output
        assert json.loads(checked.stdout) == {}

        skew = cli(bank, "inspect", "skew", "--kafka", "--json")
        assert skew.exit_code == 0, skew.output
        charts = {c["title"].split(" [")[0]: c for c in json.loads(skew.stdout)["charts"]}
        records = charts["records per commands partition"]
        ada = partition_for(b"account|ada", COMMANDS_PARTITIONS)
        topic = bank["REPERTORY_KAFKA__COMMANDS_TOPIC"]
        assert records["buckets"] == COMMANDS_PARTITIONS
        assert {b["label"]: b["value"] for b in records["bars"]} == {
            f"{topic}-{p}": 6 if p == ada else 0 for p in range(COMMANDS_PARTITIONS)
        }
        assert charts["lag of group"]["buckets"] == COMMANDS_PARTITIONS
        assert charts["lag of group"]["total"] == 0  # every command answered and committed
    finally:
        code, err = stop_run(engine)
    assert code == 0, err
    assert "draining" in err


def test_run_workers_share_the_group_and_stop_cleanly(bank: dict[str, str]) -> None:
    accounts = [f"w{i}" for i in range(8)]
    spread = {partition_for(f"account|{a}".encode(), COMMANDS_PARTITIONS) for a in accounts}
    assert spread == set(range(COMMANDS_PARTITIONS))  # every partition, so every worker, serves
    assert cli(bank, "schema", "create").exit_code == 0
    marker = bank["REPERTORY_KAFKA__GROUP_ID"]
    pool = start_run(bank, "--workers", "2")
    try:
        bootstrap = bank["REPERTORY_KAFKA__BOOTSTRAP_SERVERS"]
        members = eventually(lambda: serving(bootstrap, marker, 2), timeout=40, every=0.5)
        assert sorted(p for m in members for p in m) == list(range(COMMANDS_PARTITIONS))
        assert len(processes_with(marker)) >= 3  # the pool, and two worker processes
        for account in accounts:
            opened = send(bank, account, "Open", '{"owner": "x"}', "--wait", "--timeout", "30")
            assert opened["reply"] == {"status": "open", "owner": "x", "balance": 0}
        epochs = {c["writer_epoch"] for a in accounts for c in changes_of(bank, a, 1)}
        assert len(epochs) == 2  # one claim per worker's assignment: both workers wrote
    finally:
        code, err = stop_run(pool, timeout=40)
    assert code == 0, err
    assert "worker 0: stopped" in err and "worker 1: stopped" in err
    assert eventually(lambda: not processes_with(marker), timeout=10)

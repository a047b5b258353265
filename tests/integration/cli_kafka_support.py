"""Building blocks of the CLI tests on Kafka: one test's topics, keyspace and settings as
``REPERTORY_*`` variables, the verbs run in this process, ``repertory run`` in a child process,
and the consumer group and processes as the operating system and the broker see them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from click.testing import CliRunner, Result

from repertory.cli import main
from repertory.config import KafkaSecuritySettings, KafkaSettings
from repertory.kafka.tools import create_topics, delete_topics

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bank_env(bootstrap: str, cassandra_port: int, name: str) -> dict[str, str]:
    """Settings of one test: its own topics, keyspace, consumer group and admin port."""
    return {
        "REPERTORY_KAFKA__ENABLED": "true",
        "REPERTORY_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "REPERTORY_KAFKA__COMMANDS_TOPIC": f"{name}.commands",
        "REPERTORY_KAFKA__STATE_CHANGES_TOPIC": f"{name}.changes",
        "REPERTORY_KAFKA__DEAD_LETTERS_TOPIC": f"{name}.dead",
        "REPERTORY_KAFKA__REPLIES_TOPIC": f"{name}.replies",
        "REPERTORY_KAFKA__GROUP_ID": name,
        "REPERTORY_KAFKA__TRANSACTIONAL_ID_PREFIX": name,
        "REPERTORY_KAFKA__SESSION_TIMEOUT_MS": "6000",
        "REPERTORY_KAFKA__HEARTBEAT_INTERVAL_MS": "1000",
        "REPERTORY_JOURNAL__BACKEND": "cassandra",
        "REPERTORY_JOURNAL__MODE": "fenced",
        "REPERTORY_CASSANDRA__PORT": str(cassandra_port),
        "REPERTORY_CASSANDRA__KEYSPACE": name.replace("-", "_"),
        "REPERTORY_WORKERS__ADMIN_PORT": str(free_port()),
        "REPERTORY_WORKERS__START_TIMEOUT": "30",
        "REPERTORY_LOGGING__LEVEL": "ERROR",
    }


def unique_name() -> str:
    return f"cli_{uuid.uuid4().hex[:10]}"


def kafka_of(env: Mapping[str, str]) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=env["REPERTORY_KAFKA__BOOTSTRAP_SERVERS"],
        commands_topic=env["REPERTORY_KAFKA__COMMANDS_TOPIC"],
        state_changes_topic=env["REPERTORY_KAFKA__STATE_CHANGES_TOPIC"],
        dead_letters_topic=env["REPERTORY_KAFKA__DEAD_LETTERS_TOPIC"],
        replies_topic=env["REPERTORY_KAFKA__REPLIES_TOPIC"],
    )


def make_topics(env: Mapping[str, str], commands_partitions: int) -> list[str]:
    kafka = kafka_of(env)
    partitions = {
        kafka.commands_topic: commands_partitions,
        kafka.state_changes_topic: 1,
        kafka.dead_letters_topic: 1,
        kafka.replies_topic: 1,
    }
    asyncio.run(create_topics(kafka, KafkaSecuritySettings(), partitions))
    return list(partitions)


def drop_topics(env: Mapping[str, str], names: list[str]) -> None:
    asyncio.run(delete_topics(kafka_of(env), KafkaSecuritySettings(), names))


def cli(env: Mapping[str, str], *args: str) -> Result:
    """One verb, in this process, with ``env`` as its environment."""
    return CliRunner(env=dict(env)).invoke(main, list(args), catch_exceptions=False)


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def eventually(probe: Callable[[], T | None], timeout: float, every: float = 0.3) -> T:
    """``probe()``'s first truthy value, polling until ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {probe}")
        time.sleep(every)


def start_run(env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    """``repertory run examples.bank.app ARGS`` as a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "repertory", "run", "examples.bank.app", *args],
        cwd=ROOT,
        env={**os.environ, **env, "REPERTORY_LOGGING__LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_run(process: subprocess.Popen[str], timeout: float = 25.0) -> tuple[int, str]:
    """SIGTERM, then the exit code and stderr (SIGKILL, and a failure, if it does not stop).
    The stderr is printed too: pytest shows it when the test fails."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"`repertory run` did not stop on SIGTERM: {err}") from None
    print(err)
    return process.returncode, err


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``marker`` (a worker, the Thespian
    admin, a daemonised helper: whatever the run started, wherever it was re-parented)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def group_assignment(bootstrap: str, group: str) -> list[list[int]]:
    """The partitions each member of a stable consumer group holds ([] when not stable)."""

    async def describe() -> list[list[int]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            responses = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        described = responses[0].groups[0]
        if described[2] != "Stable":
            return []
        members = described[5]
        return [
            sorted(
                tp.partition for tp in ConsumerProtocolMemberAssignment.decode(m[-1]).partitions()
            )
            for m in members
        ]

    return asyncio.run(describe())

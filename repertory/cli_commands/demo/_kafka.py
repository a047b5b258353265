"""``repertory demo --kafka``: the bank demo on the dev stack's Kafka and Cassandra.

The same plan, kill and recovery as the embedded demo, but the engine in the child process runs
in Kafka mode on a fenced Cassandra journal: every ask travels through the commands topic, and
the restarted engine takes the partitions over (a new writer epoch, the dead one fenced). The
judge also reads every state change published (``read_committed``), so guarantee 4 — every
journaled event published, nothing published that is not journaled — is checked too. Each run
uses fresh topics and a fresh keyspace, removed at the end unless ``--keep``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from repertory.cli_commands.demo._plan import DemoPlan
from repertory.config import Settings
from repertory.testing.history import JournalRow, PublishedEvent

__all__ = ["kafka_demo"]

COMMANDS_PARTITIONS = 4


def demo_settings(base: Settings, name: str) -> Settings:
    """``base`` (servers, security) with this run's topics, keyspace, group and timeouts."""
    kafka = base.kafka.model_copy(
        update={
            "enabled": True,
            "commands_topic": f"{name}.commands",
            "state_changes_topic": f"{name}.state-changes",
            "dead_letters_topic": f"{name}.dead-letters",
            "replies_topic": f"{name}.replies",
            "group_id": name,
            "transactional_id_prefix": name,
            "session_timeout_ms": 6000,  # the killed member's partitions move within seconds
            "heartbeat_interval_ms": 1000,
            "ask_timeout": 60.0,
        }
    )
    return base.model_copy(
        update={
            "kafka": kafka,
            "journal": base.journal.model_copy(update={"backend": "cassandra", "mode": "fenced"}),
            "cassandra": base.cassandra.model_copy(update={"keyspace": name}),
            "logging": base.logging.model_copy(update={"level": "ERROR"}),
            "entities": base.entities.model_copy(update={"ask_timeout": 60.0}),
        }
    )


def kafka_demo(
    base: Settings,
    plan: DemoPlan,
    directory: Path,
    kill_at: float,
    keep: bool,
    say: Callable[[str], None],
) -> Any:
    """Run the demo on Kafka; returns ``(verdict, first phase, second phase)``."""
    name = f"demo_{uuid.uuid4().hex[:10]}"
    settings = demo_settings(base, name)
    asyncio.run(_prepare(settings))
    try:
        say(
            f"bank demo on Kafka: {plan.accounts:,} accounts, then {plan.commands:,} deposits, "
            f"withdrawals and transfers; topics [{name}.*] at [{settings.kafka.bootstrap_servers}]"
            f", keyspace [{name}]"
        )
        return _run(settings, plan, directory, kill_at, say)
    finally:
        if keep:
            say(f"  kept: topics [{name}.*], keyspace [{name}]")
        else:
            asyncio.run(_remove(settings))


def _run(
    settings: Settings, plan: DemoPlan, directory: Path, kill_at: float, say: Callable[[str], None]
) -> Any:
    from repertory.cli_commands._context import fail
    from repertory.cli_commands.demo._child import ChildJob, read_acks
    from repertory.cli_commands.demo._judge import judge_rows
    from repertory.cli_commands.demo.command import _run_phase

    first_acks, second_acks = directory / "acks-1.txt", directory / "acks-2.txt"
    result = directory / "final.json"
    unused = directory / "unused.sqlite3"
    began = time.perf_counter()
    job = ChildJob(unused, plan, first_acks, settings=settings, lanes=256)
    first = _run_phase(job, plan.total, kill_at, "running")
    say(f"  {first.acked:,} commands acknowledged in {first.seconds:.2f} s: {first.rate:,.0f}/s")
    say(f"  engine process killed with SIGKILL after {first.acked:,} acknowledgements")
    done = read_acks(first_acks)
    job = ChildJob(
        unused, plan, second_acks, skip=first_acks, result=result, settings=settings, lanes=256
    )
    second = _run_phase(job, plan.total - len(done), None, "recovering")
    say(
        f"  restarted: {plan.accounts:,} accounts recovered in {second.recovery_seconds:.2f} s; "
        f"{plan.total - len(done):,} commands sent again or for the first time in "
        f"{second.seconds:.2f} s ({second.rate:,.0f}/s)"
    )
    if not result.exists():
        raise fail("the restarted engine did not finish", "run again with --keep DIR and look")
    final = json.loads(result.read_text())
    rows, published = asyncio.run(_outputs(settings))
    acks = {**done, **read_acks(second_acks)}
    verdict = judge_rows(plan, acks, rows, final, time.perf_counter() - began, published)
    return verdict, first, second


async def _prepare(settings: Settings) -> None:
    from repertory.cli_commands.schema import _create
    from repertory.kafka.tools import create_topics
    from repertory.persistence.cassandra_schema import replication_options

    kafka = settings.kafka
    await create_topics(
        kafka,
        settings.kafka_security,
        {
            kafka.commands_topic: COMMANDS_PARTITIONS,
            kafka.state_changes_topic: 1,
            kafka.dead_letters_topic: 1,
            kafka.replies_topic: 1,
        },
    )
    await _create(settings.cassandra, replication_options(1, None))


async def _remove(settings: Settings) -> None:
    from repertory.kafka.tools import delete_topics
    from repertory.persistence.cassandra_session import CassandraSession

    kafka = settings.kafka
    topics = [
        kafka.commands_topic,
        kafka.state_changes_topic,
        kafka.dead_letters_topic,
        kafka.replies_topic,
    ]
    await delete_topics(kafka, settings.kafka_security, topics)
    session = CassandraSession(settings.cassandra)
    await session.connect()
    try:
        await session.execute(f"DROP KEYSPACE IF EXISTS {settings.cassandra.keyspace}")
    finally:
        await session.aclose()


async def _outputs(settings: Settings) -> tuple[list[JournalRow], list[PublishedEvent]]:
    """Every raw journal row (every epoch) and every committed state change published."""
    from repertory.kafka.tools import read_topic
    from repertory.persistence.cassandra_session import CassandraSession
    from repertory.protocols import decode_state_change

    session = CassandraSession(settings.cassandra)
    await session.connect()
    try:
        rows = [
            JournalRow(
                persistence_id=r[0],
                seq_nr=r[1],
                writer_epoch=r[2],
                prev_epoch=r[3],
                command_id=r[4] or "",
                event_type=r[5],
            )
            async for r in session.stream(
                "SELECT persistence_id, seq_nr, writer_epoch, prev_epoch, command_id, event_type"
                f" FROM {settings.cassandra.keyspace}.events"
            )
            if r[1] is not None
        ]
    finally:
        await session.aclose()
    published = []
    topic = [settings.kafka.state_changes_topic]
    async for record in read_topic(
        settings.kafka, settings.kafka_security, topic, from_offset=0, follow=False
    ):
        change = decode_state_change(record.key, record.value, record.headers)
        published.append(
            PublishedEvent(
                persistence_id=change.persistence_id,
                seq_nr=change.seq_nr,
                writer_epoch=change.writer_epoch,
                command_id=change.command_id,
                event_type=change.event_type,
                partition=record.partition,
                offset=record.offset,
            )
        )
    return rows, published

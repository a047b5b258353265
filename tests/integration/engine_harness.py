"""Building blocks of the engine tests: settings for one test's topics and keyspace, a raw
producer of command records, and a read_committed reader of output topics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from cassandra.cluster import Session

from repertory.config import (
    CassandraSettings,
    EntitySettings,
    JournalSettings,
    KafkaSettings,
    Settings,
)
from repertory.kafka import dead_letter_info, decode_reply
from repertory.persistence.cassandra_schema import create_schema
from repertory.protocols import (
    CommandEnvelope,
    Serializer,
    decode_state_change,
    encode_command,
)
from repertory.testing.history import (
    Ack,
    AckOutcome,
    DeadLetter,
    JournalRow,
    PublishedEvent,
    SentCommand,
    Source,
)

Records = list[ConsumerRecord[Any, Any]]


def fresh_keyspace(session: Session) -> str:
    """A keyspace with the journal schema, for one test (dropped with the session's others)."""
    name = f"engine_{uuid.uuid4().hex[:12]}"
    create_schema(session, name)
    return name


def engine_settings(
    bootstrap: str, cassandra_port: int, keyspace: str, topics: dict[str, str], **kafka: Any
) -> Settings:
    """Kafka-mode settings on ``topics`` (commands, changes, dead, replies)."""
    ident = uuid.uuid4().hex[:8]
    kafka_settings = KafkaSettings(
        enabled=True,
        bootstrap_servers=bootstrap,
        commands_topic=topics["commands"],
        state_changes_topic=topics["changes"],
        dead_letters_topic=topics["dead"],
        replies_topic=topics["replies"],
        group_id=f"engine-{ident}",
        transactional_id_prefix=f"engine-{ident}",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        **kafka,
    )
    return Settings(
        kafka=kafka_settings,
        journal=JournalSettings(backend="cassandra", mode="fenced"),
        cassandra=CassandraSettings(port=cassandra_port, keyspace=keyspace),
        entities=EntitySettings(passivation_timeout=600),
    )


def envelope(
    serializer: Serializer, entity_id: str, command: Any, command_id: str | None = None
) -> CommandEnvelope:
    type_name, version, payload = serializer.encode_message(command)
    return CommandEnvelope(
        command_id=command_id or uuid.uuid4().hex,
        entity_type="ledger",
        entity_id=entity_id,
        message_type=type_name,
        schema_version=version,
        timestamp_ms=int(time.time() * 1000),
        payload=payload,
    )


async def produce(
    bootstrap: str,
    topic: str,
    envelopes: list[CommandEnvelope],
    raw: tuple[tuple[bytes | None, bytes, int | None], ...] = (),
) -> list[Source]:
    """Produce command envelopes (murmur2 placement) and raw ``(key, value, partition)`` ones;
    returns where each landed, envelopes first."""
    async with AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    ) as producer:
        sends = [
            await producer.send(topic, encode_command(e), key=e.key(), headers=e.headers())
            for e in envelopes
        ]
        for key, value, partition in raw:
            sends.append(await producer.send(topic, value, key=key, partition=partition))
        landed = await asyncio.gather(*sends)
    return [Source(topic=topic, partition=m.partition, offset=m.offset) for m in landed]


async def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[Records], bool],
    *,
    timeout: float = 60.0,  # noqa: ASYNC109
    settle: float = 1.0,
) -> Records:
    """Every committed record of ``topic`` until ``done(records)``, plus ``settle`` seconds."""
    records: Records = []
    async with AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    ) as consumer:
        async with asyncio.timeout(timeout):
            while not done(records):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    return records


def sent(
    envelopes: list[CommandEnvelope], sources: list[Source], valid: bool = True
) -> list[SentCommand]:
    return [
        SentCommand(
            command_id=e.command_id,
            persistence_id=e.persistence_id,
            command_type=e.message_type,
            source=src,
            valid=valid,
        )
        for e, src in zip(envelopes, sources, strict=False)
    ]


def journal_rows(session: Session, keyspace: str) -> list[JournalRow]:
    """Every raw row of every epoch (not a replay: the checker resolves chains itself)."""
    rows = session.execute(
        "SELECT persistence_id, seq_nr, writer_epoch, prev_epoch, command_id, event_type, "
        f"source_topic, source_partition, source_offset FROM {keyspace}.events"
    )
    return [
        JournalRow(
            persistence_id=r[0],
            seq_nr=r[1],
            writer_epoch=r[2],
            prev_epoch=r[3],
            command_id=r[4] or "",
            event_type=r[5],
            source=Source(topic=r[6], partition=r[7], offset=r[8]) if r[6] else None,
        )
        for r in rows
        if r[1] is not None
    ]


def published(records: Records) -> list[PublishedEvent]:
    out = []
    for r in records:
        change = decode_state_change(r.key, r.value, r.headers)
        out.append(
            PublishedEvent(
                persistence_id=change.persistence_id,
                seq_nr=change.seq_nr,
                writer_epoch=change.writer_epoch,
                command_id=change.command_id,
                event_type=change.event_type,
                partition=r.partition,
                offset=r.offset,
            )
        )
    return out


def acks(records: Records) -> list[Ack]:
    out = []
    for r in records:
        reply = decode_reply(r.value)
        if reply.ok:
            out.append(Ack(command_id=reply.command_id, outcome=AckOutcome.OK))
        else:
            outcome = (
                AckOutcome.REJECTED
                if reply.error_class == "InsufficientFunds"
                else AckOutcome.ERROR
            )
            out.append(Ack(command_id=reply.command_id, outcome=outcome, error=reply.error))
    return out


def dead_letters(records: Records) -> list[DeadLetter]:
    out = []
    for r in records:
        info = dead_letter_info(r.headers)
        headers = {k: bytes(v).decode(errors="replace") for k, v in r.headers}
        out.append(
            DeadLetter(
                reason=info["reason"],
                source=Source(
                    topic=info["source_topic"],
                    partition=int(info["source_partition"]),
                    offset=int(info["source_offset"]),
                ),
                command_id=headers.get("command_id"),
            )
        )
    return out

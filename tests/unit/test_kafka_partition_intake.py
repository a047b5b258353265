"""A partition worker with a fake producer: an entity whose mailbox is full does not hold up the
other entities of its partition, and its own commands still run and commit in offset order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from repertory.actors import Effect, EntityRuntime, EntityType, EntityWrite, WriteAck
from repertory.config import EntitySettings, KafkaSettings
from repertory.kafka import CapturingStore, EgressContext, EgressEncoder, SourceRecord
from repertory.kafka._contents import TransactionContents
from repertory.kafka._partition import PartitionWorker
from repertory.protocols import (
    Command,
    CommandEnvelope,
    Event,
    InputLimits,
    Serializer,
    TypeRegistry,
    encode_command,
    message,
)
from repertory.testing.entity_store import MemoryEventStore

pytestmark = pytest.mark.unit

TOPIC = "commands"


@message("intake.Add")
@dataclass(frozen=True, slots=True, kw_only=True)
class Add(Command):
    amount: int


@message("intake.Added")
@dataclass(frozen=True, slots=True, kw_only=True)
class Added(Event):
    amount: int


COUNTER: EntityType[int, Add, Added] = EntityType(
    name="counter",
    empty_state=0,
    on_command=lambda state, command: Effect.persist(Added(amount=command.amount)),
    on_event=lambda state, event: state + event.amount,
)
SERIALIZER = Serializer(TypeRegistry(Add, Added))


class HotGatedStore(MemoryEventStore):
    """Holds every write call that carries the hot entity until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__(known_empty=True)
        self.gate = asyncio.Event()
        self.held = asyncio.Event()

    async def write(self, writes: Sequence[EntityWrite]) -> Sequence[WriteAck]:
        if any(write.persistence_id == "counter|hot" for write in writes):
            self.held.set()
            await self.gate.wait()
        return await super().write(writes)


class FakeProducer:
    """Commits every transaction at once and keeps its contents."""

    def __init__(self) -> None:
        self.tp = type("TP", (), {"topic": TOPIC, "partition": 0})()
        self.committed: list[TransactionContents] = []

    async def publish(self, contents: TransactionContents) -> None:
        self.committed.append(contents)

    async def stop(self) -> None:
        pass


def record(offset: int, entity_id: str) -> SourceRecord:
    envelope = CommandEnvelope(
        command_id=f"c-{offset}",
        entity_type="counter",
        entity_id=entity_id,
        message_type="intake.Add",
        schema_version=1,
        timestamp_ms=1_700_000_000_000,
        payload=SERIALIZER.encode_message(Add(amount=1))[2],
    )
    return SourceRecord(
        topic=TOPIC,
        partition=0,
        offset=offset,
        key=envelope.key(),
        value=encode_command(envelope),
        headers=tuple(envelope.headers()),
    )


async def until(condition: Callable[[], Any], turns: int = 1000) -> None:
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_a_full_mailbox_holds_only_its_own_entity() -> None:
    settings = KafkaSettings(commands_topic=TOPIC)
    encoder = EgressEncoder(SERIALIZER, settings)
    store = HotGatedStore()
    capture = CapturingStore(store, encoder, lambda: 1)
    # One command in the write in flight, one in the next, one in the mailbox: full.
    full_soon = EntitySettings(mailbox_size=1, group_commit_max_events=1)
    async with EntityRuntime(capture, [COUNTER], settings=full_soon) as runtime:

        async def no_republish(pid: str, first: int, last: int) -> list[Any]:
            raise AssertionError("nothing is republished here")

        context = EgressContext(
            settings=settings,
            runtime=runtime,
            store=capture,
            encoder=encoder,
            limits=InputLimits(),
            partitions=1,
            republish=no_republish,
            group_id="g",
        )
        producer = FakeProducer()
        worker = PartitionWorker(
            context,
            producer,  # type: ignore[arg-type]
            on_progress=lambda w: None,
            on_fenced=lambda w: None,
            on_unusable=lambda w: None,
        )
        worker.start()
        try:
            worker.offer([record(offset, "hot") for offset in range(4)])
            await store.held.wait()  # the hot entity's first write is held, its mailbox full
            worker.offer([record(4, "cold")])
            await until(lambda: store.events.get("counter|cold"))
            assert not producer.committed  # offset 0's write is still held
            store.gate.set()
            await until(lambda: worker.committed_commands == 5)
        finally:
            await worker.close()
    changes = [r for contents in producer.committed for r in contents.records]
    hot = [int(dict(r.headers)["seq_nr"]) for r in changes if r.key == b"counter|hot"]
    assert hot == [1, 2, 3, 4]
    assert producer.committed[-1].offsets == {(TOPIC, 0): 5}

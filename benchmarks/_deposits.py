"""The benchmark's domain: one deposit command, one event, an account that sums them, and the
command envelope a producer puts on the commands topic for an entity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from repertory.actors import Effect, EntityType
from repertory.protocols import (
    Command,
    CommandEnvelope,
    Event,
    Serializer,
    TypeRegistry,
    message,
)


@message("bench.Deposit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: int


@message("bench.Deposited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: int


def on_command(balance: int, command: Deposit) -> Effect[int, Deposited]:
    return Effect.persist(Deposited(amount=command.amount))


def on_event(balance: int, event: Deposited) -> int:
    return balance + event.amount


ACCOUNT: EntityType[int, Deposit, Deposited] = EntityType(
    name="acct", empty_state=0, on_command=on_command, on_event=on_event
)
REGISTRY = TypeRegistry(Deposit, Deposited)
SERIALIZER = Serializer(REGISTRY)
DEPOSIT = Deposit(amount=1)


def command(entity: int, at_ms: int) -> CommandEnvelope:
    type_name, version, payload = SERIALIZER.encode_message(Deposit(amount=1))
    return CommandEnvelope(
        command_id=uuid.uuid4().hex,
        entity_type="acct",
        entity_id=str(entity),
        message_type=type_name,
        schema_version=version,
        timestamp_ms=at_ms,
        payload=payload,
    )

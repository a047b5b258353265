"""Fuzzed poison records: each must be dead-lettered with a reason, none may reach a journal.

Every kind below is invalid by construction (never a random bit flip, which could make a
different valid command): undecodable bytes, a cut envelope, an envelope without its fields, a
nesting deeper than the input limits, an unknown entity or message type, a body that does not
decode as its type, a missing key, and a valid command on the wrong partition.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgpack

from repertory.kafka import partition_for
from repertory.protocols import CommandEnvelope, Serializer, encode_command
from repertory.testing.chaos._domain import REGISTRY, Deposit

__all__ = ["PoisonRecord", "fuzz"]

_DEPOSIT_BODY = Serializer(REGISTRY).encode_message(Deposit(amount=1))[2]

PoisonRecord = tuple[bytes | None, bytes, int | None, list[Any]]
"""``(key, value, partition or None for murmur2, headers)``."""


def _envelope(
    rng: random.Random, entity_type: str, message_type: str, payload: bytes
) -> CommandEnvelope:
    return CommandEnvelope(
        command_id=f"poison-{uuid.UUID(int=rng.getrandbits(128)).hex}",
        entity_type=entity_type,
        entity_id=f"p{rng.randrange(50)}",
        message_type=message_type,
        schema_version=1,
        timestamp_ms=int(time.time() * 1000),
        payload=payload,
    )


def _valid(rng: random.Random) -> CommandEnvelope:
    return _envelope(rng, "account", "chaos.Deposit", _DEPOSIT_BODY)


def _garbage(rng: random.Random, partitions: int) -> PoisonRecord:
    key = f"account|p{rng.randrange(50)}".encode()
    return key, b"\xc1" + rng.randbytes(rng.randrange(0, 64)), None, []


def _cut(rng: random.Random, partitions: int) -> PoisonRecord:
    envelope = _valid(rng)
    value = encode_command(envelope)
    return envelope.key(), value[: rng.randrange(1, len(value) - 1)], None, []


def _fieldless(rng: random.Random, partitions: int) -> PoisonRecord:
    key = f"account|p{rng.randrange(50)}".encode()
    return key, msgpack.packb({"format": 1, "entity_type": "account"}), None, []


def _deep(rng: random.Random, partitions: int) -> PoisonRecord:
    key = f"account|p{rng.randrange(50)}".encode()
    nested: Any = 1
    for _ in range(64):
        nested = [nested]
    return key, msgpack.packb(nested), None, []


def _unknown_entity(rng: random.Random, partitions: int) -> PoisonRecord:
    envelope = _envelope(rng, "ghost", "chaos.Deposit", _DEPOSIT_BODY)
    return envelope.key(), encode_command(envelope), None, envelope.headers()


def _unknown_message(rng: random.Random, partitions: int) -> PoisonRecord:
    envelope = _envelope(rng, "account", "chaos.Nope", _DEPOSIT_BODY)
    return envelope.key(), encode_command(envelope), None, envelope.headers()


def _bad_body(rng: random.Random, partitions: int) -> PoisonRecord:
    envelope = _envelope(rng, "account", "chaos.Deposit", b"\xc1\xc1")
    return envelope.key(), encode_command(envelope), None, envelope.headers()


def _keyless(rng: random.Random, partitions: int) -> PoisonRecord:
    return None, encode_command(_valid(rng)), rng.randrange(partitions), []


def _misrouted(rng: random.Random, partitions: int) -> PoisonRecord:
    envelope = _valid(rng)
    home = partition_for(envelope.key(), partitions)
    wrong = (home + rng.randrange(1, partitions)) % partitions
    return envelope.key(), encode_command(envelope), wrong, envelope.headers()


_KINDS: list[Callable[[random.Random, int], PoisonRecord]] = [
    _garbage,
    _cut,
    _fieldless,
    _deep,
    _unknown_entity,
    _unknown_message,
    _bad_body,
    _keyless,
    _misrouted,
]


def fuzz(rng: random.Random, count: int, partitions: int) -> list[PoisonRecord]:
    """``count`` poison records of every kind, shuffled (misrouted ones need 2+ partitions)."""
    kinds = _KINDS if partitions > 1 else _KINDS[:-1]
    records = [kinds[i % len(kinds)](rng, partitions) for i in range(count)]
    rng.shuffle(records)
    return records

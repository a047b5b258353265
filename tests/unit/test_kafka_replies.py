"""Replies on the wire: typed, plain and empty bodies, and failures raised to the asker."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from repertory.actors import NO_REPLY
from repertory.errors import InputRejected
from repertory.kafka import CommandFailed, ReplyEnvelope, decode_reply, encode_reply, reply_value
from repertory.kafka._replies import reply_body
from repertory.protocols import Reply, Serializer, TypeRegistry, message


@message("test.Balance")
@dataclass(frozen=True, slots=True, kw_only=True)
class Balance(Reply):
    amount: int


SERIALIZER = Serializer(TypeRegistry(Balance))


@pytest.mark.parametrize("value", [Balance(amount=3), 42, "text", {"a": [1, 2]}, NO_REPLY])
def test_reply_values_survive_the_wire(value: object) -> None:
    name, version, payload = reply_body(SERIALIZER, value)
    reply = ReplyEnvelope(
        command_id="c1", message_type=name, schema_version=version, payload=payload
    )
    decoded = decode_reply(encode_reply(reply))
    assert decoded == reply
    assert reply_value(SERIALIZER, decoded) == value
    assert dict(reply.headers())["command_id"] == b"c1"


def test_a_failed_reply_raises_command_failed_with_the_remote_class() -> None:
    reply = ReplyEnvelope(command_id="c2", ok=False, error_class="InsufficientFunds", error="no")
    with pytest.raises(CommandFailed, match="InsufficientFunds") as raised:
        reply_value(SERIALIZER, decode_reply(encode_reply(reply)))
    assert raised.value.command_id == "c2"


@pytest.mark.parametrize("value", [None, b"\xc1", b"\x01", b"\x81\xa6format\x09"])
def test_foreign_bytes_on_the_replies_topic_are_rejected(value: bytes | None) -> None:
    with pytest.raises(InputRejected):
        decode_reply(value)

"""Replies on a reply-to topic: the wire form, and how a reply value becomes one and back.

A reply record is keyed by the command's persistence id and carries the command id (the
asker's correlation key) in its value and headers. The reply body is a registered message
(typed, versioned, upcast like any other), plain msgpack for simple values, or nothing; a
rejection or failure travels as its error class and message and is raised to the asker as
``CommandFailed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import msgpack

from repertory.actors import NO_REPLY
from repertory.errors import ActorError, InputRejected
from repertory.protocols import DEFAULT_LIMITS, Headers, InputLimits, Message, Serializer

__all__ = [
    "NO_BODY",
    "PLAIN",
    "CommandFailed",
    "ReplyEnvelope",
    "decode_reply",
    "encode_reply",
    "reply_body",
    "reply_value",
]

NO_BODY = ""
"""``message_type`` of a reply without a body (the command set none)."""

PLAIN = "msgpack"
"""``message_type`` of a plain msgpack body (an int, a str, a dict of such)."""

_FORMAT = 1


class CommandFailed(ActorError):
    """The command was rejected by its entity or given up on; raised to the asker.

    Attributes:
        error_class: the class name of the error on the entity's side.
        command_id: the command.
    """

    def __init__(self, error_class: str, message: str, command_id: str) -> None:
        super().__init__(f"command [{command_id}] failed: [{error_class}] {message}")
        self.error_class = error_class
        self.command_id = command_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyEnvelope:
    """One reply as it travels on a reply-to topic."""

    command_id: str
    correlation_id: str | None = None
    ok: bool = True
    message_type: str = NO_BODY
    schema_version: int = 0
    payload: bytes = b""
    error_class: str = ""
    error: str = ""

    def headers(self) -> Headers:
        """``command_id`` (and ``correlation_id`` when set) as UTF-8 text, and the outcome."""
        headers = [("command_id", self.command_id.encode())]
        if self.correlation_id is not None:
            headers.append(("correlation_id", self.correlation_id.encode()))
        headers.append(("outcome", b"ok" if self.ok else b"failed"))
        return headers


def encode_reply(reply: ReplyEnvelope) -> bytes:
    """The record value of a reply."""
    packed: bytes = msgpack.packb({"format": _FORMAT, **asdict(reply)}, use_bin_type=True)
    return packed


def decode_reply(value: bytes | None, limits: InputLimits = DEFAULT_LIMITS) -> ReplyEnvelope:
    """Decode a reply record value.

    Raises:
        InputRejected: not a reply of a known format.
    """
    if value is None or len(value) > limits.max_bytes:
        raise InputRejected("malformed", "reply value missing or too large")
    try:
        raw = msgpack.unpackb(value, **limits.unpack_options())
        if type(raw) is not dict or raw.pop("format", None) != _FORMAT:
            raise InputRejected("unknown_version", "reply of an unknown format")
        return ReplyEnvelope(**raw)
    except InputRejected:
        raise
    except Exception as exc:  # the boundary: foreign bytes on a shared topic
        raise InputRejected("malformed", f"reply: {exc!r}") from None


def reply_body(serializer: Serializer, value: Any) -> tuple[str, int, bytes]:
    """``(message_type, schema_version, payload)`` of a reply value (see the module doc)."""
    if value is NO_REPLY or value is None:
        return NO_BODY, 0, b""
    if isinstance(value, Message):
        return serializer.encode_message(value)
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return PLAIN, 0, packed


def reply_value(serializer: Serializer, reply: ReplyEnvelope) -> Any:
    """The asker's answer: the reply value, or ``CommandFailed`` raised.

    Raises:
        CommandFailed: the reply reports a rejection or failure.
        InputRejected: the body does not decode.
    """
    if not reply.ok:
        raise CommandFailed(reply.error_class, reply.error, reply.command_id)
    if reply.message_type == NO_BODY:
        return NO_REPLY
    if reply.message_type == PLAIN:
        return msgpack.unpackb(reply.payload, **serializer.limits.unpack_options())
    return serializer.decode_message(reply.message_type, reply.schema_version, reply.payload)

"""Message types, the msgpack codec, the type registry, schema versions, envelopes, input limits.

Declare messages::

    @message("account.Deposit", version=2)
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Deposit(Command):
        amount: Decimal
        at: datetime

    registry = TypeRegistry(Deposit, Deposited)
    registry.add_upcaster("account.Deposit", 1, lambda raw: {**raw, "at": EPOCH})
    serializer = Serializer(registry)
    type_name, version, payload = serializer.encode_message(Deposit(...))
    command = serializer.decode_message(type_name, version, payload, Command)

Every refusal of input is an ``InputRejected`` whose ``reason`` is one of ``REJECTION_REASONS``,
so ingress dead-letters them alike; unknown types and versions are also ``UnknownMessageType`` /
``UnknownSchemaVersion``. The wire format is documented in ``_wire`` and ``_envelopes``.
"""

from repertory.protocols._envelopes import (
    ENVELOPE_FORMAT,
    CommandEnvelope,
    Headers,
    StateChange,
    decode_command,
    decode_state_change,
    encode_command,
    encode_state_change,
)
from repertory.protocols._limits import DEFAULT_LIMITS, MAX_EXT_LEN, InputLimits
from repertory.protocols._messages import Command, Event, Message, Reply, message
from repertory.protocols._registry import RegisteredType, TypeRegistry, Upcaster
from repertory.protocols._serializer import Serializer

REJECTION_REASONS = frozenset(
    {
        "too_large",  # over max_bytes, or a string/binary/array/map over its length limit
        "too_deep",  # nested deeper than max_depth
        "malformed",  # not msgpack, truncated, trailing bytes, bad extension value, not a map
        "bad_field",  # missing, unknown or mistyped field, or the class refused the values
        "unknown_type",  # no class registered under the type name
        "unknown_version",  # newer than the class, or no upcaster path; or unknown envelope format
        "wrong_kind",  # e.g. an event's type name on the commands topic
        "upcast_failed",  # an upcaster raised or returned something other than a dict
        "key_mismatch",  # the record key is not the envelope's persistence id
        "header_mismatch",  # a record header disagrees with the record value
    }
)
"""Every ``InputRejected.reason`` this package raises; ingress puts it on dead-letter headers."""

__all__ = [
    "DEFAULT_LIMITS",
    "ENVELOPE_FORMAT",
    "MAX_EXT_LEN",
    "REJECTION_REASONS",
    "Command",
    "CommandEnvelope",
    "Event",
    "Headers",
    "InputLimits",
    "Message",
    "RegisteredType",
    "Reply",
    "Serializer",
    "StateChange",
    "TypeRegistry",
    "Upcaster",
    "decode_command",
    "decode_state_change",
    "encode_command",
    "encode_state_change",
    "message",
]

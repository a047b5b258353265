"""Envelopes on the wire: a command record on the commands topic, a state change per journaled
event on the state-changes topic.

A record's key is the persistence id (``<entity type>|<entity id>``), so one entity's records
share a partition. The value is a msgpack map of the envelope's fields plus ``"format": 1``; the
message body inside stays opaque bytes (``payload``), so routing and dead-lettering never decode
it. Headers repeat the routing fields as UTF-8 text (numbers in decimal) for consumers and tools
that do not read msgpack; on decode the value is authoritative and a header that disagrees with it
rejects the record. Timestamps are integer milliseconds since the epoch, UTC, like Kafka's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgpack

from repertory.errors import InputRejected, ProtocolError, UnknownVersionRejected
from repertory.protocols._limits import DEFAULT_LIMITS, InputLimits
from repertory.protocols._plan import compile_dataclass
from repertory.protocols._wire import Invalid, unpack

__all__ = [
    "ENVELOPE_FORMAT",
    "CommandEnvelope",
    "Headers",
    "StateChange",
    "decode_command",
    "decode_state_change",
    "encode_command",
    "encode_state_change",
]

ENVELOPE_FORMAT = 1
"""The layout version written in every envelope's ``format`` key."""

Headers = list[tuple[str, bytes]]
"""Kafka record headers, as aiokafka takes and gives them."""

E = TypeVar("E", "CommandEnvelope", "StateChange")


def _check_entity(entity_type: str, entity_id: str) -> None:
    if not entity_type or "|" in entity_type:
        raise ValueError(f"entity_type [{entity_type}] must be non-empty and contain no '|'")
    if not entity_id:
        raise ValueError("entity_id must be non-empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEnvelope:
    """One command on the commands topic: who it is for, what it is, and its encoded body."""

    command_id: str
    """Unique per command; the entity's duplicate window remembers it."""
    entity_type: str
    entity_id: str
    message_type: str
    """The command's registered wire name."""
    schema_version: int
    timestamp_ms: int
    """When the command was issued, ms since the epoch (UTC); handlers use it, never a clock."""
    payload: bytes
    """The command body, as ``Serializer.encode_message`` gives it."""
    correlation_id: str | None = None
    reply_to: str | None = None
    """The topic the reply goes to; None when nobody waits for one."""
    traceparent: str | None = None
    """W3C trace context of the sender, passed through untouched."""

    def __post_init__(self) -> None:
        _check_entity(self.entity_type, self.entity_id)
        if not self.command_id or not self.message_type:
            raise ValueError("command_id and message_type must be non-empty")
        if self.schema_version < 1 or self.timestamp_ms < 0:
            raise ValueError("schema_version must be >= 1 and timestamp_ms >= 0")

    @property
    def persistence_id(self) -> str:
        """``<entity type>|<entity id>``: the record key and the journal's entity key."""
        return f"{self.entity_type}|{self.entity_id}"

    @property
    def timestamp(self) -> datetime:
        """``timestamp_ms`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    def key(self) -> bytes:
        """The Kafka record key: the persistence id in UTF-8."""
        return self.persistence_id.encode()

    def headers(self) -> Headers:
        """Kafka record headers: routing fields as UTF-8 text; optional ones only when set."""
        headers = [
            ("command_id", self.command_id.encode()),
            ("entity_type", self.entity_type.encode()),
            ("entity_id", self.entity_id.encode()),
            ("message_type", self.message_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
        ]
        for name in ("correlation_id", "reply_to", "traceparent"):
            value = getattr(self, name)
            if value is not None:
                headers.append((name, value.encode()))
        return headers


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    """One journaled event as published: consumers dedupe by ``(persistence_id, seq_nr)``."""

    entity_type: str
    entity_id: str
    seq_nr: int
    """The event's position in its entity's journal, from 1."""
    writer_epoch: int
    """The epoch of the writer that journaled it."""
    command_id: str
    """The command that caused it."""
    event_type: str
    """The event's registered wire name."""
    schema_version: int
    payload: bytes
    """The event body, exactly as journaled."""

    def __post_init__(self) -> None:
        _check_entity(self.entity_type, self.entity_id)
        if self.seq_nr < 1 or self.writer_epoch < 0 or self.schema_version < 1:
            raise ValueError("seq_nr and schema_version must be >= 1, writer_epoch >= 0")
        if not self.event_type:
            raise ValueError("event_type must be non-empty")

    @property
    def persistence_id(self) -> str:
        """``<entity type>|<entity id>``: the record key."""
        return f"{self.entity_type}|{self.entity_id}"

    def key(self) -> bytes:
        """The Kafka record key: the persistence id in UTF-8."""
        return self.persistence_id.encode()

    def headers(self) -> Headers:
        """Kafka record headers: every field but the payload, as UTF-8 text."""
        return [
            ("entity_type", self.entity_type.encode()),
            ("entity_id", self.entity_id.encode()),
            ("seq_nr", str(self.seq_nr).encode()),
            ("writer_epoch", str(self.writer_epoch).encode()),
            ("command_id", self.command_id.encode()),
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
        ]


def encode_command(envelope: CommandEnvelope) -> bytes:
    """The record value of a command envelope.

    Raises:
        ProtocolError: a field holds a value of the wrong type.
    """
    return _encode(envelope)


def encode_state_change(change: StateChange) -> bytes:
    """The record value of a state change.

    Egress encodes one per journaled event, so a change whose fields have their declared types
    (always, when the engine built it) is packed directly, as the generic encoder would pack it;
    anything else takes the generic encoder, which names the field at fault.

    Raises:
        ProtocolError: a field holds a value of the wrong type.
    """
    c = change
    if (
        type(c) is StateChange
        and type(c.entity_type) is str
        and type(c.entity_id) is str
        and type(c.seq_nr) is int
        and type(c.writer_epoch) is int
        and type(c.command_id) is str
        and type(c.event_type) is str
        and type(c.schema_version) is int
        and type(c.payload) is bytes
    ):
        fields = {
            "entity_type": c.entity_type,
            "entity_id": c.entity_id,
            "seq_nr": c.seq_nr,
            "writer_epoch": c.writer_epoch,
            "command_id": c.command_id,
            "event_type": c.event_type,
            "schema_version": c.schema_version,
            "payload": c.payload,
            "format": ENVELOPE_FORMAT,
        }
        try:
            packed: bytes = msgpack.packb(fields, use_bin_type=True)
            return packed
        except OverflowError:  # an int outside msgpack's range: the generic error names it
            pass
    return _encode(change)


def decode_command(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None = None,
    *,
    limits: InputLimits = DEFAULT_LIMITS,
) -> CommandEnvelope:
    """Decode a command record; the payload stays bytes (``Serializer.decode_message`` it).

    Args:
        key: the record key; must be the envelope's persistence id.
        value: the record value.
        headers: the record headers, if any; known ones must agree with the value.
        limits: size and length bounds.

    Raises:
        InputRejected: reason ``too_large``, ``too_deep``, ``malformed``, ``bad_field``,
            ``unknown_version`` (envelope format), ``key_mismatch`` or ``header_mismatch``.
    """
    return _decode(CommandEnvelope, key, value, headers, limits, "command record")


def decode_state_change(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None = None,
    *,
    limits: InputLimits = DEFAULT_LIMITS,
) -> StateChange:
    """Decode a state-change record; the payload stays bytes. Raises as ``decode_command``."""
    return _decode(StateChange, key, value, headers, limits, "state-change record")


def _encode(envelope: CommandEnvelope | StateChange) -> bytes:
    try:
        fields = compile_dataclass(type(envelope)).encode(envelope)
    except Invalid as exc:
        where = f"{type(envelope).__name__}{exc.where()}"
        raise ProtocolError(f"cannot encode [{where}]: {exc.why}") from None
    fields["format"] = ENVELOPE_FORMAT
    packed: bytes = msgpack.packb(fields, use_bin_type=True)
    return packed


def _decode(
    cls: type[E],
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] | None,
    limits: InputLimits,
    what: str,
) -> E:
    raw: Any = unpack(value, limits, f"{what} value")
    if type(raw) is not dict:
        raise InputRejected("malformed", f"{what} value is not a map")
    layout = raw.pop("format", None)
    if layout != ENVELOPE_FORMAT:
        raise UnknownVersionRejected("unknown_version", f"{what} has envelope format [{layout!r}]")
    try:
        envelope: E = compile_dataclass(cls).decode(raw)
    except Invalid as exc:
        raise InputRejected(exc.reason, f"[{cls.__name__}{exc.where()}] {exc.why}") from None
    except Exception as exc:  # the boundary: nothing but a typed error leaves a decode
        raise InputRejected("malformed", f"{what}: {exc!r}") from None
    if key != envelope.key():
        shown = key[:200] if isinstance(key, bytes) else key
        raise InputRejected(
            "key_mismatch", f"{what} key [{shown!r}] is not [{envelope.persistence_id}]"
        )
    if headers:
        _check_headers(envelope, headers, what)
    return envelope


_HEADER_FIELDS: dict[type, frozenset[str]] = {
    CommandEnvelope: frozenset(
        {
            "command_id",
            "entity_type",
            "entity_id",
            "message_type",
            "schema_version",
            "correlation_id",
            "reply_to",
            "traceparent",
        }
    ),
    StateChange: frozenset(
        {
            "entity_type",
            "entity_id",
            "seq_nr",
            "writer_epoch",
            "command_id",
            "event_type",
            "schema_version",
        }
    ),
}
"""The headers ``headers()`` writes, per envelope class: each is named after its field."""


def _check_headers(
    envelope: CommandEnvelope | StateChange,
    headers: Sequence[tuple[str, bytes | None]],
    what: str,
) -> None:
    """Reject a header that disagrees with the field it repeats. Each header present is
    compared with its field's text form (what ``headers()`` would write), without building
    every header: this runs for every consumed record."""
    named = _HEADER_FIELDS[type(envelope)]
    for name, value in headers:
        if name not in named:
            continue
        field = getattr(envelope, name)
        if field is None:  # an unset optional field writes no header: nothing to agree with
            continue
        wanted = field.encode() if type(field) is str else str(field).encode()
        if value != wanted:
            raise InputRejected(
                "header_mismatch",
                f"{what} header [{name}] = [{value!r}] disagrees with the value [{wanted!r}]",
            )

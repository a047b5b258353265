"""Command envelopes and state changes: values and headers round trip, records are checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from repertory.errors import InputRejected, ProtocolError, UnknownSchemaVersion
from repertory.protocols import (
    CommandEnvelope,
    InputLimits,
    StateChange,
    decode_command,
    decode_state_change,
    encode_command,
    encode_state_change,
)
from repertory.protocols._envelopes import _encode

pytestmark = pytest.mark.unit

ids = st.text(min_size=1, max_size=30)
entity_types = ids.filter(lambda s: "|" not in s)
optional_text = st.none() | st.text(max_size=60)

commands = st.builds(
    CommandEnvelope,
    command_id=ids,
    entity_type=entity_types,
    entity_id=ids,
    message_type=ids,
    schema_version=st.integers(1, 2**31),
    timestamp_ms=st.integers(0, 2**53),
    payload=st.binary(max_size=200),
    correlation_id=optional_text,
    reply_to=optional_text,
    traceparent=optional_text,
)
changes = st.builds(
    StateChange,
    entity_type=entity_types,
    entity_id=ids,
    seq_nr=st.integers(1, 2**63 - 1),
    writer_epoch=st.integers(0, 2**63 - 1),
    command_id=st.text(max_size=30),
    event_type=ids,
    schema_version=st.integers(1, 2**31),
    payload=st.binary(max_size=200),
)


@given(commands)
def test_command_envelopes_round_trip_through_a_record(envelope: CommandEnvelope) -> None:
    key = envelope.key()
    assert key == f"{envelope.entity_type}|{envelope.entity_id}".encode()
    assert decode_command(key, encode_command(envelope), envelope.headers()) == envelope


@given(changes)
def test_state_changes_round_trip_and_headers_carry_every_routing_field(
    change: StateChange,
) -> None:
    headers = change.headers()
    assert decode_state_change(change.key(), encode_state_change(change), headers) == change
    text = {name: value.decode() for name, value in headers}
    assert text == {
        "entity_type": change.entity_type,
        "entity_id": change.entity_id,
        "seq_nr": str(change.seq_nr),
        "writer_epoch": str(change.writer_epoch),
        "command_id": change.command_id,
        "event_type": change.event_type,
        "schema_version": str(change.schema_version),
    }


@given(commands | changes, st.data())
def test_every_header_that_disagrees_with_its_field_rejects_the_record(
    envelope: CommandEnvelope | StateChange, data: st.DataObject
) -> None:
    headers = envelope.headers()
    i = data.draw(st.integers(0, len(headers) - 1))
    name, value = headers[i]
    altered = [*headers[:i], (name, value + b"x"), *headers[i + 1 :]]
    decode = decode_command if isinstance(envelope, CommandEnvelope) else decode_state_change
    with pytest.raises(InputRejected, match=rf"header \[{name}\]") as info:
        decode(envelope.key(), encode_value(envelope), altered)
    assert info.value.reason == "header_mismatch"


def encode_value(envelope: CommandEnvelope | StateChange) -> bytes:
    if isinstance(envelope, CommandEnvelope):
        return encode_command(envelope)
    return encode_state_change(envelope)


@given(changes)
def test_state_changes_encode_as_the_generic_encoder_does(change: StateChange) -> None:
    assert encode_state_change(change) == _encode(change)


def test_a_state_change_with_a_field_of_the_wrong_type_is_refused() -> None:
    change = replace(CHANGE, payload="text")  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match=r"StateChange\.payload.*expected bytes"):
        encode_state_change(change)
    huge = replace(change, payload=b"", writer_epoch=2**64)
    with pytest.raises(ProtocolError, match=r"StateChange\.writer_epoch"):
        encode_state_change(huge)


ENVELOPE = CommandEnvelope(
    command_id="c-1",
    entity_type="account",
    entity_id="42|b",
    message_type="account.Deposit",
    schema_version=2,
    timestamp_ms=1_714_566_600_123,
    payload=b"\x80",
    traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
)


def test_persistence_id_timestamp_and_optional_headers() -> None:
    assert ENVELOPE.persistence_id == "account|42|b"
    assert ENVELOPE.timestamp == datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC)
    names = [name for name, _ in ENVELOPE.headers()]
    assert "traceparent" in names and "reply_to" not in names


def test_headers_are_optional_and_unknown_ones_ignored() -> None:
    value = encode_command(ENVELOPE)
    assert decode_command(ENVELOPE.key(), value) == ENVELOPE
    assert decode_command(ENVELOPE.key(), value, [("x-other", b"1"), ("x", None)]) == ENVELOPE
    # an unset optional field writes no header, so one naming it has nothing to disagree with
    assert decode_command(ENVELOPE.key(), value, [("reply_to", b"elsewhere")]) == ENVELOPE


def raw_value(**changes: Any) -> bytes:
    raw = msgpack.unpackb(encode_command(ENVELOPE))
    raw.update(changes)
    packed: bytes = msgpack.packb({k: v for k, v in raw.items() if v is not ...})
    return packed


@pytest.mark.parametrize(
    ("key", "value", "headers", "reason", "detail"),
    [
        (b"account|43", encode_command(ENVELOPE), None, "key_mismatch", r"account\|42\|b"),
        (None, encode_command(ENVELOPE), None, "key_mismatch", "None"),
        (
            ENVELOPE.key(),
            encode_command(ENVELOPE),
            [("schema_version", b"3")],
            "header_mismatch",
            r"header \[schema_version\]",
        ),
        (ENVELOPE.key(), None, None, "malformed", "expected bytes"),
        (ENVELOPE.key(), b"\x93\x01\x02\x03", None, "malformed", "not a map"),
        (ENVELOPE.key(), raw_value(format=...), None, "unknown_version", "format \\[None\\]"),
        (ENVELOPE.key(), raw_value(format=2), None, "unknown_version", "format \\[2\\]"),
        (ENVELOPE.key(), raw_value(payload="text"), None, "bad_field", r"payload\] expected bytes"),
        (ENVELOPE.key(), raw_value(entity_type="a|b"), None, "bad_field", "must be non-empty"),
        (ENVELOPE.key(), raw_value(schema_version=0), None, "bad_field", "schema_version"),
        (ENVELOPE.key(), raw_value(command_id=...), None, "bad_field", "missing field"),
        (ENVELOPE.key(), raw_value(extra=1), None, "bad_field", "unknown field"),
        (ENVELOPE.key(), encode_command(ENVELOPE)[:-3], None, "malformed", "incomplete"),
    ],
)
def test_bad_command_records_are_rejected_with_a_reason(
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes | None]] | None,
    reason: str,
    detail: str,
) -> None:
    with pytest.raises(InputRejected, match=detail) as info:
        decode_command(key, value, headers)
    assert info.value.reason == reason


def test_an_unknown_envelope_format_is_also_an_unknown_schema_version() -> None:
    with pytest.raises(UnknownSchemaVersion):
        decode_command(ENVELOPE.key(), raw_value(format=2))


def test_record_size_limit_applies_to_envelopes() -> None:
    big = replace(ENVELOPE, payload=b"x" * 2000)
    with pytest.raises(InputRejected) as info:
        decode_command(big.key(), encode_command(big), limits=InputLimits(max_bytes=1024))
    assert info.value.reason == "too_large"


CHANGE = StateChange(
    entity_type="account",
    entity_id="42",
    seq_nr=7,
    writer_epoch=3,
    command_id="c-1",
    event_type="account.Deposited",
    schema_version=1,
    payload=b"\x80",
)


def test_state_change_checks_its_key_and_fields() -> None:
    change = CHANGE
    with pytest.raises(InputRejected) as info:
        decode_state_change(b"account|41", encode_state_change(change))
    assert info.value.reason == "key_mismatch"
    with pytest.raises(ValueError, match="seq_nr"):
        replace(change, seq_nr=0)


def test_encoding_an_envelope_with_a_mistyped_field_names_it() -> None:
    with pytest.raises(ProtocolError, match=r"CommandEnvelope\.payload.*expected bytes"):
        encode_command(replace(ENVELOPE, payload="text"))  # type: ignore[arg-type]

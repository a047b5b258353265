"""Input limits and malformed input: every refusal is a typed error with the right reason, and
no byte string makes the decoder raise anything else."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repertory.errors import InputRejected, ProtocolError
from repertory.protocols import (
    REJECTION_REASONS,
    Command,
    InputLimits,
    Serializer,
    TypeRegistry,
    message,
)

pytestmark = pytest.mark.unit


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    name: str
    qty: int


@message("shop.Order")
@dataclass(frozen=True, slots=True, kw_only=True)
class Order(Command):
    customer: str
    total: Decimal
    at: datetime
    items: tuple[Item, ...] = ()
    attachment: bytes = b""
    notes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.total < 0:
            raise ValueError("total must not be negative")


REGISTRY = TypeRegistry(Order)
LIMITS = InputLimits(
    max_bytes=4096, max_depth=6, max_str_len=64, max_bin_len=128, max_array_len=8, max_map_len=8
)
SERIALIZER = Serializer(REGISTRY, LIMITS)
GOOD = Order(
    customer="ada",
    total=Decimal("9.99"),
    at=datetime(2024, 1, 1, tzinfo=UTC),
    items=(Item(name="tea", qty=2),),
)
GOOD_RAW: dict[str, Any] = msgpack.unpackb(Serializer(REGISTRY).encode(GOOD))


def decode(payload: Any) -> Any:
    return SERIALIZER.decode_message("shop.Order", 1, payload)


def with_fields(**changes: Any) -> bytes:
    packed: bytes = msgpack.packb({**GOOD_RAW, **changes})
    return packed


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_the_good_payload_decodes() -> None:
    assert decode(with_fields()) == GOOD


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (with_fields(attachment=b"x" * 4096), "too_large", r"\[\d+\] bytes, over the limit"),
        (with_fields(customer="x" * 65), "too_large", "max_str_len"),
        (with_fields(attachment=b"x" * 129), "too_large", "max_bin_len"),
        (with_fields(items=[GOOD_RAW["items"][0]] * 9), "too_large", "max_array_len"),
        (with_fields(notes={str(i): i for i in range(9)}), "too_large", "max_map_len"),
        (with_fields(notes={"n": nested(6)}), "too_deep", "limit of \\[6\\]"),
        (with_fields(customer=nested(6)), "too_deep", "limit of \\[6\\]"),
        (b"\x91" * 3000 + b"\xc0", "too_deep", "nesting"),
        (msgpack.packb(GOOD_RAW)[:-1], "malformed", "incomplete"),
        (msgpack.packb(GOOD_RAW) + b"\x00", "malformed", "extra data"),
        (b"\xc1", "malformed", "not valid msgpack"),
        (b"\xa2\xff\xfe", "malformed", "not valid msgpack"),
        (msgpack.packb({1: 2}), "malformed", "map key"),
        (msgpack.packb({"at": msgpack.ExtType(9, b"")}), "malformed", r"extension type \[9\]"),
        (with_fields(total=msgpack.ExtType(2, b"abc")), "malformed", "invalid Decimal"),
        (with_fields(total=msgpack.ExtType(2, b"NaN")), "malformed", "finite"),
        (with_fields(at=msgpack.ExtType(1, b"\x00" * 11)), "malformed", "invalid datetime"),
        (with_fields(at=msgpack.ExtType(1, b"\x00" * 8 + b"\x7f" * 4)), "malformed", "offset"),
        (with_fields(at=msgpack.ExtType(1, b"\x7f" * 8 + b"\x00" * 4)), "malformed", "datetime"),
        ("not bytes", "malformed", "expected bytes"),
        (msgpack.packb([1, 2]), "bad_field", r"\[shop\.Order\] expected a map"),
        (msgpack.packb({"customer": "x"}), "bad_field", r"missing field \[total\]"),
        (with_fields(surprise=1), "bad_field", r"unknown field\(s\) 'surprise'"),
        (with_fields(total="9.99"), "bad_field", r"\[shop\.Order\.total\] expected Decimal"),
        (with_fields(customer=True), "bad_field", r"\[shop\.Order\.customer\] expected str"),
        (with_fields(items=[{"name": "a", "qty": "2"}]), "bad_field", r"items\[0\]\.qty"),
        (with_fields(items=[{"name": "a"}]), "bad_field", r"items\[0\].*missing field \[qty\]"),
        (with_fields(notes={"k": msgpack.ExtType(4, b"\x00\x00\x00\x00")}), "malformed", "date"),
        (with_fields(total=msgpack.ExtType(2, b"-1")), "bad_field", "total must not be negative"),
    ],
)
def test_each_limit_and_malformation_has_its_reason(payload: Any, reason: str, detail: str) -> None:
    with pytest.raises(InputRejected, match=detail) as info:
        decode(payload)
    assert info.value.reason == reason
    assert reason in REJECTION_REASONS


def test_msgpack_standard_timestamps_are_read_as_utc_datetimes() -> None:
    at = datetime(2024, 1, 1, 12, tzinfo=UTC)
    payload = msgpack.packb({**GOOD_RAW, "at": at}, datetime=True)  # msgpack's own: ext -1
    assert decode(payload).at == at


def test_encoding_refuses_what_readers_would_refuse() -> None:
    with pytest.raises(ProtocolError, match=r"readers would refuse it \(too_large: .*max_str_len"):
        SERIALIZER.encode(Order(customer="x" * 65, total=Decimal(1), at=GOOD.at))
    with pytest.raises(ProtocolError, match=r"too_deep"):
        SERIALIZER.encode(Order(customer="x", total=Decimal(1), at=GOOD.at, notes={"n": nested(6)}))
    with pytest.raises(ProtocolError, match="characters, over the limit"):
        SERIALIZER.encode(Order(customer="x", total=Decimal("1" * 300), at=GOOD.at))


def test_input_limits_refuse_non_positive_values() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        InputLimits(max_depth=0)


VALID = Serializer(REGISTRY).encode(GOOD)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(VALID)).map(lambda n: VALID[:n]),
        st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)).map(
            lambda edit: VALID[: edit[0]] + bytes([edit[1]]) + VALID[edit[0] + 1 :]
        ),
        st.tuples(
            st.sampled_from([b"\x91", b"\x81\xa1k", b"\xdc\x00\x01"]), st.integers(1, 5000)
        ).map(lambda nest: nest[0] * nest[1] + b"\xc0"),
        st.recursive(
            st.none()
            | st.integers(-(2**63), 2**64 - 1)
            | st.text(max_size=5)
            | st.binary(max_size=5),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
            max_leaves=20,
        ).map(lambda obj: msgpack.packb({**GOOD_RAW, "notes": obj})),
    )
)
def test_any_bytes_end_in_a_command_or_a_typed_error(data: bytes) -> None:
    started = time.perf_counter()
    try:
        result = decode(data)
    except InputRejected as exc:
        assert exc.reason in REJECTION_REASONS and exc.detail
    except ProtocolError:
        pass
    else:
        assert type(result) is Order
    assert time.perf_counter() - started < 0.5


def test_limits_come_from_the_protocols_settings_section() -> None:
    from repertory.config import load_settings

    settings = load_settings(overrides={"protocols": {"max_depth": 8, "max_bytes": 2048}})
    limits = InputLimits.from_settings(settings.protocols)
    assert (limits.max_depth, limits.max_bytes) == (8, 2048)
    assert limits.max_str_len == InputLimits().max_str_len

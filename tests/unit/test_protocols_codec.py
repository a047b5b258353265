"""Round trips through the msgpack codec: every supported type comes back equal and as the type
its field declares."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repertory.errors import ProtocolError, UnknownMessageType
from repertory.protocols import Command, Event, Serializer, TypeRegistry, message

pytestmark = pytest.mark.unit


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    sku: str
    quantity: int
    price: Money
    tags: tuple[str, ...] = ()


@message("test.Scalars")
@dataclass(frozen=True, slots=True, kw_only=True)
class Scalars(Command):
    text: str
    number: int
    ratio: float
    flag: bool
    blob: bytes
    nothing: None = None


@message("test.Business")
@dataclass(frozen=True, slots=True, kw_only=True)
class Business(Event):
    at: datetime
    day: date
    amount: Decimal
    ref: UUID
    colour: Colour
    priority: Priority
    note: str | None = None
    total: Money | None = None


@message("test.Shapes")
@dataclass(frozen=True, slots=True, kw_only=True)
class Shapes(Command):
    as_list: list[int]
    as_tuple: tuple[int, ...]
    pair: tuple[str, int]
    nested: list[tuple[int, str]]
    by_name: dict[str, tuple[Decimal, ...]]
    unique: frozenset[str]
    mutable_set: set[int]
    lines: tuple[Line, ...]
    choice: int | str
    mode: Literal["a", "b"] = "a"
    extra: dict[str, Any] = field(default_factory=dict)


REGISTRY = TypeRegistry(Scalars, Business, Shapes)
SERIALIZER = Serializer(REGISTRY)


def roundtrip(obj: Any) -> Any:
    type_name, version, payload = SERIALIZER.encode_message(obj)
    assert (type_name, version) == (obj.__type_name__, obj.__schema_version__)
    return SERIALIZER.decode_message(type_name, version, payload)


offsets = st.integers(min_value=-(24 * 3600 - 1), max_value=24 * 3600 - 1).map(
    lambda s: timezone(timedelta(seconds=s))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets | st.just(UTC)
)
decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent, sign: Decimal((sign, digits, exponent)),
    st.tuples(*[st.integers(0, 9)] * 3),
    st.integers(-999_999, 999_999),
    st.integers(0, 1),
)
texts = st.text(max_size=40)
moneys = st.builds(Money, amount=decimals, currency=st.sampled_from(["EUR", "USD"]))
lines = st.builds(
    Line, sku=texts, quantity=st.integers(-(2**63), 2**64 - 1), price=moneys,
    tags=st.tuples(texts) | st.just(()),
)  # fmt: skip


@given(
    st.builds(
        Scalars,
        text=st.text(),
        number=st.integers(-(2**63), 2**64 - 1),
        ratio=st.floats(allow_nan=False),
        flag=st.booleans(),
        blob=st.binary(),
    )
)
def test_scalars_round_trip(obj: Scalars) -> None:
    back = roundtrip(obj)
    assert back == obj
    assert type(back.number) is int and type(back.flag) is bool and type(back.blob) is bytes


@given(
    st.builds(
        Business,
        at=aware_datetimes,
        day=st.dates(),
        amount=decimals,
        ref=st.uuids(),
        colour=st.sampled_from(Colour),
        priority=st.sampled_from(Priority),
        note=st.none() | texts,
        total=st.none() | moneys,
    )
)
def test_business_types_round_trip_exactly(obj: Business) -> None:
    back = roundtrip(obj)
    assert back == obj
    # equal is not enough: same offset, same digits and exponent, same members
    assert back.at.utcoffset() == obj.at.utcoffset()
    assert back.at.replace(tzinfo=None) == obj.at.replace(tzinfo=None)
    assert back.amount.as_tuple() == obj.amount.as_tuple()
    assert back.colour is obj.colour and back.priority is obj.priority
    assert type(back.day) is date


@settings(max_examples=60)
@given(
    st.builds(
        Shapes,
        as_list=st.lists(st.integers(0, 1000)),
        as_tuple=st.lists(st.integers(0, 1000)).map(tuple),
        pair=st.tuples(texts, st.integers(0, 10)),
        nested=st.lists(st.tuples(st.integers(0, 9), texts), max_size=4),
        by_name=st.dictionaries(texts, st.lists(decimals, max_size=3).map(tuple), max_size=3),
        unique=st.frozensets(texts, max_size=4),
        mutable_set=st.sets(st.integers(0, 99), max_size=4),
        lines=st.lists(lines, max_size=3).map(tuple),
        choice=st.integers(0, 9) | texts,
        mode=st.sampled_from(["a", "b"]),
        extra=st.dictionaries(texts, st.integers(0, 9) | texts | st.lists(st.integers(0, 9))),
    )
)
def test_containers_come_back_as_declared(obj: Shapes) -> None:
    back = roundtrip(obj)
    assert back == obj
    assert type(back.as_list) is list and type(back.as_tuple) is tuple
    assert all(type(item) is tuple for item in back.nested)
    assert all(type(value) is tuple for value in back.by_name.values())
    assert type(back.unique) is frozenset and type(back.mutable_set) is set
    assert all(type(line) is Line and type(line.tags) is tuple for line in back.lines)


def test_negative_zero_and_extreme_exponents_are_kept() -> None:
    for text in ["-0", "-0.00", "1E+999999", "1E-999999", "123456789012345678901234567890.5"]:
        obj = Business(
            at=datetime(2024, 1, 1, tzinfo=UTC),
            day=date(2024, 1, 1),
            amount=Decimal(text),
            ref=UUID(int=1),
            colour=Colour.RED,
            priority=Priority.LOW,
        )
        assert str(roundtrip(obj).amount) == str(Decimal(text))


def test_zoneinfo_datetime_keeps_instant_and_wall_time() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        zone = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database")
    at = datetime(2024, 7, 1, 9, 30, tzinfo=zone)
    obj = Business(
        at=at,
        day=date(2024, 7, 1),
        amount=Decimal(1),
        ref=UUID(int=1),
        colour=Colour.RED,
        priority=Priority.LOW,
    )
    back = roundtrip(obj).at
    assert back == at and back.hour == 9 and back.utcoffset() == timedelta(hours=2)


def business(**changes: Any) -> Business:
    values: dict[str, Any] = {
        "at": datetime(2024, 1, 1, tzinfo=UTC),
        "day": date(2024, 1, 1),
        "amount": Decimal("1.5"),
        "ref": UUID(int=1),
        "colour": Colour.GREEN,
        "priority": Priority.HIGH,
    }
    return Business(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"at": datetime(2024, 1, 1)}, r"\[test\.Business\.at\]: naive datetime"),
        ({"amount": Decimal("NaN")}, r"\[test\.Business\.amount\]: Decimal \[NaN\] refused"),
        ({"amount": Decimal("-Infinity")}, r"only finite"),
        ({"amount": 1.5}, r"\[test\.Business\.amount\]: expected Decimal, got float"),
        ({"colour": "red"}, r"\[test\.Business\.colour\]: expected Colour, got str"),
        (
            {"total": Money(amount=Decimal(1), currency=3)},  # type: ignore[arg-type]
            r"\[test\.Business\.total\.currency\]",
        ),
        ({"day": datetime(2024, 1, 1, tzinfo=UTC)}, r"expected date, got datetime"),
    ],
)
def test_encoding_refuses_values_that_do_not_fit_naming_the_field(
    changes: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ProtocolError, match=expected):
        SERIALIZER.encode_message(business(**changes))


def test_encoding_refuses_ints_outside_msgpack_range() -> None:
    obj = Scalars(text="", number=2**64, ratio=0.0, flag=False, blob=b"")
    with pytest.raises(ProtocolError, match=r"test\.Scalars\.number.*outside msgpack's range"):
        SERIALIZER.encode(obj)


def test_a_failed_encode_leaves_nothing_behind_for_the_next() -> None:
    good = Scalars(text="a", number=1, ratio=0.5, flag=True, blob=b"x")
    before = SERIALIZER.encode(good)
    broken = Scalars(text="\ud800", number=1, ratio=0.5, flag=True, blob=b"x")
    with pytest.raises(ProtocolError, match=r"cannot encode \[test\.Scalars\]"):
        SERIALIZER.encode(broken)  # no UTF-8 for a lone surrogate: fails inside the packer
    assert SERIALIZER.encode(good) == before


def test_encoding_an_unregistered_class_is_refused() -> None:
    @message("test.Unregistered")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Unregistered(Command):
        x: int

    with pytest.raises(UnknownMessageType, match=r"Unregistered.*not registered"):
        SERIALIZER.encode_message(Unregistered(x=1))


def test_untyped_fields_round_trip_as_plain_msgpack_values() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    obj = Shapes(
        as_list=[], as_tuple=(), pair=("a", 1), nested=[], by_name={}, unique=frozenset(),
        mutable_set=set(), lines=(), choice="x",
        extra={"t": (1, 2), "at": at, "colour": Colour.RED, "n": None},
    )  # fmt: skip
    assert roundtrip(obj).extra == {"t": [1, 2], "at": at, "colour": "red", "n": None}


def test_payload_is_a_plain_msgpack_map_readable_without_the_codec() -> None:
    import msgpack

    payload = SERIALIZER.encode(Scalars(text="hi", number=3, ratio=0.5, flag=True, blob=b"\x00"))
    assert msgpack.unpackb(payload) == {
        "text": "hi",
        "number": 3,
        "ratio": 0.5,
        "flag": True,
        "blob": b"\x00",
        "nothing": None,
    }

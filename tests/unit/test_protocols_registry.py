"""The type registry and schema evolution: names, upcaster chains, and errors naming the culprit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgpack
import pytest

from repertory.errors import (
    InputRejected,
    ProtocolError,
    UnknownMessageType,
    UnknownSchemaVersion,
)
from repertory.protocols import (
    REJECTION_REASONS,
    Command,
    Event,
    Serializer,
    TypeRegistry,
    message,
)

pytestmark = pytest.mark.unit


@message("account.Deposited", version=3)
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: Decimal
    currency: str
    reference: str


@message("account.Deposit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: Decimal


def evolving_registry() -> TypeRegistry:
    registry = TypeRegistry(Deposited, Deposit)

    @registry.upcaster("account.Deposited", from_version=1)
    def _cents_to_amount(raw: dict[str, Any]) -> dict[str, Any]:  # v1 stored integer cents
        cents = raw.pop("cents")
        return {**raw, "amount": Decimal(cents).scaleb(-2), "currency": "EUR"}

    @registry.upcaster("account.Deposited", from_version=2)
    def _add_reference(raw: dict[str, Any]) -> dict[str, Any]:
        return {**raw, "reference": ""}

    return registry


def test_v1_payload_replays_into_v3_through_two_upcasters() -> None:
    serializer = Serializer(evolving_registry())
    old = msgpack.packb({"cents": 1250})
    assert serializer.decode_message("account.Deposited", 1, old) == Deposited(
        amount=Decimal("12.50"), currency="EUR", reference=""
    )


def test_v2_payload_runs_only_the_last_upcaster() -> None:
    serializer = Serializer(evolving_registry())
    v2 = serializer.encode(Deposited(amount=Decimal(1), currency="USD", reference="x"))
    v2 = msgpack.packb({k: v for k, v in msgpack.unpackb(v2).items() if k != "reference"})
    event = serializer.decode_message("account.Deposited", 2, v2)
    assert event == Deposited(amount=Decimal(1), currency="USD", reference="")


def test_current_version_round_trips_without_upcasting() -> None:
    serializer = Serializer(evolving_registry())
    event = Deposited(amount=Decimal("3"), currency="EUR", reference="r")
    name, version, payload = serializer.encode_message(event)
    assert version == 3
    assert serializer.decode_message(name, version, payload, Event) == event


def test_a_version_newer_than_the_class_names_type_and_version() -> None:
    serializer = Serializer(evolving_registry())
    with pytest.raises(UnknownSchemaVersion, match=r"\[account\.Deposited\].*\[4\].*v3") as info:
        serializer.decode_message("account.Deposited", 4, msgpack.packb({}))
    assert isinstance(info.value, InputRejected) and info.value.reason == "unknown_version"


def test_a_gap_in_the_upcaster_chain_names_the_missing_step() -> None:
    registry = TypeRegistry(Deposited)
    registry.add_upcaster("account.Deposited", 2, lambda raw: raw)
    serializer = Serializer(registry)
    with pytest.raises(UnknownSchemaVersion, match=r"no upcaster from v1 to v2") as info:
        serializer.decode_message("account.Deposited", 1, msgpack.packb({"cents": 1}))
    assert info.value.reason == "unknown_version"  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", [0, -1])
def test_versions_below_one_are_unknown(version: int) -> None:
    with pytest.raises(UnknownSchemaVersion, match=rf"\[{version}\]"):
        Serializer(evolving_registry()).decode_message("account.Deposited", version, b"\x80")


def test_an_unknown_type_names_it_and_carries_a_reason() -> None:
    with pytest.raises(UnknownMessageType, match=r"\[account\.Closed\]") as info:
        Serializer(evolving_registry()).decode_message("account.Closed", 1, b"\x80")
    assert isinstance(info.value, InputRejected) and info.value.reason == "unknown_type"
    assert info.value.reason in REJECTION_REASONS


def test_a_failing_upcaster_is_a_typed_rejection() -> None:
    serializer = Serializer(evolving_registry())
    with pytest.raises(InputRejected, match=r"upcaster v1 -> v2 failed.*cents") as info:
        serializer.decode_message("account.Deposited", 1, msgpack.packb({"amount": 1}))
    assert info.value.reason == "upcast_failed"


def test_an_upcaster_returning_a_non_dict_is_rejected() -> None:
    registry = TypeRegistry(Deposited)
    registry.add_upcaster("account.Deposited", 1, lambda raw: None)  # type: ignore[arg-type,return-value]
    registry.add_upcaster("account.Deposited", 2, lambda raw: raw)
    with pytest.raises(InputRejected, match="returned") as info:
        Serializer(registry).decode_message("account.Deposited", 1, msgpack.packb({}))
    assert info.value.reason == "upcast_failed"


def test_an_event_name_is_refused_where_a_command_is_expected() -> None:
    serializer = Serializer(evolving_registry())
    payload = serializer.encode(Deposited(amount=Decimal(1), currency="EUR", reference=""))
    with pytest.raises(
        InputRejected, match=r"\[account\.Deposited\] is registered as Event, expected Command"
    ) as info:
        serializer.decode_message("account.Deposited", 3, payload, Command)
    assert info.value.reason == "wrong_kind"


def test_two_classes_under_one_name_are_refused() -> None:
    @message("account.Deposit")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Impostor(Command):
        amount: Decimal

    registry = TypeRegistry(Deposit)
    with pytest.raises(ProtocolError, match=r"\[account\.Deposit\] is already registered"):
        registry.register(Impostor)
    registry.register(Deposit)  # the same class again is fine
    assert len(registry) == 1 and registry.lookup("account.Deposit").cls is Deposit


def test_duplicate_and_useless_upcasters_are_refused() -> None:
    registry = evolving_registry()
    with pytest.raises(ProtocolError, match="exists already"):
        registry.add_upcaster("account.Deposited", 1, lambda raw: raw)
    with pytest.raises(ProtocolError, match="at or past"):
        registry.add_upcaster("account.Deposited", 3, lambda raw: raw)


def test_only_frozen_dataclasses_with_their_own_message_name_register() -> None:
    @dataclass(kw_only=True)
    class Mutable(Command):
        x: int

    Mutable.__type_name__ = "test.Mutable"
    Mutable.__schema_version__ = 1

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Inherits(Deposit):
        note: str

    with pytest.raises(ProtocolError, match="frozen"):
        TypeRegistry(Mutable)
    with pytest.raises(ProtocolError, match="no @message"):
        TypeRegistry(Inherits)


@pytest.mark.parametrize(("name", "version"), [("", 1), ("has space", 1), ("ok", 0)])
def test_message_decorator_validates_name_and_version(name: str, version: int) -> None:
    with pytest.raises(ProtocolError, match="invalid"):
        message(name, version=version)


def test_unsupported_and_ambiguous_field_types_fail_at_registration() -> None:
    @message("test.Complex")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class HasComplex(Command):
        z: complex

    @message("test.Ambiguous")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Ambiguous(Command):
        either: list[int] | tuple[int, ...]

    with pytest.raises(ProtocolError, match=r"HasComplex\.z.*not supported"):
        TypeRegistry(HasComplex)
    with pytest.raises(ProtocolError, match=r"Ambiguous\.either.*ambiguous"):
        TypeRegistry(Ambiguous)

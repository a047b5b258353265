"""Codecs for leaf types (scalars, extension types, ``Any``): the building blocks of ``_plan``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from repertory.protocols._wire import (
    Invalid,
    encode_any,
    encode_date,
    encode_datetime,
    encode_decimal,
    encode_uuid,
)

__all__ = ["KINDS", "LEAVES", "Codec", "Fn", "kind_of"]

Fn = Callable[[Any], Any]

KINDS = {
    type(None): "nil",
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "bin",
    list: "array",
    dict: "map",
    datetime: "datetime",
    date: "date",
    Decimal: "Decimal",
    UUID: "UUID",
}


def kind_of(raw: object) -> str:
    return KINDS.get(type(raw), type(raw).__name__)


class Codec:
    """How one annotated type goes to and from msgpack-level values."""

    __slots__ = ("accepts", "decode", "depth", "encode", "kinds", "label")

    def __init__(
        self,
        label: str,
        encode: Fn,
        decode: Fn,
        kinds: frozenset[str],
        accepts: Callable[[Any], bool],
        depth: int | None,
    ) -> None:
        self.label = label  # the type, as error messages show it
        self.encode = encode
        self.decode = decode
        self.kinds = kinds  # wire kinds the decoder takes; disjoint within a union
        self.accepts = accepts  # picks the union member for a value on encode
        self.depth = depth  # nesting of arrays/maps this type can produce; None = unbounded


def _scalar(tp: type, kind: str, wire: Callable[[Any], bool] | None = None) -> Codec:
    name = tp.__name__

    def accepts(value: Any) -> bool:
        return isinstance(value, tp) and not (tp is int and type(value) is bool)

    def encode(value: Any) -> Any:
        if type(value) is tp or accepts(value):
            return value
        raise Invalid(f"expected {name}, got {type(value).__name__}")

    def decode(raw: Any) -> Any:
        if type(raw) is tp:
            return raw
        raise Invalid(f"expected {name}, got {kind_of(raw)}")

    return Codec(name, encode, decode, frozenset({kind}), accepts, 0)


def _int() -> Codec:
    codec = _scalar(int, "int")
    checked = codec.encode

    def encode(value: Any) -> Any:
        value = checked(value)
        if -(2**63) <= value < 2**64:
            return value
        raise Invalid(f"int [{value}] outside msgpack's range [-2**63, 2**64)")

    codec.encode = encode
    return codec


def _float() -> Codec:
    def accepts(value: Any) -> bool:
        return isinstance(value, (float, int)) and type(value) is not bool

    def encode(value: Any) -> Any:
        if accepts(value):
            return float(value)
        raise Invalid(f"expected float, got {type(value).__name__}")

    def decode(raw: Any) -> Any:
        kind = type(raw)
        if kind is float:
            return raw
        if kind is int:  # written by a client that sent 1 for 1.0
            return float(raw)
        raise Invalid(f"expected float, got {kind_of(raw)}")

    return Codec("float", encode, decode, frozenset({"float"}), accepts, 0)


def _ext(tp: type, to_wire: Fn, exact: bool = True) -> Codec:
    name = tp.__name__

    def accepts(value: Any) -> bool:
        return type(value) is tp if exact else isinstance(value, tp)

    def encode(value: Any) -> Any:
        if type(value) is tp or accepts(value):
            return to_wire(value)
        raise Invalid(f"expected {name}, got {type(value).__name__}")

    def decode(raw: Any) -> Any:
        if type(raw) is tp:
            return raw
        raise Invalid(f"expected {name}, got {kind_of(raw)}")

    return Codec(name, encode, decode, frozenset({name}), accepts, 0)


def _any() -> Codec:
    kinds = frozenset(KINDS.values())
    return Codec("Any", encode_any, lambda raw: raw, kinds, lambda _: True, None)


LEAVES: dict[Any, Callable[[], Codec]] = {
    str: lambda: _scalar(str, "str"),
    bool: lambda: _scalar(bool, "bool"),
    bytes: lambda: _scalar(bytes, "bin"),
    type(None): lambda: _scalar(type(None), "nil"),
    int: _int,
    float: _float,
    datetime: lambda: _ext(datetime, encode_datetime, exact=False),
    date: lambda: _ext(date, encode_date),
    Decimal: lambda: _ext(Decimal, encode_decimal, exact=False),
    UUID: lambda: _ext(UUID, encode_uuid, exact=False),
    Any: _any,
    object: _any,
}

"""Compiled decoder plans: each dataclass becomes one encoder and one decoder, built once.

Type hints are resolved once per class (``typing.get_type_hints``), never per message. Decoding
checks every value against its field's annotation and builds exactly that type back: a
``tuple`` field gets a tuple (also inside containers), an enum field its member, a nested
dataclass its class. Nothing on the wire names a Python class, so the only classes ever built are
those reachable from a registered class's annotations. A union is accepted only when its members
differ on the wire (``str | None``, ``int | str``, ``Money | None``), so decoding never guesses.
Missing fields with a default take the default; unknown fields are refused.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

from repertory.errors import ProtocolError
from repertory.protocols._leaf import KINDS, LEAVES, Codec, Fn, kind_of
from repertory.protocols._wire import Invalid

__all__ = ["compile_dataclass"]

_COMPILED: dict[type, Codec] = {}
_MISSING = object()
_TYPE_OF_KIND = {kind: tp for tp, kind in KINDS.items()}


def compile_dataclass(cls: type) -> Codec:
    """The codec of a dataclass, compiled on first use and cached for the process.

    Raises:
        ProtocolError: a field's annotation cannot be resolved or is not supported.
    """
    codec = _COMPILED.get(cls)
    return codec if codec is not None else _Compiler().dataclass(cls)


def _depth(*depths: int | None) -> int | None:
    return None if None in depths else 1 + max((d for d in depths if d is not None), default=0)


def _locate(items: typing.Iterable[Any], fn: Callable[[Any], Any]) -> str:
    # Only on the error path: find which item failed, so the message can point at it.
    for index, item in enumerate(items):
        try:
            fn(item)
        except Invalid:
            return f"[{index}]"
    return "[?]"


class _Compiler:
    def __init__(self) -> None:
        self.building: set[type] = set()

    def compile(self, tp: Any, where: str) -> Codec:
        leaf = LEAVES.get(tp)
        if leaf is not None:
            return leaf()
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Union or origin is types.UnionType:
            return self.union(args, where)
        if origin is typing.Literal:
            return _literal(args, where)
        if tp in (list, tuple, set, frozenset, dict):
            origin, args = tp, (Any, ...) if tp is tuple else (str, Any) if tp is dict else (Any,)
        if origin in (list, set, frozenset) or (origin is tuple and args[-1:] == (...,)):
            return _array(origin, self.compile(args[0], f"{where}[]"))
        if origin is tuple:
            return _fixed_tuple([self.compile(arg, f"{where}[{i}]") for i, arg in enumerate(args)])
        if origin is dict:
            if args[0] is not str:
                raise ProtocolError(f"[{where}]: map keys must be str, not [{args[0]!r}]")
            return _map(self.compile(args[1], f"{where}[]"))
        if hasattr(tp, "__supertype__"):  # typing.NewType
            return self.compile(tp.__supertype__, where)
        if isinstance(tp, type) and issubclass(tp, Enum):
            return _enum(tp, where)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(tp)
        raise ProtocolError(f"[{where}]: type [{tp!r}] is not supported by the msgpack codec")

    def union(self, args: tuple[Any, ...], where: str) -> Codec:
        if Any in args or object in args:
            return LEAVES[Any]()
        members = [self.compile(arg, where) for arg in args]
        by_type: dict[type, Callable[[Any], Any]] = {}
        for member in members:
            for kind in member.kinds:
                tp = _TYPE_OF_KIND[kind]
                if tp in by_type:
                    raise ProtocolError(
                        f"[{where}]: union [{' | '.join(m.label for m in members)}] is ambiguous "
                        f"on the wire: more than one member decodes from {kind}"
                    )
                by_type[tp] = member.decode
        floats = [m for m in members if m.label == "float"]
        if floats and int not in by_type:
            by_type[int] = floats[0].decode
        label = " | ".join(m.label for m in members)
        pairs = tuple((m.accepts, m.encode) for m in members)

        def encode(value: Any) -> Any:
            for accepts, encode_member in pairs:
                if accepts(value):
                    return encode_member(value)
            raise Invalid(f"expected {label}, got {type(value).__name__}")

        def decode(raw: Any) -> Any:
            decode_member = by_type.get(type(raw))
            if decode_member is None:
                raise Invalid(f"expected {label}, got {kind_of(raw)}")
            return decode_member(raw)

        def accepts(value: Any) -> bool:
            return any(member_accepts(value) for member_accepts, _ in pairs)

        encode_fn: Fn = encode
        decode_fn: Fn = decode
        others = [m for m in members if m.kinds != {"nil"}]
        if len(members) == 2 and len(others) == 1:
            encode_fn, decode_fn = _optional(others[0])
        kinds = frozenset().union(*(m.kinds for m in members))
        depths = [m.depth for m in members]
        depth = None if None in depths else max(d or 0 for d in depths)
        return Codec(label, encode_fn, decode_fn, kinds, accepts, depth)

    def dataclass(self, cls: type) -> Codec:
        if cls in _COMPILED:
            return _COMPILED[cls]
        if cls in self.building:
            return _late(cls)
        self.building.add(cls)
        try:
            hints = typing.get_type_hints(cls)
        except Exception as exc:
            raise ProtocolError(
                f"cannot resolve the annotations of [{cls.__qualname__}]: {exc}"
            ) from exc
        fields = [
            (
                field.name,
                self.compile(hints[field.name], f"{cls.__qualname__}.{field.name}"),
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING,
            )
            for field in dataclasses.fields(cls)
            if field.init
        ]
        codec = _dataclass(cls, fields)
        _COMPILED[cls] = codec
        return codec


def _optional(inner: Codec) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    # The common ``X | None``: one test instead of a dispatch.
    encode_inner, decode_inner = inner.encode, inner.decode

    def encode(value: Any) -> Any:
        return None if value is None else encode_inner(value)

    def decode(raw: Any) -> Any:
        return None if raw is None else decode_inner(raw)

    return encode, decode


def _late(cls: type) -> Codec:
    # A dataclass that contains itself: forward to its codec once it is compiled.
    return Codec(
        cls.__name__,
        lambda value: _COMPILED[cls].encode(value),
        lambda raw: _COMPILED[cls].decode(raw),
        frozenset({"map"}),
        lambda value: type(value) is cls,
        None,
    )


def _dataclass(cls: type, fields: list[tuple[str, Codec, bool]]) -> Codec:
    name = cls.__name__
    encoders = tuple((field, codec.encode) for field, codec, _ in fields)
    decoders = tuple((field, codec.decode, required) for field, codec, required in fields)
    known = frozenset(field for field, _, _ in fields)

    def encode(value: Any) -> Any:
        if type(value) is not cls:
            raise Invalid(f"expected {name}, got {type(value).__name__}")
        out = {}
        for field, encode_field in encoders:
            try:
                out[field] = encode_field(getattr(value, field))
            except Invalid as exc:
                exc.path.append(f".{field}")
                raise
        return out

    def decode(raw: Any) -> Any:
        if type(raw) is not dict:
            raise Invalid(f"expected a map for {name}, got {kind_of(raw)}")
        values = {}
        for field, decode_field, required in decoders:
            item = raw.get(field, _MISSING)
            if item is _MISSING:
                if required:
                    raise Invalid(f"missing field [{field}] of {name}")
                continue
            try:
                values[field] = decode_field(item)
            except Invalid as exc:
                exc.path.append(f".{field}")
                raise
        if len(values) != len(raw):
            extra = sorted(repr(key) for key in raw if key not in known)
            raise Invalid(f"unknown field(s) {', '.join(extra)} for {name}")
        try:
            return cls(**values)
        except Exception as exc:  # the class's own validation (__post_init__) refused the values
            raise Invalid(f"{name} refused the values: {exc!r}") from None

    depth = _depth(*(codec.depth for _, codec, _ in fields))
    return Codec(name, encode, decode, frozenset({"map"}), lambda v: type(v) is cls, depth)


def _array(container: type, item: Codec) -> Codec:
    label = f"{container.__name__}[{item.label}]"
    accepted: tuple[type[Any], ...] = (
        (set, frozenset) if container in (set, frozenset) else (container,)
    )
    encode_item, decode_item = item.encode, item.decode
    build = None if container is list else container

    def encode(value: Any) -> Any:
        if not isinstance(value, accepted):
            raise Invalid(f"expected {label}, got {type(value).__name__}")
        try:
            return [encode_item(element) for element in value]
        except Invalid as exc:
            exc.path.append(_locate(value, encode_item))
            raise

    def decode(raw: Any) -> Any:
        if type(raw) is not list:
            raise Invalid(f"expected {label}, got {kind_of(raw)}")
        try:
            items = [decode_item(element) for element in raw]
        except Invalid as exc:
            exc.path.append(_locate(raw, decode_item))
            raise
        if build is None:
            return items
        try:
            return build(items)
        except TypeError as exc:  # unhashable members of a set
            raise Invalid(f"cannot build {label}: {exc}") from None

    accepts: Callable[[Any], bool] = lambda v: isinstance(v, accepted)  # noqa: E731
    return Codec(label, encode, decode, frozenset({"array"}), accepts, _depth(item.depth))


def _fixed_tuple(items: list[Codec]) -> Codec:
    label = f"tuple[{', '.join(i.label for i in items)}]"
    encoders = tuple(i.encode for i in items)
    decoders = tuple(i.decode for i in items)
    size = len(items)

    def apply(values: Any, fns: tuple[Callable[[Any], Any], ...]) -> list[Any]:
        out = []
        for index, (fn, value) in enumerate(zip(fns, values, strict=True)):
            try:
                out.append(fn(value))
            except Invalid as exc:
                exc.path.append(f"[{index}]")
                raise
        return out

    def encode(value: Any) -> Any:
        if type(value) is not tuple or len(value) != size:
            raise Invalid(f"expected {label}, got {type(value).__name__} of another shape")
        return apply(value, encoders)

    def decode(raw: Any) -> Any:
        if type(raw) is not list or len(raw) != size:
            raise Invalid(f"expected {label}, got {kind_of(raw)} of another shape")
        return tuple(apply(raw, decoders))

    accepts: Callable[[Any], bool] = lambda v: type(v) is tuple  # noqa: E731
    depth = _depth(*(i.depth for i in items))
    return Codec(label, encode, decode, frozenset({"array"}), accepts, depth)


def _map(value_codec: Codec) -> Codec:
    label = f"dict[str, {value_codec.label}]"
    encode_value, decode_value = value_codec.encode, value_codec.decode

    def convert(mapping: dict[Any, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
        out = {}
        for key, value in mapping.items():
            if type(key) is not str:
                raise Invalid(f"map key [{key!r}] of {label} is not a str")
            try:
                out[key] = fn(value)
            except Invalid as exc:
                exc.path.append(f"[{key!r}]")
                raise
        return out

    def encode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise Invalid(f"expected {label}, got {type(value).__name__}")
        return convert(value, encode_value)

    def decode(raw: Any) -> Any:
        if type(raw) is not dict:
            raise Invalid(f"expected {label}, got {kind_of(raw)}")
        return convert(raw, decode_value)

    accepts: Callable[[Any], bool] = lambda v: isinstance(v, dict)  # noqa: E731
    return Codec(label, encode, decode, frozenset({"map"}), accepts, _depth(value_codec.depth))


def _enum(tp: type[Enum], where: str) -> Codec:
    by_value: dict[tuple[type, Any], Enum] = {}
    for member in tp:
        if type(member.value) not in (str, int):
            raise ProtocolError(f"[{where}]: enum [{tp.__name__}] values must be str or int")
        by_value[(type(member.value), member.value)] = member
    value_types = frozenset(kind for kind, _ in by_value)
    name = tp.__name__

    def encode(value: Any) -> Any:
        if isinstance(value, tp):
            return value.value
        raise Invalid(f"expected {name}, got {type(value).__name__}")

    def decode(raw: Any) -> Any:
        member = by_value.get((type(raw), raw))
        if member is not None:
            return member
        if type(raw) in value_types:
            try:
                return tp(raw)  # composite Flag values
            except ValueError:
                pass
        raise Invalid(f"[{raw!r}] is not a value of {name}")

    kinds = frozenset(KINDS[kind] for kind in value_types)
    return Codec(name, encode, decode, kinds, lambda v: isinstance(v, tp), 0)


def _literal(values: tuple[Any, ...], where: str) -> Codec:
    allowed = frozenset((type(v), v) for v in values)
    if any(kind not in (str, int, bool, type(None)) for kind, _ in allowed):
        raise ProtocolError(f"[{where}]: Literal values must be str, int, bool or None")
    label = f"Literal[{', '.join(repr(v) for v in values)}]"

    def check(value: Any) -> Any:
        if (type(value), value) in allowed:
            return value
        raise Invalid(f"expected {label}, got [{value!r}]")

    kinds = frozenset(KINDS[kind] for kind, _ in allowed)
    return Codec(label, check, check, kinds, lambda v: (type(v), v) in allowed, 0)

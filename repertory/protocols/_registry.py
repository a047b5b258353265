"""The type registry: the allow-list of message classes by wire name, and the upcasters between
their schema versions. Only a registered class is ever encoded or built from input."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from repertory.errors import (
    ProtocolError,
    UnknownMessageType,
    UnknownTypeRejected,
    UnknownVersionRejected,
)
from repertory.protocols._leaf import Codec
from repertory.protocols._messages import Message
from repertory.protocols._plan import compile_dataclass

__all__ = ["RegisteredType", "TypeRegistry", "Upcaster"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the raw mapping of version N into that of version N+1 (a new dict or the same one).

The mapping holds msgpack-level values: str keys; datetime, Decimal, UUID and date already
decoded; arrays as lists; nested dataclasses as dicts; enums as their values.
"""


@dataclasses.dataclass(frozen=True, slots=True)
class RegisteredType:
    """One registry entry: the class, its wire name, its current version and its codec."""

    cls: type[Message]
    type_name: str
    version: int
    codec: Codec = dataclasses.field(repr=False, compare=False)


class TypeRegistry:
    """Maps wire names to message classes and back, and holds the upcasters.

    Build one at start, register every message class of every entity, then share it (reads are
    lock-free; registering is not meant to race with decoding).
    """

    def __init__(self, *classes: type[Message]) -> None:
        self._by_name: dict[str, RegisteredType] = {}
        self._by_class: dict[type, RegisteredType] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self.register(*classes)

    def register(self, *classes: type[Message]) -> None:
        """Register message classes under their ``@message`` names; compiles their codecs now.

        Registering the same class again is a no-op.

        Raises:
            ProtocolError: not a frozen dataclass with its own ``@message``, a name already taken
                by another class, an unsupported field type, or an upcaster at or past the
                class's version.
        """
        for cls in classes:
            if cls in self._by_class:
                continue
            entry = self._entry(cls)
            taken = self._by_name.get(entry.type_name)
            if taken is not None:
                raise ProtocolError(
                    f"type name [{entry.type_name}] is already registered to "
                    f"[{_qualname(taken.cls)}]; cannot register [{_qualname(cls)}] under it"
                )
            for name, from_version in self._upcasters:
                if name == entry.type_name:
                    _check_upcaster_version(name, from_version, entry.version)
            self._by_name[entry.type_name] = entry
            self._by_class[cls] = entry

    def add_upcaster(self, type_name: str, from_version: int, upcaster: Upcaster) -> None:
        """Register how version ``from_version`` of ``type_name`` becomes ``from_version + 1``.

        Raises:
            ProtocolError: one is already registered for that step, or the step starts at or
                past the registered class's version.
        """
        key = (type_name, from_version)
        if key in self._upcasters:
            raise ProtocolError(f"an upcaster from v{from_version} of [{type_name}] exists already")
        if type(from_version) is not int or from_version < 1:
            raise ProtocolError(f"invalid upcaster version [{from_version!r}] for [{type_name}]")
        entry = self._by_name.get(type_name)
        if entry is not None:
            _check_upcaster_version(type_name, from_version, entry.version)
        self._upcasters[key] = upcaster

    def upcaster(self, type_name: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of ``add_upcaster``::

        @registry.upcaster("account.Deposit", from_version=1)
        def _add_currency(raw: dict[str, Any]) -> dict[str, Any]:
            return {**raw, "currency": "EUR"}
        """

        def add(fn: Upcaster) -> Upcaster:
            self.add_upcaster(type_name, from_version, fn)
            return fn

        return add

    def lookup(self, type_name: str) -> RegisteredType:
        """The entry for a wire name.

        Raises:
            UnknownTypeRejected: (an ``UnknownMessageType`` and ``InputRejected``, reason
                ``unknown_type``) no class is registered under it.
        """
        entry = self._by_name.get(type_name)
        if entry is None:
            shown = type_name[:200] if isinstance(type_name, str) else repr(type_name)[:200]
            raise UnknownTypeRejected("unknown_type", f"message type [{shown}] is not registered")
        return entry

    def lookup_class(self, cls: type) -> RegisteredType:
        """The entry for a class (exactly that class, not a subclass).

        Raises:
            UnknownMessageType: the class is not registered.
        """
        entry = self._by_class.get(cls)
        if entry is None:
            raise UnknownMessageType(f"class [{_qualname(cls)}] is not registered")
        return entry

    def upcasters_from(self, entry: RegisteredType, version: int) -> list[tuple[int, Upcaster]]:
        """The upcasters taking ``version`` to the class's current version, in order.

        Raises:
            UnknownVersionRejected: (an ``UnknownSchemaVersion`` and ``InputRejected``, reason
                ``unknown_version``) the version is newer than the class, below 1, or a step on
                the way has no upcaster.
        """
        if version == entry.version:
            return []
        if type(version) is not int or not 1 <= version < entry.version:
            raise UnknownVersionRejected(
                "unknown_version",
                f"[{entry.type_name}] has no schema version [{version!r}]; the registered "
                f"class is at v{entry.version}",
            )
        steps = []
        for step in range(version, entry.version):
            upcaster = self._upcasters.get((entry.type_name, step))
            if upcaster is None:
                raise UnknownVersionRejected(
                    "unknown_version",
                    f"[{entry.type_name}] v{version} cannot be read: no upcaster from v{step} "
                    f"to v{step + 1} (the class is at v{entry.version})",
                )
            steps.append((step, upcaster))
        return steps

    def __contains__(self, item: object) -> bool:
        return item in self._by_name or item in self._by_class

    def __iter__(self) -> Iterator[RegisteredType]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"<TypeRegistry types={len(self._by_name)} upcasters={len(self._upcasters)}>"

    @staticmethod
    def _entry(cls: type[Message]) -> RegisteredType:
        if not (isinstance(cls, type) and issubclass(cls, Message)):
            raise ProtocolError(f"[{cls!r}] is not a Command, Event or Reply class")
        if "__type_name__" not in cls.__dict__:
            raise ProtocolError(f"[{_qualname(cls)}] has no @message(...) of its own")
        params = getattr(cls, "__dataclass_params__", None)
        if not dataclasses.is_dataclass(cls) or params is None or not params.frozen:
            raise ProtocolError(f"[{_qualname(cls)}] must be a @dataclass(frozen=True, ...)")
        codec = compile_dataclass(cls)
        return RegisteredType(cls, cls.__type_name__, cls.__schema_version__, codec)


def _check_upcaster_version(type_name: str, from_version: int, current: int) -> None:
    if from_version >= current:
        raise ProtocolError(
            f"upcaster from v{from_version} of [{type_name}] is at or past its class's v{current}"
        )


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"

"""The serializer the runtime uses: message object <-> (type name, schema version, payload bytes).

The journal stores exactly these three; reading an old version runs the registered upcasters so
old journals replay into today's classes. Every failure on the way in is an ``InputRejected``
(reason tag + detail); every failure on the way out is a ``ProtocolError``.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar, overload

import msgpack

from repertory.errors import InputRejected, ProtocolError
from repertory.protocols._limits import DEFAULT_LIMITS, InputLimits, check_depth
from repertory.protocols._messages import Message
from repertory.protocols._registry import RegisteredType, TypeRegistry
from repertory.protocols._wire import Invalid, unpack

__all__ = ["Serializer"]

M = TypeVar("M", bound=Message)


class Serializer:
    """Encodes registered messages to msgpack payloads and decodes them back, within limits.

    Args:
        registry: the allow-list of classes and their upcasters.
        limits: bounds on what is decoded; the encoder also refuses to write what they would
            refuse to read, so a journaled payload stays readable.
    """

    def __init__(self, registry: TypeRegistry, limits: InputLimits = DEFAULT_LIMITS) -> None:
        self.registry = registry
        self.limits = limits
        self._unpack_options = limits.unpack_options()
        self._smallest_length = limits.smallest_length
        self._packers = threading.local()  # a Packer keeps a buffer: one per thread

    def _packer(self) -> msgpack.Packer:
        """This thread's packer: ``packb`` builds one per call, which cost four times the
        packing of a small message."""
        packer: msgpack.Packer | None = getattr(self._packers, "packer", None)
        if packer is None:
            packer = self._packers.packer = msgpack.Packer(use_bin_type=True)
        return packer

    def encode(self, message: Message) -> bytes:
        """The payload bytes of a registered message (see ``encode_message``)."""
        return self.encode_message(message)[2]

    def encode_message(self, message: Message) -> tuple[str, int, bytes]:
        """Encode a registered message.

        Returns:
            ``(type_name, schema_version, payload)``: what the journal and envelopes store.

        Raises:
            UnknownMessageType: its class is not registered.
            ProtocolError: a value does not fit its field (naming the field), or the payload
                would break the input limits.
        """
        entry = self.registry.lookup_class(type(message))
        name = entry.type_name
        try:
            data: bytes = self._packer().pack(entry.codec.encode(message))
        except Invalid as exc:
            raise ProtocolError(f"cannot encode [{name}{exc.where()}]: {exc.why}") from None
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise ProtocolError(f"cannot encode [{name}]: {exc!r}") from None
        depth, limits = entry.codec.depth, self.limits
        if len(data) > self._smallest_length or depth is None or depth > limits.max_depth:
            self._check_readable(name, data)
        return name, entry.version, data

    @overload
    def decode_message(self, type_name: str, version: int, data: bytes) -> Message: ...

    @overload
    def decode_message(self, type_name: str, version: int, data: bytes, expect: type[M]) -> M: ...

    def decode_message(
        self, type_name: str, version: int, data: bytes, expect: type[Message] = Message
    ) -> Message:
        """Decode a payload into today's class for ``type_name``, upcasting older versions.

        Args:
            type_name: the wire name stored beside the payload.
            version: the schema version the payload was written with.
            data: the payload bytes.
            expect: the kind required (``Command`` at ingress, ``Event`` on replay).

        Raises:
            InputRejected: every refusal, with ``reason`` one of ``unknown_type`` (an
                ``UnknownTypeRejected``), ``unknown_version`` (an ``UnknownVersionRejected``),
                ``wrong_kind``, ``too_large``, ``too_deep``, ``malformed``, ``bad_field``,
                ``upcast_failed``.
        """
        entry = self.registry.lookup(type_name)
        if not issubclass(entry.cls, expect):
            raise InputRejected(
                "wrong_kind",
                f"[{type_name}] is registered as {_kind(entry.cls)}, expected {expect.__name__}",
            )
        steps = self.registry.upcasters_from(entry, version)
        raw = unpack(data, self.limits, f"[{type_name}] v{version} payload", self._unpack_options)
        for step, upcaster in steps:
            raw = _upcast(entry, step, upcaster, raw)
        return self._build(entry, raw, check_first=bool(steps))

    def _build(self, entry: RegisteredType, raw: Any, check_first: bool) -> Message:
        depth, max_depth = entry.codec.depth, self.limits.max_depth
        try:
            if check_first or depth is None or depth > max_depth:
                check_depth(raw, max_depth)
            message: Message = entry.codec.decode(raw)
            return message
        except Invalid as exc:
            try:  # input too deep for its type: say so rather than "bad field"
                check_depth(raw, max_depth)
            except InputRejected as deep:
                raise InputRejected(deep.reason, f"[{entry.type_name}] {deep.detail}") from None
            where = f"[{entry.type_name}{exc.where()}]"
            raise InputRejected(exc.reason, f"{where} {exc.why}") from None
        except InputRejected as exc:
            raise InputRejected(exc.reason, f"[{entry.type_name}] {exc.detail}") from None
        except RecursionError:
            raise InputRejected("too_deep", f"[{entry.type_name}] nested too deeply") from None
        except Exception as exc:  # the boundary: nothing but a typed error leaves a decode
            raise InputRejected("malformed", f"[{entry.type_name}] {exc!r}") from None

    def _check_readable(self, name: str, data: bytes) -> None:
        try:
            check_depth(unpack(data, self.limits, f"[{name}] payload"), self.limits.max_depth)
        except InputRejected as exc:
            raise ProtocolError(
                f"cannot encode [{name}]: readers would refuse it ({exc.reason}: {exc.detail})"
            ) from None

    def __repr__(self) -> str:
        return f"<Serializer {self.registry!r} limits={self.limits!r}>"


def _upcast(entry: RegisteredType, step: int, upcaster: Any, raw: Any) -> dict[str, Any]:
    what = f"[{entry.type_name}] upcaster v{step} -> v{step + 1}"
    if type(raw) is not dict:
        raise InputRejected("malformed", f"{what}: payload is not a map")
    try:
        result = upcaster(raw)
    except Exception as exc:
        raise InputRejected("upcast_failed", f"{what} failed: {exc!r}") from None
    if type(result) is not dict:
        raise InputRejected("upcast_failed", f"{what} returned [{type(result).__name__}]")
    return result


def _kind(cls: type) -> str:
    for base in cls.__mro__[1:]:
        if base.__module__ == Message.__module__:
            return base.__name__
    return "Message"

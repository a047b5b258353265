"""The msgpack wire format and the one place where untrusted bytes are unpacked.

Scalars (None, bool, int, float, str, bytes), arrays and str-keyed maps are msgpack's own. Four
extension types carry what msgpack lacks, each exact and fixed-layout so other languages can read
them (no pickle, ever):

=====  ========  ==================================================================================
code   type      payload
=====  ========  ==================================================================================
1      datetime  12 bytes ``>qi``: microseconds since 1970-01-01T00:00Z (the instant), then the UTC
                 offset in seconds. Decoded with a fixed-offset ``timezone``: same instant, same
                 wall time; a ``ZoneInfo`` name is not kept. Naive datetimes are refused.
2      Decimal   ``str(value)`` in ASCII: exact digits and exponent, the sign of zero kept.
                 NaN and infinities are refused (no business quantity is one); at most
                 ``MAX_EXT_LEN`` (256) characters.
3      UUID      the 16 bytes.
4      date      4 bytes ``>i``: the proleptic Gregorian ordinal.
=====  ========  ==================================================================================

Which Python type a value comes back as (tuple or list, an enum, a nested dataclass) is decided
by the field's annotation, not by the bytes (see ``_plan``). msgpack's standard timestamp
(ext -1), written by other languages, is read as a UTC datetime; we always write ext 1.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Any
from uuid import UUID

import msgpack

from repertory.errors import InputRejected
from repertory.protocols._limits import MAX_EXT_LEN, InputLimits

__all__ = ["EXT_DATE", "EXT_DATETIME", "EXT_DECIMAL", "EXT_UUID", "Invalid", "unpack"]

EXT_DATETIME = 1
EXT_DECIMAL = 2
EXT_UUID = 3
EXT_DATE = 4

_DATETIME = struct.Struct(">qi")
_DATE = struct.Struct(">i")
_US = 1_000_000
_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ExtType = msgpack.ExtType


class Invalid(Exception):
    """A value that does not fit its declared type; unwinds collecting where it sits.

    Internal: the package boundary turns it into ``InputRejected`` or ``ProtocolError``.
    """

    def __init__(self, why: str, reason: str = "bad_field") -> None:
        super().__init__(why)
        self.why = why
        self.reason = reason
        self.path: list[str] = []

    def where(self) -> str:
        return "".join(reversed(self.path))


def encode_datetime(value: datetime) -> Any:
    offset = value.utcoffset()
    if offset is None:
        raise Invalid(
            f"naive datetime [{value.isoformat()}] refused: give it a tzinfo "
            "(e.g. datetime.now(UTC)), a journal must not guess the zone"
        )
    if offset.microseconds:
        raise Invalid(f"UTC offset [{offset}] has microseconds; only whole seconds are kept")
    since = value - _EPOCH  # aware arithmetic: exact, and no datetime out of range on the way
    instant = (since.days * _DAY + since.seconds) * _US + since.microseconds
    return _ExtType(EXT_DATETIME, _DATETIME.pack(instant, offset.days * _DAY + offset.seconds))


def encode_decimal(value: Decimal) -> Any:
    if not value.is_finite():
        raise Invalid(f"Decimal [{value}] refused: only finite values are encoded")
    text = str(value).encode("ascii")
    if len(text) > MAX_EXT_LEN:
        raise Invalid(f"Decimal of [{len(text)}] characters, over the limit of [{MAX_EXT_LEN}]")
    return _ExtType(EXT_DECIMAL, text)


def encode_uuid(value: UUID) -> Any:
    return _ExtType(EXT_UUID, value.bytes)


def encode_date(value: date) -> Any:
    return _ExtType(EXT_DATE, _DATE.pack(value.toordinal()))


@lru_cache(maxsize=512)
def _epoch_at(offset_s: int) -> datetime:
    # The epoch's wall time in a fixed zone; adding a timedelta keeps the zone, no conversion.
    zone = UTC if offset_s == 0 else timezone(timedelta(seconds=offset_s))
    return datetime(1970, 1, 1, tzinfo=zone)


def _decode_datetime(data: bytes) -> datetime:
    instant, offset_s = _DATETIME.unpack(data)
    if not -_DAY < offset_s < _DAY:
        raise ValueError(f"UTC offset [{offset_s}] s out of range")
    return _epoch_at(offset_s) + timedelta(microseconds=instant + offset_s * _US)


def _decode_decimal(data: bytes) -> Decimal:
    value = Decimal(data.decode("ascii"))
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


def _decode_uuid(data: bytes) -> UUID:
    return UUID(bytes=data)


def _decode_date(data: bytes) -> date:
    (ordinal,) = _DATE.unpack(data)
    return date.fromordinal(ordinal)


_EXT_DECODERS = {
    EXT_DATETIME: ("datetime", _decode_datetime),
    EXT_DECIMAL: ("Decimal", _decode_decimal),
    EXT_UUID: ("UUID", _decode_uuid),
    EXT_DATE: ("date", _decode_date),
}


def _ext_hook(code: int, data: bytes) -> object:
    entry = _EXT_DECODERS.get(code)
    if entry is None:
        raise InputRejected("malformed", f"unknown msgpack extension type [{code}]")
    name, decode = entry
    try:
        return decode(data)
    except (ValueError, TypeError, OverflowError, ArithmeticError, struct.error) as exc:
        raise InputRejected("malformed", f"invalid {name} extension value: {exc}") from None


def encode_any(value: Any) -> Any:
    """Encode a value whose field is untyped (``Any``/``object``): by its runtime type.

    On decode such a value comes back as msgpack gives it: lists for every array, enum values
    rather than members. Annotate fields to get exact types back.
    """
    kind = type(value)
    if kind in _NATIVE:
        return value
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return [encode_any(item) for item in value]
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise Invalid(f"map key [{key!r}] is not a str")
        return {key: encode_any(item) for key, item in value.items()}
    if isinstance(value, Enum):
        return encode_any(value.value)
    if isinstance(value, datetime):
        return encode_datetime(value)
    if isinstance(value, date):
        return encode_date(value)
    if isinstance(value, Decimal):
        return encode_decimal(value)
    if isinstance(value, UUID):
        return encode_uuid(value)
    if isinstance(value, (str, int, float, bytes)):
        return value
    raise Invalid(f"cannot encode a [{kind.__name__}] in an untyped field; annotate the field")


_NATIVE = frozenset({str, int, float, bool, bytes, type(None)})


def unpack(
    data: object, limits: InputLimits, what: str, options: dict[str, Any] | None = None
) -> Any:
    """Unpack untrusted bytes within ``limits``; every failure is an ``InputRejected``.

    Args:
        data: the bytes; anything else is rejected as ``malformed``.
        limits: size checked first, then lengths while unpacking.
        what: names the input in error details (``"[account.Deposit] payload"``).
        options: ``limits.unpack_options()``, when the caller keeps them prepared.

    Raises:
        InputRejected: ``too_large``, ``too_deep`` or ``malformed``.
    """
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputRejected("malformed", f"{what}: expected bytes, got [{type(data).__name__}]")
        data = bytes(data)
    if len(data) > limits.max_bytes:
        raise InputRejected(
            "too_large", f"{what}: [{len(data)}] bytes, over the limit of [{limits.max_bytes}]"
        )
    try:
        return msgpack.unpackb(data, ext_hook=_ext_hook, **(options or limits.unpack_options()))
    except InputRejected as exc:
        raise InputRejected(exc.reason, f"{what}: {exc.detail}") from None
    except msgpack.StackError:
        raise InputRejected("too_deep", f"{what}: nesting beyond msgpack's own limit") from None
    except RecursionError:
        raise InputRejected("too_deep", f"{what}: nesting beyond the recursion limit") from None
    except ValueError as exc:
        text = str(exc)
        if "exceeds max_" in text:
            raise InputRejected("too_large", f"{what}: {text}") from None
        raise InputRejected("malformed", f"{what}: not valid msgpack ({text or exc!r})") from None
    except (TypeError, OverflowError, MemoryError, msgpack.UnpackException) as exc:
        raise InputRejected("malformed", f"{what}: not valid msgpack ({exc!r})") from None

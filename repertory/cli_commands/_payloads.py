"""Turning journal payloads into JSON: typed through an application's registry when one is
given, else straight from msgpack (the extension types of the wire format decoded by hand, so
a journal can be read without the classes that wrote it)."""

from __future__ import annotations

import base64
import dataclasses
import enum
import struct
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgpack

from repertory.errors import ProtocolError
from repertory.protocols import Serializer

__all__ = ["decode_payload", "jsonable"]

_DATETIME = struct.Struct(">qi")
_DATE = struct.Struct(">i")


def jsonable(value: Any) -> Any:
    """``value`` as JSON types: dataclasses as dicts, Decimals and UUIDs as strings, datetimes
    in ISO 8601, bytes in base64 (prefixed ``base64:``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    return value


def decode_payload(
    serializer: Serializer | None, type_name: str, version: int, payload: bytes
) -> tuple[Any, Any]:
    """``(message or None, JSON value)`` of one payload; a type the registry does not know is
    shown raw rather than refused."""
    if serializer is not None:
        try:
            message = serializer.decode_message(type_name, version, payload)
            return message, jsonable(message)
        except ProtocolError:
            pass
    return None, jsonable(msgpack.unpackb(payload, ext_hook=_ext, strict_map_key=False))


def _ext(code: int, data: bytes) -> Any:
    if code == 1:
        micros, offset = _DATETIME.unpack(data)
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        return instant.astimezone(timezone(timedelta(seconds=offset)))
    if code == 2:
        return Decimal(data.decode("ascii"))
    if code == 3:
        return UUID(bytes=data)
    if code == 4:
        return date.fromordinal(_DATE.unpack(data)[0])
    return msgpack.ExtType(code, data)

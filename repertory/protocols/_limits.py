"""Input limits: how big, deep and long untrusted input may be before we refuse to decode it.

Sizes are checked before decoding, string/binary/array/map lengths by msgpack while decoding
(it refuses to allocate past them), and depth on the decoded structure (see ``check_depth``).
Extension values (datetime, Decimal, UUID, date) are at most ``MAX_EXT_LEN`` bytes, not a setting:
their sizes are part of the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from repertory.errors import InputRejected

if TYPE_CHECKING:
    from repertory.config._protocols import ProtocolSettings

__all__ = ["DEFAULT_LIMITS", "MAX_EXT_LEN", "InputLimits", "check_depth"]

MiB = 1024 * 1024
MAX_EXT_LEN = 256
"""Longest extension value read or written (a Decimal's text is the only long one), in bytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InputLimits:
    """Bounds for one decoded record or payload. Every limit is inclusive.

    The encoder refuses to write what these limits would refuse to read, so nothing journaled
    under a set of limits becomes unreadable under the same limits.
    """

    max_bytes: int = MiB
    """Encoded size of one record value or payload, in bytes. Default 1 MiB."""

    max_depth: int = 32
    """Nesting of arrays and maps; a flat message is depth 1. Default 32."""

    max_str_len: int = 256 * 1024
    """Length of one string, in UTF-8 bytes. Default 256 KiB."""

    max_bin_len: int = MiB
    """Length of one binary value, in bytes (an envelope's payload is one). Default 1 MiB."""

    max_array_len: int = 65_536
    """Items in one array (list, tuple, set). Default 65 536."""

    max_map_len: int = 65_536
    """Entries in one map (message, nested dataclass, dict). Default 65 536."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"InputLimits.{name} must be a positive int, got [{value!r}]")

    @classmethod
    def from_settings(cls, settings: ProtocolSettings) -> InputLimits:
        """The limits configured in the ``protocols`` settings section."""
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})

    def unpack_options(self) -> dict[str, Any]:
        """Keyword arguments for ``msgpack.unpackb`` enforcing these limits."""
        return {
            "raw": False,
            "strict_map_key": True,
            "use_list": True,
            "max_str_len": self.max_str_len,
            "max_bin_len": self.max_bin_len,
            "max_array_len": self.max_array_len,
            "max_map_len": self.max_map_len,
            "max_ext_len": MAX_EXT_LEN,
            "timestamp": 3,  # msgpack's standard timestamp (ext -1) reads as an aware datetime
        }

    @property
    def smallest_length(self) -> int:
        """At or below this encoded size no string, binary, array or map can break a limit."""
        return min(
            self.max_bytes, self.max_str_len, self.max_bin_len, self.max_array_len, self.max_map_len
        )


DEFAULT_LIMITS = InputLimits()


def check_depth(raw: object, max_depth: int) -> None:
    """Refuse a decoded structure nested deeper than ``max_depth`` (iterative: no recursion).

    Raises:
        InputRejected: reason ``too_deep``.
    """
    level: list[Any] = [raw] if type(raw) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise InputRejected("too_deep", f"nesting deeper than the limit of [{max_depth}]")
        below: list[Any] = []
        for item in level:
            values = item.values() if type(item) is dict else item
            below.extend(v for v in values if type(v) in _CONTAINERS)
        level = below


_CONTAINERS = (dict, list)

"""Settings of the ``protocols`` section: bounds on untrusted input (records, payloads)."""

from __future__ import annotations

from pydantic import Field

from repertory.config._base import Section

MiB = 1024 * 1024


class ProtocolSettings(Section):
    max_bytes: int = Field(default=MiB, ge=64, le=64 * MiB)
    """Encoded size of one record value or payload, in bytes. Default 1 MiB."""

    max_depth: int = Field(default=32, ge=2, le=512)
    """Nesting of arrays and maps in one payload; a flat message is depth 1. Default 32."""

    max_str_len: int = Field(default=256 * 1024, ge=1, le=64 * MiB)
    """Length of one string, in UTF-8 bytes. Default 256 KiB."""

    max_bin_len: int = Field(default=MiB, ge=1, le=64 * MiB)
    """Length of one binary value (an envelope's payload is one), in bytes. Default 1 MiB."""

    max_array_len: int = Field(default=65_536, ge=1, le=64 * MiB)
    """Items in one array (list, tuple, set). Default 65 536."""

    max_map_len: int = Field(default=65_536, ge=1, le=64 * MiB)
    """Entries in one map (message, nested dataclass, dict). Default 65 536."""

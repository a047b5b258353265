"""The records the Kafka edges pass around, free of any client library's types.

``SourceRecord`` is a consumed record as ingress needs it; ``OutRecord`` is one record a
transaction will produce. Keeping both plain lets the transaction contents be built and tested
without a broker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from repertory.protocols import Headers

__all__ = ["OutRecord", "SourceRecord", "source_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRecord:
    """One record consumed from the commands topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0

    def where(self) -> str:
        """``topic/partition@offset``, for messages and logs."""
        return f"{self.topic}/{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutRecord:
    """One record to produce; ``key`` decides its partition (murmur2, like every producer)."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


def source_record(record: Any) -> SourceRecord:
    """A ``SourceRecord`` from an aiokafka ``ConsumerRecord`` (headers normalised to bytes)."""
    headers: Sequence[tuple[str, bytes | None]] = record.headers or ()
    return SourceRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=_normalised(headers),
        timestamp_ms=record.timestamp or 0,
    )


def _normalised(headers: Sequence[tuple[str, bytes | None]]) -> tuple[tuple[str, bytes], ...]:
    """The client's header pairs, kept as they are unless a value is None (rare): every
    consumed record passes here, and each new pair is one more object for the collector."""
    for _, value in headers:
        if value is None:
            return tuple((name, value or b"") for name, value in headers)
    return tuple(headers)  # type: ignore[arg-type]  # no None value, checked above

"""Dead letters: a record that cannot become a command, or a command given up on.

The original key and value travel unchanged (so the record can be inspected and replayed) and
so do its headers; ours are added under the ``dead_letter.`` prefix: why, which error class,
a detail, and where the record came from. The partition then moves on (guarantee 6).
"""

from __future__ import annotations

from repertory.kafka._records import OutRecord, SourceRecord

__all__ = [
    "DEAD_LETTER_HEADERS",
    "MISROUTED",
    "STOPPED_ENTITY",
    "dead_letter",
    "dead_letter_info",
]

MISROUTED = "misrouted"
"""Reason of a record whose partition is not murmur2(key) mod n."""

STOPPED_ENTITY = "entity_stopped"
"""Reason of a command whose entity was stopped by its supervisor."""

_PREFIX = "dead_letter."
DEAD_LETTER_HEADERS = tuple(
    _PREFIX + name
    for name in (
        "reason",
        "error_class",
        "detail",
        "source_topic",
        "source_partition",
        "source_offset",
    )
)
"""The headers a dead letter carries besides the original record's own."""

_MAX_DETAIL = 2000


def dead_letter(
    record: SourceRecord, topic: str, reason: str, error_class: str, detail: str
) -> OutRecord:
    """The dead-letter record for ``record``.

    Args:
        record: the input record, kept whole.
        topic: the dead-letter topic.
        reason: a short tag (an ``InputRejected.reason``, ``misrouted``, ``entity_stopped``).
        error_class: the class name of the error that condemned it.
        detail: a human-readable explanation (cut to 2000 characters).
    """
    ours = dict(
        zip(
            DEAD_LETTER_HEADERS,
            (
                reason,
                error_class,
                detail[:_MAX_DETAIL],
                record.topic,
                str(record.partition),
                str(record.offset),
            ),
            strict=True,
        )
    )
    headers = [(n, v) for n, v in record.headers if not n.startswith(_PREFIX)]
    headers.extend((name, value.encode()) for name, value in ours.items())
    return OutRecord(topic=topic, key=record.key, value=record.value, headers=headers)


def dead_letter_info(headers: object) -> dict[str, str]:
    """Our ``dead_letter.*`` headers of a consumed dead letter, without the prefix."""
    found: dict[str, str] = {}
    for name, value in headers or ():  # type: ignore[attr-defined]
        if isinstance(name, str) and name.startswith(_PREFIX):
            found[name[len(_PREFIX) :]] = bytes(value or b"").decode(errors="replace")
    return found

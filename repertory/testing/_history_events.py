"""Checks on events: the journal's holes and dropped rows, and what was published against the
chain (guarantees 3 and 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from repertory.testing._history_chain import missing_links, resolve_chain
from repertory.testing._history_input import Anchor, JournalRow, PublishedEvent
from repertory.testing._history_report import Anomaly, Finding

__all__ = ["ResolvedJournal", "gap_findings", "publication_findings", "resolve"]

_Identity = tuple[int, int, str, str]
"""(seq_nr, writer_epoch, command_id, event_type): what a published event must match."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedJournal:
    """One entity's raw rows split by the chain rule."""

    anchor: Anchor
    chain: tuple[JournalRow, ...]
    dropped: tuple[JournalRow, ...]
    gaps: tuple[tuple[int, int], ...]


def resolve(rows: Sequence[JournalRow], anchor: Anchor) -> ResolvedJournal:
    """Resolve one entity's rows; rows at or below the anchor are neither chain nor dropped.

    Raises:
        ValueError: two rows with one key ``(seq_nr, writer_epoch)`` but different contents
            (content under an epoch is never changed).
    """
    unique: dict[tuple[int, int], JournalRow] = {}
    for row in rows:
        key = (row.seq_nr, row.writer_epoch)
        if unique.setdefault(key, row) != row:
            raise ValueError(
                f"two different rows at seq_nr [{key[0]}] epoch [{key[1]}] "
                f"for [{row.persistence_id}]"
            )
    chain = resolve_chain(unique.values(), anchor)
    in_chain = {(row.seq_nr, row.writer_epoch) for row in chain}
    dropped = sorted(
        (r for k, r in unique.items() if k[0] > anchor.seq_nr and k not in in_chain),
        key=lambda r: (r.seq_nr, r.writer_epoch),
    )
    return ResolvedJournal(
        anchor=anchor,
        chain=tuple(chain),
        dropped=tuple(dropped),
        gaps=tuple(missing_links(unique.values(), anchor)),
    )


def gap_findings(pid: str, journal: ResolvedJournal) -> list[Finding]:
    """One finding per missing link."""
    return [
        Finding(
            anomaly=Anomaly.JOURNAL_GAP,
            persistence_id=pid,
            seq_nr=seq_nr,
            detail=f"no row at seq_nr [{seq_nr}] epoch [{epoch}], which a row continues",
        )
        for seq_nr, epoch in journal.gaps
    ]


def publication_findings(
    pid: str, journal: ResolvedJournal, published: Sequence[PublishedEvent]
) -> list[Finding]:
    """Dropped rows published, chain events unpublished or out of order, and published events
    that are no row at all. Events at or below the anchor (deleted, or under the snapshot) are
    out of scope. Each distinct event counts once however often it was published."""
    read = [event for event in published if event.seq_nr > journal.anchor.seq_nr]
    chain = {_row_identity(row): row for row in journal.chain}
    dropped = {_row_identity(row)[:3]: row for row in journal.dropped}
    seen = {_event_identity(event) for event in read}
    findings = _order_findings(pid, [e for e in read if _event_identity(e) in chain])
    findings += [
        _finding(pid, Anomaly.JOURNALED_NOT_PUBLISHED, identity, "journaled, never published")
        for identity in chain
        if identity not in seen
    ]
    published_dropped = {identity[:3] for identity in seen if identity[:3] in dropped}
    findings += [
        _finding(pid, Anomaly.DROPPED_PUBLISHED, _row_identity(dropped[key]), "dropped, published")
        for key in sorted(published_dropped)
    ]
    findings += [
        _finding(pid, Anomaly.PUBLISHED_NOT_IN_CHAIN, identity, "published, not journaled")
        for identity in sorted(seen)
        if identity not in chain and identity[:3] not in dropped
    ]
    return findings


def _order_findings(pid: str, events: Sequence[PublishedEvent]) -> list[Finding]:
    """Per entity, the first occurrence of each seq_nr must come in ascending order."""
    findings: list[Finding] = []
    first_seen: set[int] = set()
    highest = 0
    for event in events:
        if event.seq_nr in first_seen:
            continue
        first_seen.add(event.seq_nr)
        if event.seq_nr < highest:
            where = f" (partition {event.partition} offset {event.offset})"
            findings.append(
                _finding(
                    pid,
                    Anomaly.PUBLISHED_OUT_OF_ORDER,
                    _event_identity(event),
                    f"first published after seq_nr [{highest}]{where}",
                )
            )
        highest = max(highest, event.seq_nr)
    return findings


def _finding(pid: str, anomaly: Anomaly, identity: _Identity, what: str) -> Finding:
    seq_nr, epoch, command_id, event_type = identity
    return Finding(
        anomaly=anomaly,
        persistence_id=pid,
        command_id=command_id,
        seq_nr=seq_nr,
        detail=f"[{event_type}] seq_nr [{seq_nr}] epoch [{epoch}] of [{command_id}] {what}",
    )


def _row_identity(row: JournalRow) -> _Identity:
    return (row.seq_nr, row.writer_epoch, row.command_id, row.event_type)


def _event_identity(event: PublishedEvent) -> _Identity:
    return (event.seq_nr, event.writer_epoch, event.command_id, event.event_type)

"""The history checker: judges a run of the engine from what was sent, answered, journaled
(raw rows of every epoch) and published, for integration, fault-injection and soak tests.

Fill a ``History`` (Kafka and embedded tests alike), call ``check_history``, then
``report.assert_ok(min_applied=...)``. The checker needs the standard library only and resolves
each entity's chain with its own implementation of the rule (``resolve_chain``), never with the
journal's, so a resolver bug cannot hide itself.

What counts, per entity (the entity of a command is the one of its first send):

- **applied**: a command id appears in the entity's canonical chain (above its anchor). A
  command whose raw row sits at or below the anchor (under a snapshot) counts as applied but
  is not judged further nor counted as progress; one deleted with its rows looks lost.
- **expected applied**: a valid command acknowledged OK by any reply. A valid command is also
  expected applied when it was answered with an error or dead-lettered and never rejected
  (a valid command must not fail), so each of these, when not applied, is **lost**. A valid
  command whose every reply is a rejection is rejected and must *not* be applied
  (``rejected_applied``). A valid command never applied, answered or dead-lettered is
  **unresolved**: reported apart from lost, and a failure unless ``allow_unresolved=True``
  (for runs stopped before they drained). Commands sent with ``valid=False`` must never be
  applied (``invalid_applied``) and are otherwise not judged.
- **applied twice**: one command id in the chain in more than one atomic write; an atomic
  write is taken as a run of consecutive rows with one command id and one writer epoch, so a
  command re-applied right after itself by the same writer is not seen. Counted per command.
- **applied out of order**: a command whose first application comes after that of a command
  later in its lane: the Kafka partition of the row's (or else its first send's) source, by
  offset; or, with no source, the send order. Counted per command.
- **dropped rows**: rows above the anchor outside the chain. Expected after a zombie, so they
  are reported but do not fail the check; a dropped row whose ``(seq_nr, epoch, command id)``
  was published is ``dropped_published`` (guarantee 3), which does.
- **journal gap**: a ``(seq_nr, epoch)`` above the anchor that some row continues
  (``prev_epoch``) but no row holds. The chain itself is contiguous by construction; a hole is
  what makes a lineage break and fall back.
- **publication** (guarantee 4), comparing ``(seq_nr, epoch, command id, event type)``, not
  payloads (the journal's and Kafka's decoders may represent values differently): each chain
  event published at least once (else ``journaled_not_published``); per entity, the first
  occurrence of each seq_nr in read order ascending (else ``published_out_of_order``; later
  duplicates are allowed); each published event a chain row (else ``published_not_in_chain``,
  or ``dropped_published`` when it is a dropped row). Events at or below the anchor are out
  of scope. Distinct events count once. Not judged when ``History.published`` is ``None``.
- **tally mismatch**: the optional domain tally, given the commands acknowledged OK in send
  order, differs from the engine's final state of an entity (missing on either side differs).

Progress is the number of distinct commands applied over all chains, and that per second of
the run. ``ok`` fails on any anomaly, any unresolved command, or nothing applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from repertory.testing._history_chain import Linked, missing_links, resolve_chain
from repertory.testing._history_commands import (
    CommandRecord,
    applications,
    command_findings,
    index_commands,
    order_findings,
    tally_findings,
    twice_findings,
)
from repertory.testing._history_events import gap_findings, publication_findings, resolve
from repertory.testing._history_input import (
    Ack,
    AckOutcome,
    Anchor,
    DeadLetter,
    History,
    JournalRow,
    PublishedEvent,
    SentCommand,
    Source,
    Tally,
)
from repertory.testing._history_report import (
    Anomaly,
    EntityReport,
    Finding,
    HistoryCheckFailed,
    HistoryReport,
)

__all__ = [
    "Ack",
    "AckOutcome",
    "Anchor",
    "Anomaly",
    "DeadLetter",
    "EntityReport",
    "Finding",
    "History",
    "HistoryCheckFailed",
    "HistoryReport",
    "JournalRow",
    "Linked",
    "PublishedEvent",
    "SentCommand",
    "Source",
    "Tally",
    "check_history",
    "missing_links",
    "resolve_chain",
]


def check_history(history: History) -> HistoryReport:
    """Judge a run; see the module doc for what each count means.

    Args:
        history: what the run sent, received, journaled and published.

    Returns:
        The verdict per entity and in total.

    Raises:
        ValueError: two different journal rows share one key.
    """
    commands = index_commands(history)
    rows: dict[str, list[JournalRow]] = {}
    for row in history.journal:
        rows.setdefault(row.persistence_id, []).append(row)
    published: dict[str, list[PublishedEvent]] = {}
    for event in history.published or ():
        published.setdefault(event.persistence_id, []).append(event)
    tallied: dict[str, list[Finding]] = {}
    if history.tally is not None and history.final_states is not None:
        for finding in tally_findings(history.tally, commands, history.final_states):
            tallied.setdefault(finding.persistence_id, []).append(finding)
    pids = set(commands) | set(rows) | set(published) | set(history.anchors) | set(tallied)
    entities = {
        pid: _check_entity(
            pid,
            history.anchor_of(pid),
            rows.get(pid, []),
            commands.get(pid, {}),
            None if history.published is None else published.get(pid, []),
            tallied.get(pid, []),
        )
        for pid in sorted(pids)
    }
    return HistoryReport(
        entities=entities,
        duration_s=history.duration_s,
        dead_letters=dict(Counter(letter.reason for letter in history.dead_letters)),
    )


def _check_entity(
    pid: str,
    anchor: Anchor,
    rows: Sequence[JournalRow],
    commands: Mapping[str, CommandRecord],
    published: Sequence[PublishedEvent] | None,
    tallied: Sequence[Finding],
) -> EntityReport:
    journal = resolve(rows, anchor)
    runs = applications(journal.chain)
    applied = {run.command_id for run in runs}
    under_anchor = {row.command_id for row in rows if row.seq_nr <= anchor.seq_nr}
    lost, unresolved = command_findings(pid, commands, applied | under_anchor)
    findings = [
        *lost,
        *twice_findings(pid, runs),
        *order_findings(pid, runs, commands),
        *gap_findings(pid, journal),
        *(publication_findings(pid, journal, published) if published is not None else ()),
        *tallied,
    ]
    return EntityReport(
        persistence_id=pid,
        chain_length=len(journal.chain),
        applied=len(applied),
        dropped_rows=tuple((row.seq_nr, row.writer_epoch) for row in journal.dropped),
        unresolved=tuple(unresolved),
        findings=tuple(findings),
    )

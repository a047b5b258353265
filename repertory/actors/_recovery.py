"""Recovery of one entity in explicit phases: load the snapshot, replay the events, run.

Events are never skipped: a gap in seq_nrs or an ``on_event`` that raises fails recovery with
``ReplayFailed`` and the entity stops (its commands fail) rather than run on a wrong state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from repertory.actors._dedupe import DedupeWindow
from repertory.actors._entity_type import EntityType
from repertory.actors._store import EventStore
from repertory.errors import ReplayFailed

__all__ = ["Phase", "Recovered", "recover"]


class Phase(enum.Enum):
    """Where an entity is in its life; commands wait (stashed in the mailbox) until RUNNING."""

    IDLE = "idle"
    LOADING_SNAPSHOT = "loading-snapshot"
    REPLAYING = "replaying"
    RUNNING = "running"


@dataclass(slots=True)
class Recovered:
    """A rebuilt entity: state, last seq_nr, dedupe memory, the store's write position."""

    state: Any
    seq_nr: int
    dedupe: DedupeWindow
    position: Any
    from_snapshot: int


class _PhaseSink(Protocol):
    """Receives phase changes (the entity, so ``repr`` and statistics show them)."""

    phase: Phase


async def recover(
    store: EventStore,
    entity_type: EntityType[Any, Any, Any],
    persistence_id: str,
    dedupe: DedupeWindow,
    now: float,
    sink: _PhaseSink | None = None,
) -> Recovered:
    """Rebuild an entity from its latest snapshot and the events after it.

    Raises:
        ReplayFailed: ``on_event`` raised, or the events are not contiguous.
        Exception: whatever the store raises (e.g. ``JournalUnavailable``).
    """
    if sink is not None:
        sink.phase = Phase.LOADING_SNAPSHOT
    snapshot = await store.load_snapshot(persistence_id)
    state: Any = entity_type.empty_state
    seq_nr = 0
    if snapshot is not None:
        state, seq_nr = snapshot.state, snapshot.seq_nr
        dedupe.restore(snapshot.dedupe, now)
    if sink is not None:
        sink.phase = Phase.REPLAYING
    recovery = await store.replay(persistence_id, snapshot)
    on_event = entity_type.on_event
    for record in recovery.events:
        if record.seq_nr != seq_nr + 1:
            raise ReplayFailed(
                f"gap in the journal of [{persistence_id}]: seq_nr [{record.seq_nr}] "
                f"follows [{seq_nr}]"
            )
        try:
            state = on_event(state, record.event)
        except Exception as exc:
            raise ReplayFailed(
                f"on_event failed for [{type(record.event).__name__}] seq_nr [{record.seq_nr}] "
                f"of [{persistence_id}]: {exc!r}"
            ) from exc
        seq_nr = record.seq_nr
        dedupe.observe(record, now)
    if sink is not None:
        sink.phase = Phase.RUNNING
    base = snapshot.seq_nr if snapshot is not None else 0
    return Recovered(state, seq_nr, dedupe, recovery.position, base)

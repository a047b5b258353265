"""When an entity's snapshot is due, and saving one without letting a failure spread.

A snapshot is taken when a stored write crosses a multiple of the policy's interval; the runtime
saves it at once (embedded) or holds it until its events are committed (Kafka).
"""

from __future__ import annotations

from repertory.actors._entity import Entity
from repertory.actors._store import EntitySnapshot, EventStore
from repertory.observability import get_logger

__all__ = ["save_quietly", "snapshot_due"]

_log = get_logger("repertory.actors.runtime")


def snapshot_due(
    entity: Entity, seq_nr_before: int, now: float
) -> tuple[EntitySnapshot, int] | None:
    """The snapshot to take after a write moved ``entity`` past ``seq_nr_before``, with how
    many to keep; None when its policy's interval was not crossed (or it has none)."""
    policy = entity.entity_type.snapshots
    if policy is None or entity.seq_nr // policy.every <= seq_nr_before // policy.every:
        return None
    assert entity.dedupe is not None
    snapshot = EntitySnapshot(
        persistence_id=entity.persistence_id,
        seq_nr=entity.seq_nr,
        state=entity.state,
        dedupe=entity.dedupe.memory(),
        timestamp=now,
        position=entity.position,
    )
    return snapshot, policy.keep


async def save_quietly(store: EventStore, snapshot: EntitySnapshot, keep: int) -> None:
    """Save ``snapshot``; a failure is logged, never raised."""
    try:
        await store.save_snapshot(snapshot, keep)
    except Exception as exc:  # a lost snapshot costs a longer replay, nothing more
        _log.warning(
            "snapshot not saved",
            persistence_id=snapshot.persistence_id,
            seq_nr=snapshot.seq_nr,
            error=repr(exc),
        )

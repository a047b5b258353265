"""When an entity's snapshot is due, holding it until its events are committed, and saving
one without letting a failure spread.

A snapshot is taken when a stored write crosses a multiple of the policy's interval; the runtime
saves it at once (embedded) or holds it until its events are committed (Kafka).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from repertory.actors._entity import Entity
from repertory.actors._store import EntitySnapshot, EventStore
from repertory.observability import get_logger

__all__ = ["Snapshots", "save_quietly", "snapshot_due"]

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


class Snapshots:
    """The runtime's snapshots: taken when due, then saved at once or held until committed.

    Args:
        store: where they are saved.
        spawn: starts a coroutine as a task owned by the runtime.
        wait_for_commit: hold each until :meth:`committed` covers its last event (Kafka mode).
    """

    __slots__ = ("_held", "_spawn", "_store", "_wait_for_commit")

    def __init__(
        self,
        store: EventStore,
        spawn: Callable[[Coroutine[Any, Any, None]], object],
        wait_for_commit: bool,
    ) -> None:
        self._store = store
        self._spawn = spawn
        self._wait_for_commit = wait_for_commit
        self._held: dict[str, tuple[EntitySnapshot, int]] = {}

    def __len__(self) -> int:
        """Snapshots held for a commit."""
        return len(self._held)

    def after_stored(self, entity: Entity, seq_nr_before: int, now: float) -> None:
        """Take a snapshot if the policy's interval was crossed by the stored write."""
        due = snapshot_due(entity, seq_nr_before, now)
        if due is None:
            return
        if self._wait_for_commit:
            self._held[entity.persistence_id] = due
        else:
            self._spawn(save_quietly(self._store, *due))

    def committed(self, persistence_id: str, seq_nr: int) -> None:
        """The entity's events up to ``seq_nr`` are committed: save a snapshot held for them."""
        held = self._held.get(persistence_id)
        if held is not None and held[0].seq_nr <= seq_nr:
            del self._held[persistence_id]
            self._spawn(save_quietly(self._store, *held))

    def forget(self, persistence_id: str) -> None:
        """Drop a held snapshot (the entity's ownership moved: the next owner takes its own)."""
        self._held.pop(persistence_id, None)

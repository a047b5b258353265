"""The declaration of an entity type: its name, empty state, handlers and policies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from repertory.actors._effect import Effect
from repertory.actors.supervision import Backoff, SupervisionStrategy

__all__ = ["EntityType", "SnapshotPolicy"]

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotPolicy:
    """Take a snapshot every ``every`` events; keep the newest ``keep`` of them."""

    every: int
    keep: int = 2

    def __post_init__(self) -> None:
        if self.every < 1 or self.keep < 1:
            raise ValueError(f"snapshot every [{self.every}] and keep [{self.keep}] must be >= 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityType(Generic[S, C, E]):
    """One kind of event-sourced entity.

    Both handlers must be pure and deterministic — no clock, no random ids, no I/O, no mutation
    of the state they are given: group commit and redelivery run a command again (against the
    state it will meet), and recovery replays every event through ``on_event``. A command
    carries its own timestamp; ids are derived (from the entity id and seq_nr, say).

    Attributes:
        name: the type's name, first half of every persistence id (``account|42``); no ``|``.
        empty_state: the state before the first event.
        on_command: ``(state, command) -> Effect``; decides, never changes anything itself.
        on_event: ``(state, event) -> state``; returns a new state.
        snapshots: snapshot policy, or ``None`` for none.
        passivation_timeout: idle seconds before the entity is stopped; ``None`` takes the
            runtime's ``passivation_timeout`` setting.
        supervision: what a handler exception leads to (default: ``Backoff()``).
    """

    name: str
    empty_state: S
    on_command: Callable[[S, C], Effect[S, E]]
    on_event: Callable[[S, E], S]
    snapshots: SnapshotPolicy | None = None
    passivation_timeout: float | None = None
    supervision: SupervisionStrategy = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if not self.name or "|" in self.name:
            raise ValueError(f"entity type name [{self.name}] must be non-empty without '|'")
        if self.passivation_timeout is not None and self.passivation_timeout <= 0:
            raise ValueError(f"passivation timeout [{self.passivation_timeout}] must be > 0")

    def persistence_id(self, entity_id: str) -> str:
        """``<type name>|<entity id>``, the journal's key for one entity."""
        return f"{self.name}|{entity_id}"

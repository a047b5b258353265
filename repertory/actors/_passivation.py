"""Active entities, least recently used first; idle ones are passivated by timeout or cap.

One ordered dict per entity type (each type has its own timeout) keeps the entities in order of
last use, so the timer only ever looks at the head of each, and the cap evicts from the heads.
An entity with queued commands or a write in flight is never passivated: it is moved to the
back instead, and looked at again later.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from itertools import islice
from typing import TYPE_CHECKING, Any

from repertory.actors._entity import Entity
from repertory.actors._entity_type import EntityType

if TYPE_CHECKING:
    from repertory.actors._runtime import EntityRuntime

__all__ = ["Passivation"]

_EVICTION_SCAN = 16  # entities looked at per type when the cap needs room


class Passivation:
    """The registry of active entities and the timer that passivates idle ones."""

    __slots__ = ("_by_type", "_count", "_runtime", "_task", "_wake", "passivated")

    def __init__(self, runtime: EntityRuntime) -> None:
        self._runtime = runtime
        self._by_type: dict[str, OrderedDict[str, Entity]] = {}
        self._count = 0
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.passivated = 0

    @property
    def active(self) -> int:
        return self._count

    @property
    def by_type(self) -> dict[str, OrderedDict[str, Entity]]:
        """Active entities per type name, by entity id, least recently used first: the same dict
        for the registry's whole life, for ``EntityRuntime.offer`` to read (not to change)."""
        return self._by_type

    def start(self) -> None:
        self._task = self._runtime.spawn(self._timer())

    def all_entities(self) -> list[Entity]:
        return [entity for entities in self._by_type.values() for entity in entities.values()]

    def get(self, type_name: str, entity_id: str) -> Entity | None:
        entities = self._by_type.get(type_name)
        return entities.get(entity_id) if entities else None

    def clear(self) -> None:
        self._by_type.clear()
        self._count = 0

    def activate(
        self, entity_type: EntityType[Any, Any, Any], entity_id: str, now: float | None = None
    ) -> Entity:
        """The active entity with this id, created (not yet recovered) if there is none;
        ``now`` (default: the clock's) marks its last use."""
        entities = self._by_type.get(entity_type.name)
        if entities is None:
            entities = self._by_type[entity_type.name] = OrderedDict()
        entity = entities.get(entity_id)
        if entity is None:
            entity = self._create(entities, entity_type, entity_id)
        else:
            entities.move_to_end(entity_id)
        entity.last_used = self._runtime.clock.now() if now is None else now
        return entity

    def _create(
        self,
        entities: OrderedDict[str, Entity],
        entity_type: EntityType[Any, Any, Any],
        entity_id: str,
    ) -> Entity:
        runtime = self._runtime
        if self._count >= runtime.settings.max_active_entities:
            self._evict_one()
        entity = Entity(runtime, entity_type, entity_id)
        entities[entity_id] = entity
        self._count += 1
        if entity.metrics is not None:
            entity.metrics.activated()
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        return entity

    def forget(self, entity: Entity) -> bool:
        """Drop ``entity`` from the registry; whether it was there (so an entity leaving twice,
        say stopped while being released, is counted once)."""
        entities = self._by_type.get(entity.entity_type.name)
        if entities is not None and entities.get(entity.entity_id) is entity:
            del entities[entity.entity_id]
            self._count -= 1
            return True
        return False

    def _evict_one(self) -> None:
        oldest: Entity | None = None
        for entities in self._by_type.values():
            for entity in islice(entities.values(), _EVICTION_SCAN):
                if entity.idle:
                    if oldest is None or entity.last_used < oldest.last_used:
                        oldest = entity
                    break
        if oldest is not None:  # otherwise every candidate is busy: run over the cap a while
            self._passivate(oldest)

    def _passivate(self, entity: Entity) -> None:
        self.forget(entity)
        entity.release_putters()
        self.passivated += 1
        if entity.metrics is not None:
            entity.metrics.passivated()

    def _timeout(self, type_name: str) -> float:
        own = self._runtime.types[type_name].passivation_timeout
        return own if own is not None else self._runtime.settings.passivation_timeout

    def _next_deadline(self) -> float | None:
        deadline: float | None = None
        for type_name, entities in self._by_type.items():
            if entities:
                head = next(iter(entities.values()))
                due = head.last_used + self._timeout(type_name)
                deadline = due if deadline is None else min(deadline, due)
        return deadline

    async def _timer(self) -> None:
        clock = self._runtime.clock
        while True:
            deadline = self._next_deadline()
            if deadline is None:
                self._wake = asyncio.get_running_loop().create_future()
                await self._wake
                self._wake = None
                continue
            delay = deadline - clock.now()
            if delay > 0:
                await clock.sleep(delay)
                continue
            self._sweep(clock.now())

    def _sweep(self, now: float) -> None:
        for type_name, entities in self._by_type.items():
            timeout = self._timeout(type_name)
            while entities:
                head = next(iter(entities.values()))
                if now - head.last_used < timeout:
                    break
                if head.idle:
                    self._passivate(head)
                else:  # busy: it is in use, look again a full timeout later
                    head.last_used = now
                    entities.move_to_end(head.entity_id)

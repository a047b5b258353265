"""A test kit for entity types: run commands, look at events, state and replies, restart.

``EntityTestKit`` drives one entity type on an in-process store with a manual clock.
``verify_entity`` checks, with hypothesis, the properties every entity must have: replay equals
folding ``on_event``; snapshot recovery equals full recovery; a duplicate changes nothing;
group commit gives the events and replies of one-at-a-time; handlers are deterministic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repertory.actors import EntityRuntime, EntityType, ManualClock, SnapshotPolicy
from repertory.actors._dedupe import DedupeWindow
from repertory.actors._recovery import recover
from repertory.testing.entity_store import MemoryEventStore

__all__ = ["CommandResult", "EntityTestKit", "verify_entity"]

_ENTITY = "under-test"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command did: the events it stored, the state after, its reply or error."""

    events: tuple[Any, ...]
    state: Any
    reply: Any = None
    error: Exception | None = None


class EntityTestKit:
    """Runs one entity type over a :class:`MemoryEventStore` (``async with``)."""

    def __init__(
        self, entity_type: EntityType[Any, Any, Any], store: MemoryEventStore | None = None
    ):
        self.entity_type = entity_type
        self.store = store or MemoryEventStore()
        self.clock = ManualClock()
        self._runtime: EntityRuntime | None = None

    async def __aenter__(self) -> EntityTestKit:
        self._runtime = EntityRuntime(self.store, [self.entity_type], clock=self.clock)
        await self._runtime.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._runtime is not None
        await self._runtime.__aexit__(*exc)

    @property
    def runtime(self) -> EntityRuntime:
        assert self._runtime is not None, "use the kit in `async with`"
        return self._runtime

    async def run(
        self, command: Any, entity_id: str = _ENTITY, command_id: str = ""
    ) -> CommandResult:
        """Ask ``command``; report the events it added, the state after, the reply or error."""
        pid = self.entity_type.persistence_id(entity_id)
        before = len(self.store.user_events(pid))
        reply: Any = None
        error: Exception | None = None
        try:
            reply = await self.runtime.ref(self.entity_type, entity_id).ask(
                command, timeout=60, command_id=command_id
            )
        except Exception as exc:
            error = exc
        events = tuple(self.store.user_events(pid)[before:])
        return CommandResult(events, self.state(entity_id), reply, error)

    def state(self, entity_id: str = _ENTITY) -> Any:
        """The committed state of the active entity (the empty state if not active)."""
        entity = self.runtime.passivation.get(self.entity_type.name, entity_id)
        return entity.state if entity is not None else self.entity_type.empty_state

    async def restart(self, entity_id: str = _ENTITY) -> Any:
        """Drop the entity and recover it from the journal; returns the recovered state."""
        pid = self.entity_type.persistence_id(entity_id)
        await self.runtime.release(lambda candidate: candidate == pid)
        recovered = await recover(
            self.store, self.entity_type, pid, DedupeWindow(0, 0.0), self.clock.now()
        )
        return recovered.state


def _fold(entity_type: EntityType[Any, Any, Any], events: Sequence[Any]) -> Any:
    state = entity_type.empty_state
    for event in events:
        state = entity_type.on_event(state, event)
    return state


async def _sequential(
    entity_type: EntityType[Any, Any, Any], commands: Sequence[Any]
) -> tuple[MemoryEventStore, list[CommandResult], Any]:
    async with EntityTestKit(entity_type) as kit:
        results = [await kit.run(c, command_id=f"c{i}") for i, c in enumerate(commands)]
        restarted = await kit.restart()
    return kit.store, results, restarted


def _outcome(result: CommandResult) -> tuple[Any, ...]:
    return (result.reply, repr(result.error))


def verify_entity(
    entity_type: EntityType[Any, Any, Any], commands: st.SearchStrategy[Any], max_examples: int = 50
) -> None:
    """Check the entity properties on lists of commands drawn from ``commands``.

    Raises:
        AssertionError: a property failed (hypothesis shows the smallest command list).
    """

    @settings(
        max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.lists(commands, max_size=12), st.integers(min_value=1, max_value=4))
    def check(batch: list[Any], every: int) -> None:
        asyncio.run(_check_all(entity_type, batch, every))

    check()


async def _check_all(entity_type: EntityType[Any, Any, Any], batch: list[Any], every: int) -> None:
    store, results, restarted = await _sequential(entity_type, batch)
    events = store.user_events(entity_type.persistence_id(_ENTITY))
    committed = results[-1].state if results else entity_type.empty_state
    assert _fold(entity_type, events) == committed, "replay differs from folding on_event"
    assert restarted == committed, "recovered state differs from the state before restart"
    snap_type = dataclasses.replace(entity_type, snapshots=SnapshotPolicy(every=every, keep=1))
    _, _, snap_restarted = await _sequential(snap_type, batch)
    assert snap_restarted == restarted, "snapshot recovery differs from full recovery"
    await _check_duplicates(entity_type, batch, store, results)
    await _check_group_commit(entity_type, batch, events, results)
    _check_determinism(entity_type, batch)


async def _check_duplicates(
    entity_type: EntityType[Any, Any, Any],
    batch: list[Any],
    store: MemoryEventStore,
    results: list[CommandResult],
) -> None:
    """Re-sent commands (same ids) get the first replies and write nothing.

    Within one incarnation every command is remembered; across a restart only commands that
    stored events are (their reply is in the journal), so only those are re-sent after it.
    """
    pid = entity_type.persistence_id(_ENTITY)
    async with EntityTestKit(entity_type) as kit:
        for i, command in enumerate(batch):
            await kit.run(command, command_id=f"c{i}")
        before = list(kit.store.events.get(pid, ()))
        for i, command in enumerate(batch):
            again = await kit.run(command, command_id=f"c{i}")
            assert _outcome(again) == _outcome(results[i]), "a duplicate got a different reply"
        assert list(kit.store.events.get(pid, ())) == before, "a duplicate wrote events"
    async with EntityTestKit(entity_type, store) as kit:
        before = list(store.events.get(pid, ()))
        for i, command in enumerate(batch):
            if results[i].events:
                again = await kit.run(command, command_id=f"c{i}")
                assert again.reply == results[i].reply, "a duplicate got a different reply"
        assert list(store.events.get(pid, ())) == before, "a duplicate wrote events"


async def _check_group_commit(
    entity_type: EntityType[Any, Any, Any],
    batch: list[Any],
    events: list[Any],
    results: list[CommandResult],
) -> None:
    async with EntityTestKit(entity_type) as kit:
        ref = kit.runtime.ref(entity_type, _ENTITY)
        asks = [ref.ask(c, timeout=60, command_id=f"c{i}") for i, c in enumerate(batch)]
        replies = await asyncio.gather(*asks, return_exceptions=True)
        grouped = kit.store.user_events(entity_type.persistence_id(_ENTITY))
    assert grouped == events, "group commit stored different events"
    for reply, result in zip(replies, results, strict=True):
        if isinstance(reply, Exception):
            assert repr(reply) == repr(result.error), "group commit gave a different error"
        else:
            assert reply == result.reply, "group commit gave a different reply"


def _check_determinism(entity_type: EntityType[Any, Any, Any], batch: list[Any]) -> None:
    state = entity_type.empty_state
    for command in batch:
        outcomes: list[tuple[Any, ...]] = []
        for seed, wall in ((1, 1_000.0), (2, 2_000_000_000.0)):
            random.seed(seed)
            with mock.patch.object(time, "time", return_value=wall):
                try:
                    effect = entity_type.on_command(state, command)
                except Exception as exc:
                    outcomes.append(("raised", repr(exc)))
                    continue
                after = state
                for event in effect.events:
                    after = entity_type.on_event(after, event)
                reply = effect.reply(after) if effect.reply else None
                outcomes.append((effect.events, reply, repr(effect.rejection), effect.emits, after))
        assert outcomes[0] == outcomes[1], f"handlers are not deterministic for {command!r}"
        if outcomes[0][0] != "raised":
            state = outcomes[0][-1]

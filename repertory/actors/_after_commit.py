"""What follows a stored write besides the replies: side effects and emitted commands.

Both run only once the events they follow are acknowledged, never on replay; their failures are
logged (with the entity's persistence id and seq_nr) and never reach the entity.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from repertory.actors._effect import Emit
from repertory.errors import ActorError
from repertory.observability import get_logger

if TYPE_CHECKING:
    from repertory.actors._runtime import EmitHandler, EntityRuntime

__all__ = ["run_side_effects", "send_emits"]

_log = get_logger("repertory.actors.runtime")


def run_side_effects(
    runtime: EntityRuntime,
    persistence_id: str,
    seq_nr: int,
    side_effects: tuple[Callable[[Any], object], ...],
    state: Any,
) -> None:
    """Run each side effect on the committed state; an awaitable result gets a runtime task."""
    for side_effect in side_effects:
        try:
            result = side_effect(state)
        except Exception as exc:
            _log.error(
                "side effect failed", persistence_id=persistence_id, seq_nr=seq_nr, error=repr(exc)
            )
            continue
        if inspect.isawaitable(result):
            runtime.spawn(_await_side_effect(persistence_id, seq_nr, result))


async def _await_side_effect(persistence_id: str, seq_nr: int, result: Awaitable[object]) -> None:
    try:
        await result
    except Exception as exc:
        _log.error(
            "side effect failed", persistence_id=persistence_id, seq_nr=seq_nr, error=repr(exc)
        )


def send_emits(
    runtime: EntityRuntime,
    on_emit: EmitHandler | None,
    persistence_id: str,
    seq_nr: int,
    emits: tuple[Emit, ...],
) -> None:
    """Hand emitted commands to ``on_emit`` (Kafka) or tell the local entities; their ids are
    derived from the emitting event: ``<persistence id>:<seq_nr>:<index>``."""
    numbered = tuple((f"{persistence_id}:{seq_nr}:{i}", emit) for i, emit in enumerate(emits))
    if on_emit is not None:
        handed = on_emit(persistence_id, seq_nr, numbered)
        if handed is not None:
            runtime.spawn(handed)
    else:
        runtime.spawn(_emit_locally(runtime, persistence_id, numbered))


async def _emit_locally(
    runtime: EntityRuntime, source: str, numbered: tuple[tuple[str, Emit], ...]
) -> None:
    for command_id, emit in numbered:
        try:
            target = runtime.entity_type(emit.entity_type)
            await runtime.deliver(
                target, emit.entity_id, emit.command, command_id, None, None, None
            )
        except (ActorError, ValueError) as exc:
            _log.error(
                "emitted command not delivered",
                persistence_id=source,
                command_id=command_id,
                error=repr(exc),
            )

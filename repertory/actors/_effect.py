"""Effects: what a command handler asks the runtime to do (persist, reply, reject, emit, stop).

An effect is a value; the runtime carries it out. Replies are computed from the state after the
effect's events and sent, like emitted commands and side effects, only once those events are
acknowledged by the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

__all__ = ["NO_REPLY", "Effect", "Emit"]

S = TypeVar("S")
E = TypeVar("E")


class _NoReply:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


NO_REPLY: Any = _NoReply()
"""The reply of a command whose effect sets none (a ``tell``-style command)."""


@dataclass(frozen=True, slots=True)
class Emit:
    """A command for another entity, sent once the emitting events are committed.

    Its command id is derived from the emitting event (``"<persistence id>:<seq_nr>:<i>"``), so
    sending it again after a redelivery or a republish is recognised as a duplicate.
    """

    entity_type: str
    entity_id: str
    command: object


@dataclass(frozen=True, slots=True)
class Effect(Generic[S, E]):
    """The outcome of ``on_command``; build one with the class methods, refine it with ``then_*``.

    Examples::

        Effect.persist(Deposited(amount=5)).then_reply(lambda s: s.balance)
        Effect.reject(InsufficientFunds(balance=state.balance))
        Effect.persist(Withdrawn(amount=5)).emit(Emit("account", "b", Deposit(amount=5)))
        Effect.none().then_reply(lambda s: s.balance)
    """

    events: tuple[E, ...] = ()
    reply: Callable[[S], object] | None = None
    rejection: Exception | None = None
    emits: tuple[Emit, ...] = ()
    side_effects: tuple[Callable[[S], object], ...] = ()
    stop_after: bool = False

    @classmethod
    def persist(cls, events: E | Iterable[E]) -> Effect[Any, E]:
        """Persist one event, or several as one atomic write (a list or tuple of events)."""
        # No ``typing.cast`` here: it is a function call at run time, on every command.
        batch: tuple[Any, ...] = tuple(events) if isinstance(events, _SEQUENCES) else (events,)
        if not batch:
            raise ValueError("Effect.persist needs at least one event; use Effect.none()")
        return _new_effect(batch, None, None, (), (), False)

    @classmethod
    def none(cls) -> Effect[Any, Any]:
        """Change nothing (a query answers with ``.then_reply``)."""
        return _NONE

    @classmethod
    def reply_with(cls, value: object) -> Effect[Any, Any]:
        """Change nothing and answer ``value``."""
        return _new_effect((), lambda _state: value, None, (), (), False)

    @classmethod
    def reject(cls, error: Exception) -> Effect[Any, Any]:
        """Refuse the command: the asker gets ``error`` raised; nothing is persisted.

        A rejection is a business answer (``InsufficientFunds``), not a failure of the entity.
        """
        return _new_effect((), None, error, (), (), False)

    @classmethod
    def stop(cls) -> Effect[Any, Any]:
        """Stop the entity after this command (it is recovered on its next command)."""
        return Effect(stop_after=True)

    def then_reply(self, reply: Callable[[S], object]) -> Effect[S, E]:
        """Answer with ``reply(state after the events)``, sent once the events are committed."""
        if self.rejection is not None:
            self._refuse_on_rejection("then_reply")
        return _new_effect(self.events, reply, None, self.emits, self.side_effects, self.stop_after)

    def then_run(self, side_effect: Callable[[S], object]) -> Effect[S, E]:
        """Run ``side_effect(state)`` after the events are committed: at most once, never on
        replay. An awaitable it returns is awaited in a task of the runtime; errors are logged."""
        self._refuse_on_rejection("then_run")
        return replace(self, side_effects=(*self.side_effects, side_effect))

    def emit(self, *commands: Emit) -> Effect[S, E]:
        """Send commands to other entities once this effect's events are committed."""
        if not self.events:
            raise ValueError("Effect.emit needs persisted events to derive command ids from")
        return replace(self, emits=(*self.emits, *commands))

    def then_stop(self) -> Effect[S, E]:
        """Stop the entity once this effect is carried out."""
        return replace(self, stop_after=True)

    def _refuse_on_rejection(self, name: str) -> None:
        if self.rejection is not None:
            raise ValueError(f"a rejection is the reply; {name} cannot follow Effect.reject")


_NONE: Effect[Any, Any] = Effect()
_SEQUENCES = (list, tuple)

# A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` once per field, several
# times slower than setting the slots directly; effects are built once or twice per command, so
# the class methods above build them here (same fields, same equality and hash).
_new = object.__new__
_set_events, _set_reply, _set_rejection, _set_emits, _set_side_effects, _set_stop_after = (
    Effect.__dict__[name].__set__
    for name in ("events", "reply", "rejection", "emits", "side_effects", "stop_after")
)


def _new_effect(
    events: tuple[Any, ...],
    reply: Callable[[Any], object] | None,
    rejection: Exception | None,
    emits: tuple[Emit, ...],
    side_effects: tuple[Callable[[Any], object], ...],
    stop_after: bool,
) -> Effect[Any, Any]:
    effect: Effect[Any, Any] = _new(Effect)
    _set_events(effect, events)
    _set_reply(effect, reply)
    _set_rejection(effect, rejection)
    _set_emits(effect, emits)
    _set_side_effects(effect, side_effects)
    _set_stop_after(effect, stop_after)
    return effect

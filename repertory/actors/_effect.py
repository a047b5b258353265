"""Effects: what a command handler asks the runtime to do (persist, reply, reject, emit, stop).

An effect is a value; the runtime carries it out. Replies are computed from the state after the
effect's events and sent, like emitted commands and side effects, only once those events are
acknowledged by the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

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


_FIELDS = ("events", "reply", "rejection", "emits", "side_effects", "stop_after")


class Effect(tuple[Any, ...], Generic[S, E]):
    """The outcome of ``on_command``; build one with the class methods, refine it with ``then_*``.

    Examples::

        Effect.persist(Deposited(amount=5)).then_reply(lambda s: s.balance)
        Effect.reject(InsufficientFunds(balance=state.balance))
        Effect.persist(Withdrawn(amount=5)).emit(Emit("account", "b", Deposit(amount=5)))
        Effect.none().then_reply(lambda s: s.balance)

    An immutable tuple of its six fields (in the order of the constructor's arguments): handlers
    build one or two per command, and a tuple is built in one step where a frozen dataclass
    sets each field through a descriptor. The runtime unpacks it; handlers and tests read the
    named fields. Equal effects have equal fields (handler functions compare by identity).
    """

    __slots__ = ()

    def __new__(
        cls,
        events: tuple[E, ...] = (),
        reply: Callable[[S], object] | None = None,
        rejection: Exception | None = None,
        emits: tuple[Emit, ...] = (),
        side_effects: tuple[Callable[[S], object], ...] = (),
        stop_after: bool = False,
    ) -> Effect[S, E]:
        return _make(cls, (events, reply, rejection, emits, side_effects, stop_after))

    @property
    def events(self) -> tuple[E, ...]:
        """The events to persist, as one atomic write (empty: persist nothing)."""
        return self[0]  # type: ignore[no-any-return]

    @property
    def reply(self) -> Callable[[S], object] | None:
        """Computes the reply from the state after the events, or None for no reply."""
        return self[1]  # type: ignore[no-any-return]

    @property
    def rejection(self) -> Exception | None:
        """The error the asker gets raised (a refusal), or None."""
        return self[2]  # type: ignore[no-any-return]

    @property
    def emits(self) -> tuple[Emit, ...]:
        """Commands for other entities, sent once the events are committed."""
        return self[3]  # type: ignore[no-any-return]

    @property
    def side_effects(self) -> tuple[Callable[[S], object], ...]:
        """Run on the committed state after the events are committed."""
        return self[4]  # type: ignore[no-any-return]

    @property
    def stop_after(self) -> bool:
        """Stop the entity once the effect is carried out."""
        return self[5]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(_FIELDS, self, strict=True))
        return f"Effect({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __getnewargs__(self) -> tuple[Any, ...]:
        """The fields as ``__new__`` takes them, for ``copy`` and ``pickle``."""
        return tuple(self)

    @classmethod
    def persist(cls, events: E | Iterable[E]) -> Effect[Any, E]:
        """Persist one event, or several as one atomic write (a list or tuple of events)."""
        # No ``typing.cast`` here: it is a function call at run time, on every command.
        batch: tuple[Any, ...] = tuple(events) if isinstance(events, _SEQUENCES) else (events,)
        if not batch:
            raise ValueError("Effect.persist needs at least one event; use Effect.none()")
        return _make(Effect, (batch, None, None, (), (), False))

    @classmethod
    def none(cls) -> Effect[Any, Any]:
        """Change nothing (a query answers with ``.then_reply``)."""
        return _NONE

    @classmethod
    def reply_with(cls, value: object) -> Effect[Any, Any]:
        """Change nothing and answer ``value``."""
        return _make(Effect, ((), lambda _state: value, None, (), (), False))

    @classmethod
    def reject(cls, error: Exception) -> Effect[Any, Any]:
        """Refuse the command: the asker gets ``error`` raised; nothing is persisted.

        A rejection is a business answer (``InsufficientFunds``), not a failure of the entity.
        """
        return _make(Effect, ((), None, error, (), (), False))

    @classmethod
    def stop(cls) -> Effect[Any, Any]:
        """Stop the entity after this command (it is recovered on its next command)."""
        return _make(Effect, ((), None, None, (), (), True))

    def then_reply(self, reply: Callable[[S], object]) -> Effect[S, E]:
        """Answer with ``reply(state after the events)``, sent once the events are committed."""
        if self is _NONE:  # a query: the common case, without unpacking
            return _make(Effect, ((), reply, None, (), (), False))
        events, _, rejection, emits, side_effects, stop_after = self
        if rejection is not None:
            self._refuse_on_rejection("then_reply")
        return _make(Effect, (events, reply, None, emits, side_effects, stop_after))

    def then_run(self, side_effect: Callable[[S], object]) -> Effect[S, E]:
        """Run ``side_effect(state)`` after the events are committed: at most once, never on
        replay. An awaitable it returns is awaited in a task of the runtime; errors are logged."""
        self._refuse_on_rejection("then_run")
        events, reply, rejection, emits, side_effects, stop_after = self
        return _make(
            Effect, (events, reply, rejection, emits, (*side_effects, side_effect), stop_after)
        )

    def emit(self, *commands: Emit) -> Effect[S, E]:
        """Send commands to other entities once this effect's events are committed."""
        events, reply, rejection, emits, side_effects, stop_after = self
        if not events:
            raise ValueError("Effect.emit needs persisted events to derive command ids from")
        return _make(
            Effect, (events, reply, rejection, (*emits, *commands), side_effects, stop_after)
        )

    def then_stop(self) -> Effect[S, E]:
        """Stop the entity once this effect is carried out."""
        return _make(Effect, (*self[:5], True))

    def _refuse_on_rejection(self, name: str) -> None:
        if self[2] is not None:
            raise ValueError(f"a rejection is the reply; {name} cannot follow Effect.reject")


_make = cast("Callable[[type, tuple[Any, ...]], Effect[Any, Any]]", tuple.__new__)
"""``_make(Effect, fields)``: an effect in one step, without ``__new__``'s keyword handling."""
_NONE: Effect[Any, Any] = Effect()
_SEQUENCES = (list, tuple)

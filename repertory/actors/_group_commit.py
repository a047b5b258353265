"""Group commit for one entity: commands run against the state as it will be.

While an atomic write is in flight, later commands run against the pending state (the state
after every event not yet acknowledged) and their events gather into the next write, bounded
by count and bytes. Nothing leaves the entity — no reply, emitted command or side effect, and
the committed state does not move — until the write holding it is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from repertory.actors._delivery import Delivery, Rejection
from repertory.actors._effect import NO_REPLY, Effect
from repertory.actors._store import EntityWrite, StoredEvent, WriteAck

if TYPE_CHECKING:
    from repertory.actors._entity import Entity

__all__ = ["Entry", "Group", "HandlerFailure", "Work", "run_command"]


class Entry:
    """One command's outcome, held until its group is acknowledged.

    ``duplicates`` are later deliveries of the same command id that wait for this one's reply.
    """

    __slots__ = ("delivery", "duplicates", "effect", "events", "reply", "state_after")

    def __init__(
        self,
        delivery: Delivery,
        effect: Effect[Any, Any],
        events: tuple[StoredEvent, ...],
        state_after: Any,
        reply: Any,
    ) -> None:
        self.delivery = delivery
        self.effect = effect
        self.events = events
        self.state_after = state_after
        self.reply = reply
        self.duplicates: list[Delivery] | None = None


class Group:
    """The entries that share one atomic write (some may have no events of their own)."""

    __slots__ = ("entries", "event_count", "size", "write")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.event_count = 0
        self.size = 0
        self.write: EntityWrite | None = None

    def add(self, entry: Entry, size: int) -> None:
        self.entries.append(entry)
        self.event_count += len(entry.events)
        self.size += size

    def events(self) -> tuple[StoredEvent, ...]:
        return tuple(event for entry in self.entries for event in entry.events)


class Work:
    """An entity's state while it has something to do; dropped when it goes idle."""

    __slots__ = (
        "ack",
        "failed_attempts",
        "halt",
        "in_flight",
        "next",
        "pending",
        "pending_ids",
        "pending_seq_nr",
        "pending_state",
        "redo",
        "restart",
    )

    def __init__(self, state: Any, seq_nr: int) -> None:
        self.pending_state = state
        self.pending_seq_nr = seq_nr
        self.in_flight: Group | None = None
        self.next: Group | None = None
        self.pending: asyncio.Future[WriteAck] | None = None
        self.ack: WriteAck | None = None
        self.failed_attempts = 0
        self.pending_ids: dict[str, Entry] = {}
        self.redo: deque[Delivery] = deque()
        self.restart: tuple[Delivery, float] | None = None
        self.halt: str = ""  # "stop" after an Effect.stop, "fail" after a fatal failure

    def latest_group(self) -> Group | None:
        return self.next if self.next is not None else self.in_flight

    def quiet(self) -> bool:
        """No write in flight and none waiting to go."""
        return self.in_flight is None and self.next is None

    def unacknowledged(self) -> list[Delivery]:
        """Every delivery whose outcome hangs on a write, in order (duplicates last)."""
        entries = [
            *(self.in_flight.entries if self.in_flight else ()),
            *(self.next.entries if self.next else ()),
        ]
        deliveries = [entry.delivery for entry in entries]
        for entry in entries:
            deliveries.extend(entry.duplicates or ())
        return deliveries


class HandlerFailure(Exception):
    """A handler raised while running a command (wraps the cause)."""


def run_command(entity: Entity, work: Work, delivery: Delivery) -> Entry:
    """Run ``on_command`` (and ``on_event`` for its events) against the pending state.

    Raises:
        HandlerFailure: a handler raised or returned something that is not an ``Effect``.
    """
    entity_type = entity.entity_type
    state = work.pending_state
    try:
        effect = entity_type.on_command(state, delivery.command)
        if not isinstance(effect, Effect):
            raise TypeError(f"on_command returned {type(effect).__name__}, not an Effect")
        if effect.rejection is not None:
            return Entry(delivery, effect, (), state, Rejection(effect.rejection))
        for event in effect.events:
            state = entity_type.on_event(state, event)
        reply = effect.reply(state) if effect.reply is not None else NO_REPLY
    except Exception as exc:
        raise HandlerFailure(repr(exc)) from exc
    return Entry(delivery, effect, _stored(work, delivery, effect, reply), state, reply)


def _stored(
    work: Work, delivery: Delivery, effect: Effect[Any, Any], reply: Any
) -> tuple[StoredEvent, ...]:
    events = effect.events
    if not events:
        return ()
    first = work.pending_seq_nr + 1
    last = len(events) - 1
    stored = tuple(
        StoredEvent(
            seq_nr=first + i,
            event=event,
            timestamp=delivery.timestamp,
            command_id=delivery.command_id,
            source=delivery.source,
            reply=reply if i == last else NO_REPLY,
            emits=effect.emits if i == last else (),
            ends_command=i == last,
        )
        for i, event in enumerate(events)
    )
    work.pending_seq_nr = first + last
    return stored

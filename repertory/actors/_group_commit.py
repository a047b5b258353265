"""Group commit for one entity: commands run against the state as it will be.

While an atomic write is in flight, later commands run against the pending state (the state
after every event not yet acknowledged) and their events gather into the next write, bounded
by count and bytes. Nothing leaves the entity — no reply, emitted command or side effect, and
the committed state does not move — until the write holding it is acknowledged.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from repertory.actors._delivery import Delivery, Rejection
from repertory.actors._effect import NO_REPLY, Effect
from repertory.actors._entity_metrics import StopReason
from repertory.actors._entity_type import EntityType
from repertory.actors._store import EntityWrite, StoredEvent, WriteAck, new_stored_event

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
        entries = self.entries
        if len(entries) == 1:
            return entries[0].events
        return tuple(event for entry in entries for event in entry.events)


class Work:
    """An entity's state while it has something to do; dropped when it goes idle.

    ``sends`` numbers the sends of writes, so an acknowledgement that arrives for an earlier
    send (or an earlier incarnation) is recognised and ignored.
    """

    __slots__ = (
        "ack",
        "failed_attempts",
        "halt",
        "in_flight",
        "next",
        "pending_ids",
        "pending_seq_nr",
        "pending_state",
        "redo",
        "restart",
        "sends",
        "stop_reason",
    )

    def __init__(self, state: Any, seq_nr: int) -> None:
        self.pending_state = state
        self.pending_seq_nr = seq_nr
        self.in_flight: Group | None = None
        self.next: Group | None = None
        self.sends = 0
        self.ack: WriteAck | None = None
        self.failed_attempts = 0
        self.pending_ids: dict[str, Entry] | None = None  # created on first use
        self.redo: deque[Delivery] | None = None  # created on first use
        self.restart: tuple[Delivery, float] | None = None
        self.halt: str = ""  # "stop" after an Effect.stop, "fail" after a fatal failure
        self.stop_reason: StopReason = "handler_failed"  # why, for a "fail"

    def latest_group(self) -> Group | None:
        return self.next if self.next is not None else self.in_flight

    def quiet(self) -> bool:
        """No write in flight and none waiting to go."""
        return self.in_flight is None and self.next is None

    def unusual(self) -> bool:
        """A restart, a stop, commands to run again or an acknowledgement to look at: the
        entity's supervised loop (a task) handles these, not its running callbacks."""
        return self.restart is not None or bool(self.halt or self.redo) or self.ack is not None

    def remember_pending(self, command_id: str, entry: Entry) -> None:
        if self.pending_ids is None:
            self.pending_ids = {}
        self.pending_ids[command_id] = entry

    def add_redo(self, deliveries: list[Delivery], *, first: bool) -> None:
        """Queue deliveries to run again, ahead of the mailbox (``first``: ahead of the rest)."""
        if self.redo is None:
            self.redo = deque()
        if first:
            self.redo.extendleft(reversed(deliveries))
        else:
            self.redo.extend(deliveries)

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


def run_command(
    entity_type: EntityType[Any, Any, Any], state: Any, seq_nr: int, delivery: Delivery
) -> Entry:
    """Run ``on_command`` (and ``on_event`` for its events) against ``state``, the state after
    ``seq_nr``; the events are numbered from ``seq_nr + 1``.

    Raises:
        HandlerFailure: a handler raised or returned something that is not an ``Effect``.
    """
    try:
        effect = entity_type.on_command(state, delivery.command)
        if type(effect) is not Effect and not isinstance(effect, Effect):
            raise TypeError(f"on_command returned {type(effect).__name__}, not an Effect")
        if effect.rejection is not None:
            return Entry(delivery, effect, (), state, Rejection(effect.rejection))
        events = effect.events
        if events:
            on_event = entity_type.on_event
            for event in events:
                state = on_event(state, event)
        reply = effect.reply(state) if effect.reply is not None else NO_REPLY
    except Exception as exc:
        raise HandlerFailure(repr(exc)) from exc
    if not events:
        return Entry(delivery, effect, (), state, reply)
    return Entry(delivery, effect, _stored(seq_nr, delivery, effect, reply), state, reply)


def _stored(
    seq_nr: int, delivery: Delivery, effect: Effect[Any, Any], reply: Any
) -> tuple[StoredEvent, ...]:
    events = effect.events
    timestamp, command_id, source = delivery.timestamp, delivery.command_id, delivery.source
    if len(events) == 1:
        return (
            new_stored_event(
                seq_nr + 1, events[0], timestamp, command_id, source, reply, effect.emits, True
            ),
        )
    last = len(events) - 1
    return tuple(
        new_stored_event(
            seq_nr + 1 + i,
            event,
            timestamp,
            command_id,
            source,
            reply if i == last else NO_REPLY,
            effect.emits if i == last else (),
            i == last,
        )
        for i, event in enumerate(events)
    )

"""Group commit for one entity: commands run against the state as it will be.

While an atomic write is in flight, later commands run against the pending state (the state
after every event not yet acknowledged) and their events gather into the next write, bounded
by count and bytes. Nothing leaves the entity — no reply, emitted command or side effect, and
the committed state does not move — until the write holding it is acknowledged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from repertory.actors._delivery import Delivery, Rejection
from repertory.actors._effect import NO_REPLY, Effect
from repertory.actors._entity_metrics import StopReason
from repertory.actors._entity_type import EntityType
from repertory.actors._store import EntityWrite, StoredEvent, WriteAck, new_stored_event

__all__ = ["Group", "HandlerFailure", "Work", "run_command"]


class Group:
    """The commands that share one atomic write (some may have no events of their own), and
    that write's events, numbered and ready to store."""

    __slots__ = ("_max_bytes", "_max_events", "entries", "full", "size", "stored", "write")

    def __init__(self, max_events: int, max_bytes: int) -> None:
        self.entries: list[Delivery] = []
        self.stored: list[StoredEvent] = []
        self.size = 0
        self.full = False
        """Holds ``max_events`` events or ``max_bytes`` estimated bytes: takes no more events."""
        self.write: EntityWrite | None = None
        self._max_events = max_events
        self._max_bytes = max_bytes

    def add(
        self,
        delivery: Delivery,
        effect: Effect[Any, Any],
        seq_nr: int,
        size_of: Callable[[StoredEvent], int],
    ) -> None:
        """Add a command that ran with events; they are numbered from ``seq_nr + 1``, and only
        the last carries the command's reply and emitted commands."""
        self.entries.append(delivery)
        stored = self.stored
        events, _, _, emits, _, _ = effect
        if len(events) == 1:  # the common case, without the loop's bookkeeping
            record = new_stored_event(
                seq_nr + 1,
                events[0],
                delivery.timestamp,
                delivery.command_id,
                delivery.source,
                delivery.reply,
                emits,
                True,
            )
            stored.append(record)
            size = self.size + size_of(record)
        else:
            size = self.size
            last = len(events) - 1
            for i, event in enumerate(events):
                ends = i == last
                record = new_stored_event(
                    seq_nr + 1 + i,
                    event,
                    delivery.timestamp,
                    delivery.command_id,
                    delivery.source,
                    delivery.reply if ends else NO_REPLY,
                    emits if ends else (),
                    ends,
                )
                stored.append(record)
                size += size_of(record)
        delivery.last_seq_nr = seq_nr + len(events)
        self.size = size
        self.full = len(stored) >= self._max_events or size >= self._max_bytes

    def events(self) -> tuple[StoredEvent, ...]:
        return tuple(self.stored)


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
        self.pending_ids: dict[str, Delivery] | None = None  # created on first use
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

    def remember_pending(self, command_id: str, delivery: Delivery) -> None:
        if self.pending_ids is None:
            self.pending_ids = {}
        self.pending_ids[command_id] = delivery

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
        deliveries = [
            *(self.in_flight.entries if self.in_flight else ()),
            *(self.next.entries if self.next else ()),
        ]
        for delivery in deliveries[:]:
            if delivery.duplicates:
                deliveries.extend(delivery.duplicates)
        return deliveries


class HandlerFailure(Exception):
    """A handler raised while running a command (wraps the cause)."""


def run_command(
    entity_type: EntityType[Any, Any, Any], state: Any, delivery: Delivery
) -> Effect[Any, Any]:
    """Run ``on_command`` (and ``on_event`` for its events) against ``state``: the outcome goes
    on ``delivery`` (``last_seq_nr`` is 0 until its events are numbered, see ``Group.add``).

    Returns:
        The effect, whose events (if any) are still to be numbered and stored.

    Raises:
        HandlerFailure: a handler raised or returned something that is not an ``Effect``.
    """
    try:
        effect = entity_type.on_command(state, delivery.command)
        if type(effect) is not Effect and not isinstance(effect, Effect):
            raise TypeError(f"on_command returned {type(effect).__name__}, not an Effect")
        events, reply_to, rejection, emits, side_effects, _ = effect
        if rejection is not None:
            reply: Any = Rejection(rejection)
        else:
            if events:
                on_event = entity_type.on_event
                for event in events:
                    state = on_event(state, event)
            reply = reply_to(state) if reply_to is not None else NO_REPLY
    except Exception as exc:
        raise HandlerFailure(repr(exc)) from exc
    delivery.state_after = state
    delivery.reply = reply
    delivery.last_seq_nr = 0
    delivery.duplicates = None
    # Kept only when something follows the commit: the rest of the effect (its reply function,
    # its events, now in the stored records) need not live until the write is acknowledged.
    delivery.after = effect if side_effects or emits else None
    return effect

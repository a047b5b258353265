"""Entity actors: the programming model (entity types, effects, refs) and the entity runtime.

An entity type is an empty state plus two pure handlers::

    account = EntityType(
        name="account",
        empty_state=Account(),
        on_command=handle_command,   # (state, command) -> Effect
        on_event=apply_event,        # (state, event) -> state
    )

    async with EntityRuntime(store, [account]) as runtime:
        balance = await runtime.ref(account, "42").ask(Deposit(amount=5), timeout=2.0)
"""

from repertory.actors._clock import Clock, ManualClock, SystemClock, Timer
from repertory.actors._delivery import Delivery
from repertory.actors._effect import NO_REPLY, Effect, Emit
from repertory.actors._entity_type import EntityType, SnapshotPolicy
from repertory.actors._recovery import Phase
from repertory.actors._ref import ActorRef
from repertory.actors._runtime import DeadLetterHandler, EmitHandler, EntityRuntime
from repertory.actors._store import (
    CommandSource,
    DedupeMemory,
    EntitySnapshot,
    EntityWrite,
    EventStore,
    Recovery,
    StoredEvent,
    WriteAck,
    WriteStatus,
)
from repertory.actors.journal_store import JournalEventStore, ZombieHandler
from repertory.actors.supervision import (
    Backoff,
    Decision,
    Directive,
    Escalate,
    Restart,
    RestartTracker,
    Stop,
    SupervisionStrategy,
)

__all__ = [
    "NO_REPLY",
    "ActorRef",
    "Backoff",
    "Clock",
    "CommandSource",
    "DeadLetterHandler",
    "Decision",
    "DedupeMemory",
    "Delivery",
    "Directive",
    "Effect",
    "Emit",
    "EmitHandler",
    "EntityRuntime",
    "EntitySnapshot",
    "EntityType",
    "EntityWrite",
    "Escalate",
    "EventStore",
    "JournalEventStore",
    "ManualClock",
    "Phase",
    "Recovery",
    "Restart",
    "RestartTracker",
    "SnapshotPolicy",
    "Stop",
    "StoredEvent",
    "SupervisionStrategy",
    "SystemClock",
    "Timer",
    "WriteAck",
    "WriteStatus",
    "ZombieHandler",
]

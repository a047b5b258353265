"""Answers to duplicates, and to a redelivered record whose command left nothing in the journal.

A command whose id is in the entity's window gets the reply remembered there; one whose id
belongs to a command still waiting for its write gets that command's reply when it is stored.
A record at or below an entity's highest applied source offset whose command id is not in the
window stored no event: an earlier incarnation refused it, or answered it without events, and
died before that answer was committed (only commands with events are remembered durably). Its
answer is rebuilt rather than guessed. Handlers are pure and an entity runs its commands in
source-offset order (one partition carries all of an entity's commands), so the state just
before the record at offset ``o`` is the fold of exactly the entity's events from before ``o``
on that topic and partition. ``on_command`` run against that state gives the original answer
again: nothing is applied, nothing is written.

This reads the store, so it runs in a task of its own, and only for such redeliveries (after a
crash); a command found in the window is answered from there, in the caller's turn.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from repertory.actors._delivery import Delivery, settle, settle_error
from repertory.actors._entity_type import EntityType
from repertory.actors._group_commit import HandlerFailure, Work, run_command
from repertory.actors._store import CommandSource, EntitySnapshot, EventStore
from repertory.errors import ActorDeadError, DuplicateCommand

if TYPE_CHECKING:
    from repertory.actors._entity import Entity

__all__ = ["answer_duplicate", "answer_redelivered", "original_answer"]


def answer_duplicate(entity: Entity, work: Work | None, delivery: Delivery) -> bool:
    """Whether ``delivery`` (which has a command id or a source) is a duplicate; if so it is
    answered (now, with the write it duplicates, or from a task) and must not run."""
    command_id = delivery.command_id
    dedupe = entity.dedupe
    assert dedupe is not None
    if command_id:
        seen = dedupe.lookup(command_id, entity.runtime.clock.now())
        if seen is not None:
            settle(delivery, seen.reply)
            return True
        pending = work.pending_ids if work is not None else None
        original = pending.get(command_id) if pending else None
        if original is not None:
            if original.duplicates is None:
                original.duplicates = []
            original.duplicates.append(delivery)
            return True
    source = delivery.source
    if source is not None and dedupe.applied_offset(source):
        answer_redelivered(entity, delivery)  # rare (after a crash): rebuilt from the store
        return True
    return False


def answer_redelivered(entity: Entity, delivery: Delivery) -> None:
    """Answer ``delivery`` (a redelivered record, see the module doc) from a runtime task."""
    if delivery.future is None:
        return  # a tell: nobody waits for the answer
    try:
        entity.runtime.spawn(
            _answer(
                entity.runtime.store,
                entity.entity_type,
                entity.persistence_id,
                entity.seq_nr,
                delivery,
            )
        )
    except ActorDeadError as exc:
        settle_error(delivery, exc)


async def _answer(
    store: EventStore,
    entity_type: EntityType[Any, Any, Any],
    persistence_id: str,
    known_seq_nr: int,
    delivery: Delivery,
) -> None:
    try:
        reply = await original_answer(store, entity_type, persistence_id, known_seq_nr, delivery)
    except DuplicateCommand as exc:
        settle_error(delivery, exc)
    except asyncio.CancelledError:
        settle_error(delivery, ActorDeadError(f"[{persistence_id}] stopped before answering"))
        raise
    except Exception as exc:  # the store could not be read: the record may be delivered again
        settle_error(
            delivery,
            ActorDeadError(
                f"[{persistence_id}] could not read its history to answer the redelivered "
                f"record [{delivery.source}]: {exc!r}"
            ),
        )
    else:
        settle(delivery, reply)


async def original_answer(
    store: EventStore,
    entity_type: EntityType[Any, Any, Any],
    persistence_id: str,
    known_seq_nr: int,
    delivery: Delivery,
) -> Any:
    """The answer the command of ``delivery`` got when it first ran: its reply, or its refusal
    as a ``Rejection``. ``known_seq_nr`` is the entity's last stored seq_nr (the history read
    must reach it unless it stops earlier, at an event from ``delivery``'s offset or later).

    Raises:
        DuplicateCommand: the answer cannot be reconstructed — the history before the record
            is gone (deleted, no usable snapshot), the record did store events (its reply
            left the window), or a handler failed or disagrees with the journal.
        Exception: whatever the store raises.
    """
    source = delivery.source
    assert source is not None
    where = (
        f"[{persistence_id}] redelivered record [{source.topic}/{source.partition}@{source.offset}]"
    )
    snapshot = await store.load_snapshot(persistence_id)
    if snapshot is not None and not _precedes(snapshot, source):
        snapshot = None
    state: Any = entity_type.empty_state
    seq_nr = 0
    if snapshot is not None:
        state, seq_nr = snapshot.state, snapshot.seq_nr
    recovery = await store.replay(persistence_id, snapshot)
    on_event = entity_type.on_event
    reached = False
    for record in recovery.events:
        if record.seq_nr != seq_nr + 1:
            raise _unknown(where, f"events up to seq_nr [{record.seq_nr - 1}] are gone")
        at = record.source
        if at is not None and at.partition == source.partition and at.topic == source.topic:
            if at.offset == source.offset:
                raise DuplicateCommand(f"{where}: already applied (its reply left the window)")
            if at.offset > source.offset:
                reached = True
                break
        try:
            state = on_event(state, record.event)
        except Exception as exc:
            raise _unknown(where, f"on_event failed at seq_nr [{record.seq_nr}]: {exc!r}") from exc
        seq_nr = record.seq_nr
    if not reached and seq_nr < known_seq_nr:
        raise _unknown(where, f"its history ends at seq_nr [{seq_nr}], short of [{known_seq_nr}]")
    try:
        effect = run_command(entity_type, state, delivery)
    except HandlerFailure as failure:
        raise _unknown(where, f"on_command failed: {failure}") from failure
    if effect.events:
        raise _unknown(where, "it persists events against the state before it, none are stored")
    return delivery.reply


def _precedes(snapshot: EntitySnapshot, source: CommandSource) -> bool:
    """Whether ``snapshot`` holds only commands from before ``source`` on its partition."""
    for topic, partition, offset in snapshot.dedupe.offsets:
        if partition == source.partition and topic == source.topic:
            return offset < source.offset
    return True


def _unknown(where: str, why: str) -> DuplicateCommand:
    return DuplicateCommand(
        f"{where}: handled before; its original answer cannot be reconstructed ({why})"
    )

"""What an entity does when things go wrong: supervision of handler failures, failing queued
commands, and abandoning everything on shutdown or when ownership is lost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from repertory.actors._delivery import Delivery, settle_error
from repertory.actors._group_commit import HandlerFailure, Work
from repertory.actors._recovery import Phase
from repertory.actors.supervision import Directive, Escalate, RestartTracker, Stop
from repertory.errors import ActorDeadError, EntityFailed, WriteOutcomeUnknown
from repertory.observability import get_logger

if TYPE_CHECKING:
    from repertory.actors._entity import Entity

__all__ = ["abandon", "fail_queued", "on_handler_failure"]

_log = get_logger("repertory.actors.entity")


def on_handler_failure(
    entity: Entity, work: Work, delivery: Delivery, failure: HandlerFailure
) -> None:
    if entity.tracker is None:
        entity.tracker = RestartTracker(entity.entity_type.supervision)
    decision = entity.tracker.on_failure(entity.runtime.clock.now(), str(failure))
    _log.error(
        "handler failed",
        persistence_id=entity.persistence_id,
        seq_nr=entity.seq_nr,
        command_id=delivery.command_id,
        directive=decision.directive.value,
        error=repr(failure.__cause__),
    )
    if decision.directive is Directive.RESTART:
        work.restart = (delivery, decision.delay)
        return
    error = ActorDeadError(f"[{entity.persistence_id}] stopped: {decision.reason}")
    error.__cause__ = failure.__cause__
    settle_error(delivery, error)
    entity.runtime.dead_letter(entity, delivery, decision.reason)
    work.halt = "fail"
    strategy = entity.tracker.strategy
    work.stop_reason = (
        "escalated"
        if isinstance(strategy, Escalate)
        else "handler_failed"
        if isinstance(strategy, Stop)
        else "restarts_exhausted"
    )
    if decision.directive is Directive.ESCALATE:
        escalated = EntityFailed(f"[{entity.persistence_id}] failed: {decision.reason}")
        escalated.__cause__ = failure.__cause__
        entity.runtime.escalate(escalated)


def fail_queued(entity: Entity, work: Work, reason: str, dead_letter: bool) -> None:
    queued = [*(work.redo or ()), *(entity.mailbox or ())]
    work.redo = None
    entity.mailbox = None
    for delivery in queued:
        settle_error(delivery, ActorDeadError(reason))
        if dead_letter:
            entity.runtime.dead_letter(entity, delivery, reason)
    entity.release_putters()


def abandon(entity: Entity) -> None:
    """Fail everything this entity holds (shutdown, or ownership lost).

    Commands whose write is in flight get ``WriteOutcomeUnknown``; the rest ``ActorDeadError``.
    """
    work = entity.work
    reason = f"[{entity.persistence_id}] stopped before answering"
    if work is not None:
        for held in work.in_flight.entries if work.in_flight else ():
            for delivery in (held, *(held.duplicates or ())):
                settle_error(
                    delivery,
                    WriteOutcomeUnknown(
                        f"[{entity.persistence_id}] stopped; write outcome unknown"
                    ),
                )
        work.in_flight = None
        leftover = work.unacknowledged()
        if work.restart is not None:
            leftover.append(work.restart[0])
        for delivery in leftover:
            settle_error(delivery, ActorDeadError(reason))
        fail_queued(entity, work, reason, False)
        entity.work = None
    for delivery in entity.mailbox or ():
        settle_error(delivery, ActorDeadError(reason))
    entity.mailbox = None
    entity.release_putters()
    entity.phase = Phase.IDLE

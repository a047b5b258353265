"""An entity's supervised loop: the task that runs only while something needs waiting.

Recovery (snapshot → replay), a restart after a handler failure (after its backoff), a stop,
a rejected write (recover, then run the unacknowledged commands again) and a write whose
outcome is unknown (the identical write again, after a backoff, for as long as it takes).
Once none of these is left the task ends and the entity's callbacks carry on (``_entity``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from repertory.actors._dedupe import DedupeWindow
from repertory.actors._delivery import Delivery, settle_error
from repertory.actors._failures import fail_queued
from repertory.actors._group_commit import Work
from repertory.actors._recovery import Phase, recover
from repertory.actors._store import WriteAck, WriteStatus
from repertory.errors import ReplayFailed, WriteRejected
from repertory.observability import get_logger

if TYPE_CHECKING:
    from repertory.actors._entity import Entity

__all__ = ["drive"]

_log = get_logger("repertory.actors.entity")


async def drive(entity: Entity) -> None:
    """The entity's task (``Entity.task``); cancelling it abandons the entity."""
    try:
        await _run(entity)
    except asyncio.CancelledError:
        entity.abandon()
        raise
    finally:
        entity.task = None
        entity.wake = None
        if entity.runtime.draining:
            entity.runtime.entity_settled()


async def _run(entity: Entity) -> None:
    while True:
        if entity.phase is not Phase.RUNNING and not await _recover(entity):
            return
        work = entity.work
        if work is None:
            work = entity.work = Work(entity.state, entity.seq_nr)
        if work.ack is not None:
            ack, work.ack = work.ack, None
            await _settle_write(entity, work, ack)
            continue
        if work.quiet() and (work.restart is not None or work.halt):
            if not await _restart_or_halt(entity, work):
                return
            continue
        entity.take(work)
        if work.in_flight is None and work.next is not None:
            entity.submit(work)
        if not work.unusual():
            if work.quiet() and not entity.mailbox:
                entity.go_idle()
            return  # running as usual: the write's acknowledgement carries on from here
        if work.quiet():
            continue
        entity.wake = asyncio.get_running_loop().create_future()
        await entity.wake
        entity.wake = None


async def _settle_write(entity: Entity, work: Work, ack: WriteAck) -> None:
    group = work.in_flight
    assert group is not None and group.write is not None
    if ack.status is WriteStatus.STORED:
        entity.settle_stored(work, ack)
    elif ack.status is WriteStatus.REJECTED:
        _redo_after_rejection(entity, work)
    else:
        work.failed_attempts += 1
        runtime = entity.runtime
        delay = runtime.unknown_write_backoff(work.failed_attempts)
        _log.warning(
            "write outcome unknown; retrying the identical write",
            persistence_id=entity.persistence_id,
            seq_nr=group.write.last_seq_nr,
            attempt=work.failed_attempts,
            delay=delay,
        )
        await runtime.clock.sleep(delay)
        entity.send(work)


def _redo_after_rejection(entity: Entity, work: Work) -> None:
    limit = entity.runtime.settings.rejected_write_retries
    again: list[Delivery] = []
    for delivery in work.unacknowledged():
        delivery.attempts += 1
        if delivery.attempts > limit:
            settle_error(
                delivery,
                WriteRejected(
                    f"write for [{entity.persistence_id}] rejected {delivery.attempts} times; "
                    f"giving up on command [{delivery.command_id}]"
                ),
            )
        else:
            again.append(delivery)
    _log.info("write rejected; recovering", persistence_id=entity.persistence_id, redo=len(again))
    work.add_redo(again, first=True)
    work.in_flight = work.next = None
    work.pending_ids = None
    work.halt = ""
    entity.phase = Phase.IDLE


async def _restart_or_halt(entity: Entity, work: Work) -> bool:
    """Returns whether the entity goes on (in a new incarnation)."""
    if work.restart is not None:
        delivery, delay = work.restart
        work.restart = None
        if delay > 0:
            await entity.runtime.clock.sleep(delay)
        work.add_redo([delivery], first=True)
        entity.phase = Phase.IDLE
        if entity.metrics is not None:
            entity.metrics.restarted()
        return True
    if work.halt == "fail":
        fail_queued(entity, work, f"[{entity.persistence_id}] stopped after a failure", True)
        entity.runtime.remove(entity, work.stop_reason)
        return False
    work.halt = ""
    if work.redo or entity.mailbox:
        entity.phase = Phase.IDLE  # stopped; later commands meet a freshly recovered entity
        return True
    entity.runtime.remove(entity, "stop_effect")
    return False


async def _recover(entity: Entity) -> bool:
    runtime = entity.runtime
    settings = runtime.settings
    dedupe = DedupeWindow(settings.dedupe_window_count, settings.dedupe_window_age)
    try:
        recovered = await recover(
            runtime.store,
            entity.entity_type,
            entity.persistence_id,
            dedupe,
            runtime.clock.now(),
            entity,
        )
    except Exception as exc:
        failure = (
            exc
            if isinstance(exc, ReplayFailed)
            else ReplayFailed(f"recovery of [{entity.persistence_id}] failed: {exc!r}")
        )
        _log.error(
            "recovery failed; entity stopped",
            persistence_id=entity.persistence_id,
            error=str(failure),
        )
        entity.work = entity.work or Work(entity.state, entity.seq_nr)
        fail_queued(entity, entity.work, str(failure), False)
        runtime.remove(entity, "recovery_failed")
        return False
    entity.state, entity.seq_nr = recovered.state, recovered.seq_nr
    entity.position, entity.dedupe = recovered.position, recovered.dedupe
    work = entity.work
    if work is None:
        entity.work = Work(entity.state, entity.seq_nr)
    else:
        work.pending_state, work.pending_seq_nr = entity.state, entity.seq_nr
    return True

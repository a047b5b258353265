"""One entity actor: a mailbox, a state, one command at a time, group commit, supervision.

The entity owns no task while idle: a task is started by the first command after a quiet spell
and ends when the mailbox is empty and no write is in flight (so an idle entity costs a few
hundred bytes). Its phases: recovery (snapshot → replay) with commands stashed in the mailbox,
then running.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from repertory.actors._dedupe import DedupeWindow, Seen
from repertory.actors._delivery import Delivery, settle, settle_error
from repertory.actors._entity_type import EntityType
from repertory.actors._failures import abandon, fail_queued, on_handler_failure
from repertory.actors._group_commit import Entry, Group, HandlerFailure, Work, run_command
from repertory.actors._recovery import Phase, recover
from repertory.actors._store import EntityWrite, WriteAck, WriteStatus
from repertory.actors.supervision import RestartTracker
from repertory.errors import (
    DuplicateCommand,
    ReplayFailed,
    WriteRejected,
)
from repertory.observability import get_logger

if TYPE_CHECKING:
    from repertory.actors._runtime import EntityRuntime

__all__ = ["Entity"]

_log = get_logger("repertory.actors.entity")


class Entity:
    """The runtime's record of one active entity (see the module doc)."""

    __slots__ = (
        "dedupe",
        "entity_id",
        "entity_type",
        "last_used",
        "mailbox",
        "persistence_id",
        "phase",
        "position",
        "putters",
        "runtime",
        "seq_nr",
        "state",
        "task",
        "tracker",
        "wake",
        "work",
    )

    def __init__(
        self, runtime: EntityRuntime, entity_type: EntityType[Any, Any, Any], entity_id: str
    ) -> None:
        self.runtime = runtime
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.persistence_id = entity_type.persistence_id(entity_id)
        self.phase = Phase.IDLE
        self.state: Any = entity_type.empty_state
        self.seq_nr = 0
        self.position: Any = None
        self.dedupe: DedupeWindow | None = None
        self.mailbox: deque[Delivery] | None = None
        self.putters: deque[asyncio.Future[None]] | None = None
        self.task: asyncio.Task[None] | None = None
        self.wake: asyncio.Future[None] | None = None
        self.tracker: RestartTracker | None = None
        self.work: Work | None = None
        self.last_used = 0.0

    def __repr__(self) -> str:
        queued = len(self.mailbox) if self.mailbox else 0
        return (
            f"Entity({self.persistence_id!r}, phase={self.phase.value}, seq_nr={self.seq_nr}, "
            f"queued={queued}, busy={self.task is not None})"
        )

    # -- mailbox ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No task, nothing queued: safe to passivate."""
        return self.task is None and not self.mailbox

    def has_space(self) -> bool:
        mailbox = self.mailbox
        return mailbox is None or len(mailbox) < self.runtime.settings.mailbox_size

    async def wait_for_space(self) -> None:
        """Wait until a command leaves the full mailbox (or the entity goes away)."""
        if self.putters is None:
            self.putters = deque()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.putters.append(future)
        await future

    def enqueue(self, delivery: Delivery) -> None:
        """Queue a command (the caller checked ``has_space``) and make sure it gets run.

        A running entity with nothing to do handles the command at once, in the caller's turn
        (still one command at a time: nothing else runs meanwhile); a task is started only if
        the command leaves work behind (a write to make, a restart to wait for).
        """
        if (
            self.task is None
            and self.work is None
            and self.phase is Phase.RUNNING
            and not self.mailbox
        ):
            work = self.work = Work(self.state, self.seq_nr)
            self._handle(work, delivery)
            if work.quiet() and not work.halt and work.restart is None:
                self.work = None
                return
            self.task = self.runtime.spawn_entity_task(self._drive())
            return
        if self.mailbox is None:
            self.mailbox = deque()
        self.mailbox.append(delivery)
        if self.task is None:
            self.task = self.runtime.spawn_entity_task(self._drive())
        elif self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def _next_delivery(self, work: Work) -> Delivery | None:
        if work.redo:
            return work.redo.popleft()
        mailbox = self.mailbox
        if not mailbox:
            return None
        delivery = mailbox.popleft()
        putters = self.putters
        while putters:
            putter = putters.popleft()
            if not putter.done():
                putter.set_result(None)
                break
        return delivery

    def release_putters(self) -> None:
        """Wake every waiting ``tell`` (they look the entity up again)."""
        while self.putters:
            putter = self.putters.popleft()
            if not putter.done():
                putter.set_result(None)
        self.putters = None

    # -- the drive loop --------------------------------------------------------------------

    async def _drive(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            self.abandon()
            raise
        finally:
            self.task = None
            self.wake = None

    async def _run(self) -> None:
        while True:
            if self.phase is not Phase.RUNNING and not await self._recover():
                return
            work = self.work
            if work is None:
                work = self.work = Work(self.state, self.seq_nr)
            if work.ack is not None:
                ack, work.ack = work.ack, None
                await self._settle_write(work, ack)
                continue
            if work.quiet() and (work.restart is not None or work.halt):
                if not await self._restart_or_halt(work):
                    return
                continue
            self._take(work)
            if work.in_flight is None and work.next is not None:
                self._submit(work)
            if work.quiet() and not work.halt and work.restart is None:
                if not work.redo and not self.mailbox:
                    self.work = None
                    self.mailbox = None
                    return
                continue
            if work.quiet():
                continue
            self.wake = asyncio.get_running_loop().create_future()
            await self.wake
            self.wake = None

    def _take(self, work: Work) -> None:
        settings = self.runtime.settings
        while not work.halt and work.restart is None:
            pending = work.next
            if pending is not None and (
                pending.event_count >= settings.group_commit_max_events
                or pending.size >= settings.group_commit_max_bytes
            ):
                return
            delivery = self._next_delivery(work)
            if delivery is None:
                return
            self._handle(work, delivery)

    def _handle(self, work: Work, delivery: Delivery) -> None:
        if self._duplicate(work, delivery):
            return
        try:
            entry = run_command(self, work, delivery)
        except HandlerFailure as failure:
            self._on_handler_failure(work, delivery, failure)
            return
        work.pending_state = entry.state_after
        if entry.effect.stop_after:
            work.halt = "stop"
        if entry.events:
            group = work.next
            if group is None:
                group = work.next = Group()
            size_of = self.runtime.store.size_of
            group.add(entry, sum(size_of(event) for event in entry.events))
        else:
            latest = work.latest_group()
            if latest is None:
                self._complete(work, entry)
                return
            latest.add(entry, 0)
        if delivery.command_id:
            work.pending_ids[delivery.command_id] = entry

    def _duplicate(self, work: Work, delivery: Delivery) -> bool:
        command_id = delivery.command_id
        dedupe = self.dedupe
        assert dedupe is not None
        if command_id:
            seen = dedupe.lookup(command_id, self.runtime.clock.now())
            if seen is not None:
                settle(delivery, seen.reply)
                return True
            entry = work.pending_ids.get(command_id)
            if entry is not None:
                if entry.duplicates is None:
                    entry.duplicates = []
                entry.duplicates.append(delivery)
                return True
        if dedupe.applied_offset(delivery.source):
            settle_error(
                delivery,
                DuplicateCommand(f"[{self.persistence_id}] already applied [{delivery.source}]"),
            )
            return True
        return False

    # -- writes ----------------------------------------------------------------------------

    def _submit(self, work: Work) -> None:
        group = work.next
        assert group is not None
        work.next = None
        work.in_flight = group
        group.write = EntityWrite(
            persistence_id=self.persistence_id,
            events=group.events(),
            position=self.position,
            size=group.size,
        )
        self._send(work, group.write)

    def _send(self, work: Work, write: EntityWrite) -> None:
        future = self.runtime.batcher.submit(write)
        work.pending = future
        future.add_done_callback(partial(self._acked, work))

    def _acked(self, work: Work, future: asyncio.Future[WriteAck]) -> None:
        if self.work is not work or work.pending is not future or future.cancelled():
            return
        work.pending = None
        work.ack = future.result()
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    async def _settle_write(self, work: Work, ack: WriteAck) -> None:
        group = work.in_flight
        assert group is not None and group.write is not None
        if ack.status is WriteStatus.STORED:
            work.failed_attempts = 0
            work.in_flight = None
            self.position = ack.position
            before = self.seq_nr
            for entry in group.entries:
                self._complete(work, entry)
            self.runtime.after_stored(self, before)
        elif ack.status is WriteStatus.REJECTED:
            self._redo_after_rejection(work)
        else:
            work.failed_attempts += 1
            delay = self.runtime.unknown_write_backoff(work.failed_attempts)
            _log.warning(
                "write outcome unknown; retrying the identical write",
                persistence_id=self.persistence_id,
                seq_nr=group.write.last_seq_nr,
                attempt=work.failed_attempts,
                delay=delay,
            )
            await self.runtime.clock.sleep(delay)
            self._send(work, group.write)

    def _complete(self, work: Work, entry: Entry) -> None:
        self.state = entry.state_after
        if entry.events:
            self.seq_nr = entry.events[-1].seq_nr
        delivery = entry.delivery
        runtime = self.runtime
        assert self.dedupe is not None
        seen = Seen(entry.reply, self.seq_nr if entry.events else 0, delivery.timestamp)
        self.dedupe.remember(delivery.command_id, delivery.source, seen, runtime.clock.now())
        if delivery.command_id:
            work.pending_ids.pop(delivery.command_id, None)
        settle(delivery, entry.reply)
        for duplicate in entry.duplicates or ():
            settle(duplicate, entry.reply)
        effect = entry.effect
        if effect.side_effects:
            runtime.run_side_effects(self, effect.side_effects, self.state)
        if effect.emits:
            runtime.send_emits(self, self.seq_nr, effect.emits)

    def _redo_after_rejection(self, work: Work) -> None:
        limit = self.runtime.settings.rejected_write_retries
        again: list[Delivery] = []
        for delivery in work.unacknowledged():
            delivery.attempts += 1
            if delivery.attempts > limit:
                settle_error(
                    delivery,
                    WriteRejected(
                        f"write for [{self.persistence_id}] rejected {delivery.attempts} times; "
                        f"giving up on command [{delivery.command_id}]"
                    ),
                )
            else:
                again.append(delivery)
        _log.info("write rejected; recovering", persistence_id=self.persistence_id, redo=len(again))
        work.redo.extendleft(reversed(again))
        work.in_flight = work.next = None
        work.pending_ids.clear()
        work.halt = ""
        self.phase = Phase.IDLE

    # -- failures, restarts, stops ---------------------------------------------------------

    async def _restart_or_halt(self, work: Work) -> bool:
        """Returns whether the entity goes on (in a new incarnation)."""
        if work.restart is not None:
            delivery, delay = work.restart
            work.restart = None
            if delay > 0:
                await self.runtime.clock.sleep(delay)
            work.redo.appendleft(delivery)
            self.phase = Phase.IDLE
            return True
        if work.halt == "fail":
            self._fail_queued(work, f"[{self.persistence_id}] stopped after a failure", True)
            self.runtime.remove(self)
            return False
        work.halt = ""
        if work.redo or self.mailbox:
            self.phase = Phase.IDLE  # stopped; later commands meet a freshly recovered entity
            return True
        self.runtime.remove(self)
        return False

    async def _recover(self) -> bool:
        runtime = self.runtime
        settings = runtime.settings
        dedupe = DedupeWindow(settings.dedupe_window_count, settings.dedupe_window_age)
        try:
            recovered = await recover(
                runtime.store,
                self.entity_type,
                self.persistence_id,
                dedupe,
                runtime.clock.now(),
                self,
            )
        except Exception as exc:
            failure = (
                exc
                if isinstance(exc, ReplayFailed)
                else ReplayFailed(f"recovery of [{self.persistence_id}] failed: {exc!r}")
            )
            _log.error(
                "recovery failed; entity stopped",
                persistence_id=self.persistence_id,
                error=str(failure),
            )
            self.work = self.work or Work(self.state, self.seq_nr)
            self._fail_queued(self.work, str(failure), False)
            runtime.remove(self)
            return False
        self.state, self.seq_nr = recovered.state, recovered.seq_nr
        self.position, self.dedupe = recovered.position, recovered.dedupe
        work = self.work
        if work is None:
            self.work = Work(self.state, self.seq_nr)
        else:
            work.pending_state, work.pending_seq_nr = self.state, self.seq_nr
        return True

    def _on_handler_failure(self, work: Work, delivery: Delivery, failure: HandlerFailure) -> None:
        on_handler_failure(self, work, delivery, failure)

    def _fail_queued(self, work: Work, reason: str, dead_letter: bool) -> None:
        fail_queued(self, work, reason, dead_letter)

    def abandon(self) -> None:
        """Fail everything this entity holds (shutdown, or ownership lost)."""
        abandon(self)

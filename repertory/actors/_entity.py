"""One entity actor while it runs: a mailbox, a state, one command at a time, group commit.

The entity owns no task in the ordinary course. A command that finds it running and free is
handled at once, in the sender's turn (still one command at a time: nothing else runs
meanwhile); a write goes to the batcher, and its acknowledgement — delivered by callback —
completes the commands it holds and takes the next ones from the mailbox. A task (see
``_drive``) is started only for what needs waiting: recovery, a restart, a stop, a rejected
write or one whose outcome is unknown. An idle entity holds no task, no mailbox and no timer.

Log lines about an entity carry its ``persistence_id`` (and ``seq_nr``, ``command_id``) as
keyword context, not structlog contextvars: most of its work runs in other tasks' turns (the
sender's, the batcher's), where binding would label their lines too. Nothing logs per command.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from repertory.actors._dedupe import DedupeWindow, Seen
from repertory.actors._delivery import Delivery, settle
from repertory.actors._drive import drive
from repertory.actors._effect import Effect
from repertory.actors._entity_metrics import EntityMetrics
from repertory.actors._entity_type import EntityType
from repertory.actors._failures import abandon, on_handler_failure
from repertory.actors._group_commit import Group, HandlerFailure, Work, run_command
from repertory.actors._recovery import Phase
from repertory.actors._redelivered import answer_duplicate
from repertory.actors._store import WriteAck, WriteStatus, new_entity_write
from repertory.actors.supervision import RestartTracker

if TYPE_CHECKING:
    from repertory.actors._runtime import EntityRuntime

__all__ = ["Entity"]

_RUNNING = Phase.RUNNING  # a module global: faster than an enum class's attribute, per command


class Entity:
    """The runtime's record of one active entity (see the module doc)."""

    __slots__ = (
        "dedupe",
        "entity_id",
        "entity_type",
        "last_used",
        "mailbox",
        "metrics",
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
        self.metrics: EntityMetrics | None = runtime.type_metrics.get(entity_type.name)

    def __repr__(self) -> str:
        queued = len(self.mailbox) if self.mailbox else 0
        return (
            f"Entity({self.persistence_id!r}, phase={self.phase.value}, seq_nr={self.seq_nr}, "
            f"queued={queued}, busy={not self.idle})"
        )

    # -- mailbox ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No task, no write, nothing queued: safe to passivate."""
        return self.task is None and self.work is None and not self.mailbox

    async def wait_for_space(self) -> None:
        """Wait until a command leaves the full mailbox (or the entity goes away)."""
        if self.putters is None:
            self.putters = deque()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.putters.append(future)
        await future

    def enqueue(self, delivery: Delivery, now: float) -> None:
        """Take a command (the caller checked that the mailbox has room) and make sure it gets run.

        ``now`` is the clock's time: the command's arrival, for the metrics.
        """
        metrics = self.metrics
        if metrics is not None:
            mailbox = self.mailbox
            metrics.mailbox_depth.observe(len(mailbox) if mailbox else 0)
            delivery.arrived = now
        if self.task is None:
            if self.phase is _RUNNING or self._recover_at_once():
                work = self.work
                mailbox = self.mailbox
                if not mailbox:
                    if work is None:
                        self._run_alone(delivery)
                        return
                    pending = work.next
                    if pending is None or not pending.full:
                        self.handle(work, delivery)
                        self.advance(work)
                        return
                if mailbox is None:
                    mailbox = self.mailbox = deque()
                mailbox.append(delivery)
                if work is None:  # not expected: nothing would take the command otherwise
                    self.start_task()
                return  # the acknowledgement of the write in flight takes it
            self._queue(delivery)
            self.start_task()
            return
        self._queue(delivery)
        wake = self.wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _queue(self, delivery: Delivery) -> None:
        if self.mailbox is None:
            self.mailbox = deque()
        self.mailbox.append(delivery)

    def start_task(self) -> None:
        """Hand the entity to its supervised loop (recovery, restarts, failed writes)."""
        if self.task is None:
            self.task = self.runtime.spawn_entity_task(drive(self))

    def _recover_at_once(self) -> bool:
        """Activate without a task when the store knows, without I/O, the journal is empty."""
        empty_recovery = self.runtime.empty_recovery
        if empty_recovery is None or self.phase is not Phase.IDLE:
            return False
        recovery = empty_recovery(self.persistence_id)
        if recovery is None:
            return False
        settings = self.runtime.settings
        self.dedupe = DedupeWindow(settings.dedupe_window_count, settings.dedupe_window_age)
        self.state, self.seq_nr = self.entity_type.empty_state, 0
        self.position = recovery.position
        self.phase = Phase.RUNNING
        return True

    def release_putters(self) -> None:
        """Wake every waiting ``tell`` (they look the entity up again)."""
        while self.putters:
            putter = self.putters.popleft()
            if not putter.done():
                putter.set_result(None)
        self.putters = None

    # -- running commands -------------------------------------------------------------------

    def _run_alone(self, delivery: Delivery) -> None:
        """Run a command with nothing pending: one that writes nothing and does not stop is
        done at once and needs no ``Work``."""
        keyed = delivery.command_id or delivery.source is not None
        if keyed and answer_duplicate(self, None, delivery):
            return
        try:
            effect = run_command(self.entity_type, self.state, delivery)
        except HandlerFailure as failure:
            work = self.work = Work(self.state, self.seq_nr)
            on_handler_failure(self, work, delivery, failure)
            self.advance(work)
            return
        if not effect[0] and not effect[5]:  # no events, no stop
            if keyed or delivery.future is not None or delivery.after is not None:
                self._complete(delivery)
            else:  # a tell that changed nothing: its state is all it leaves
                self.state = delivery.state_after
            if self.metrics is not None:
                self._handled(delivery)
            return
        work = self.work = Work(self.state, self.seq_nr)
        self._add(work, delivery, effect)
        self.advance(work)

    @staticmethod
    def _group_full(work: Work) -> bool:
        pending = work.next
        return pending is not None and pending.full

    def take(self, work: Work) -> None:
        """Run queued commands into the next write, up to the group's bounds."""
        if work.redo:
            while work.redo and not work.halt and work.restart is None:
                if self._group_full(work):
                    return
                self.handle(work, work.redo.popleft())
        mailbox = self.mailbox
        if not mailbox:
            return
        handle = self.handle
        while mailbox and not work.halt and work.restart is None:
            pending = work.next
            if pending is not None and pending.full:
                return
            handle(work, mailbox.popleft())
            putters = self.putters
            while putters:
                putter = putters.popleft()
                if not putter.done():
                    putter.set_result(None)
                    break

    def handle(self, work: Work, delivery: Delivery) -> None:
        """Run one command against the pending state."""
        if (delivery.command_id or delivery.source is not None) and answer_duplicate(
            self, work, delivery
        ):
            return
        try:
            effect = run_command(self.entity_type, work.pending_state, delivery)
        except HandlerFailure as failure:
            on_handler_failure(self, work, delivery, failure)
            return
        self._add(work, delivery, effect)

    def _add(self, work: Work, delivery: Delivery, effect: Effect[Any, Any]) -> None:
        work.pending_state = delivery.state_after
        if effect[5]:  # stop_after
            work.halt = "stop"
        if effect[0]:  # events
            group = work.next
            if group is None:
                settings = self.runtime.settings
                group = work.next = Group(
                    settings.group_commit_max_events, settings.group_commit_max_bytes
                )
            group.add(delivery, effect, work.pending_seq_nr, self.runtime.size_of)
            work.pending_seq_nr = delivery.last_seq_nr
        else:
            latest = work.latest_group()
            if latest is None:
                self._complete(delivery)
                if self.metrics is not None:
                    self._handled(delivery)
                return
            latest.entries.append(delivery)
        if delivery.command_id:
            work.remember_pending(delivery.command_id, delivery)

    def advance(self, work: Work) -> None:
        """After commands ran or a write was stored: send the next write, hand anything
        unusual to the supervised loop, or go idle."""
        if work.in_flight is None and work.next is not None:
            self.submit(work)
        # ``work.unusual()`` and ``work.quiet()``, spelled out: this runs for every command.
        if work.restart is not None or work.halt or work.redo or work.ack is not None:
            self.start_task()
        elif work.in_flight is None and work.next is None and not self.mailbox:
            self.go_idle()

    def go_idle(self) -> None:
        self.work = None
        self.mailbox = None
        runtime = self.runtime
        if runtime.draining:
            runtime.entity_settled()

    # -- writes ----------------------------------------------------------------------------

    def submit(self, work: Work) -> None:
        group = work.next
        assert group is not None
        work.next = None
        work.in_flight = group
        group.write = new_entity_write(
            self.persistence_id, group.events(), self.position, group.size
        )
        self.send(work)

    def send(self, work: Work) -> None:
        """Send (or send again, identically) the write in flight."""
        group = work.in_flight
        assert group is not None and group.write is not None
        work.sends += 1
        self.runtime.batcher.submit(group.write, partial(self._acked, work, work.sends))

    def _acked(self, work: Work, send: int, ack: WriteAck) -> None:
        if self.work is not work or work.sends != send or work.in_flight is None:
            return  # for an earlier send, or the entity stopped meanwhile
        work.sends += 1  # one acknowledgement per send
        if self.task is None and ack.status is WriteStatus.STORED:
            self.settle_stored(work, ack)
            self.take(work)
            self.advance(work)
            return
        work.ack = ack
        if self.task is None:
            self.start_task()
        elif self.wake is not None and not self.wake.done():
            self.wake.set_result(None)

    def settle_stored(self, work: Work, ack: WriteAck) -> None:
        """The write in flight is stored: complete its commands in order."""
        group = work.in_flight
        assert group is not None
        work.failed_attempts = 0
        work.in_flight = None
        self.position = ack.position
        before = self.seq_nr
        pending_ids = work.pending_ids
        entries = group.entries
        for delivery in entries:
            if pending_ids and delivery.command_id:
                pending_ids.pop(delivery.command_id, None)
            self._complete(delivery)
        metrics = self.metrics
        if metrics is not None:
            now = self.runtime.clock.now()
            if len(entries) == 1:  # binning a batch costs more than one observe
                metrics.handled(now - entries[0].arrived)
            else:
                metrics.handled_many(now - delivery.arrived for delivery in entries)
        if self.entity_type.snapshots is not None:
            self.runtime.snapshots.after_stored(self, before, self.runtime.clock.now())

    def _handled(self, delivery: Delivery) -> None:
        """A command that wrote nothing is done: its time since arrival, for the metrics."""
        metrics = self.metrics
        assert metrics is not None
        metrics.handled(self.runtime.clock.now() - delivery.arrived)

    def _complete(self, delivery: Delivery) -> None:
        """Send a command's outcome: its events are stored, or it wrote none."""
        self.state = delivery.state_after
        seq_nr = delivery.last_seq_nr
        if seq_nr:
            self.seq_nr = seq_nr
        if delivery.command_id or delivery.source is not None:
            assert self.dedupe is not None
            seen = Seen(delivery.reply, seq_nr, delivery.timestamp)
            now = self.runtime.clock.now()
            self.dedupe.remember(delivery.command_id, delivery.source, seen, now)
        if delivery.future is not None:
            settle(delivery, delivery.reply)
        if delivery.duplicates:
            for duplicate in delivery.duplicates:
                settle(duplicate, delivery.reply)
        after = delivery.after
        if after is not None:
            if after.side_effects:
                self.runtime.run_side_effects(self, after.side_effects, self.state)
            if after.emits:
                self.runtime.send_emits(self, self.seq_nr, after.emits)

    def abandon(self) -> None:
        """Fail everything this entity holds (shutdown, or ownership lost)."""
        abandon(self)

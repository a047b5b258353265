"""The root supervisor actor: owns N worker slots and restarts dead workers with backoff.

Thespian tells a parent ``ChildActorExited`` when a child process ends, and nothing more; the
decision is ``RestartTracker.on_failure`` from ``repertory.actors.supervision`` (the same
vocabulary entities use), and the delay is a ``wakeupAfter`` timer. A slot that fails too often
within the window is given up and logged; the other slots carry on.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ChildActorExited,
    PoisonMessage,
    WakeupMessage,
)

from repertory.actors.supervision import Directive, RestartTracker
from repertory.observability import get_logger
from repertory.workers._messages import (
    AppStopped,
    Drain,
    Drained,
    GetStatus,
    PoolStatus,
    RunApp,
    SlotState,
    SlotStatus,
    StartPool,
    StopApp,
    WorkerFailed,
    WorkerReady,
    WorkerStarting,
)
from repertory.workers._worker import WorkerActor

__all__ = ["PoolSupervisor"]

_SETTLED = (SlotState.STOPPED, SlotState.FAILED)


@dataclass(frozen=True, slots=True)
class _RestartDue:
    slot: int
    incarnation: int


@dataclass(frozen=True, slots=True)
class _DrainDeadline:
    pass


@dataclass(slots=True)
class _Slot:
    index: int
    tracker: RestartTracker
    state: SlotState = SlotState.STARTING
    address: Any = None
    incarnation: int = 0
    pid: int | None = None
    restarts: int = 0
    last_failure: str = ""
    pending_reason: str = field(default="")

    def status(self) -> SlotStatus:
        live = self.state in (SlotState.STARTING, SlotState.RUNNING, SlotState.STOPPING)
        return SlotStatus(
            slot=self.index,
            state=self.state,
            pid=self.pid,
            restarts=self.restarts,
            last_failure=self.last_failure,
            address=self.address if live else None,
        )


class PoolSupervisor(Actor):  # type: ignore[misc]
    """Starts the workers on ``StartPool``, restarts them, reports ``PoolStatus``, drains."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._config: StartPool | None = None
        self._slots: list[_Slot] = []
        self._draining = False
        self._exiting = False
        self._drain_waiters: list[Any] = []
        self._log: Any = get_logger("repertory.workers.supervisor", pid=os.getpid())

    def receiveMessage(self, message: Any, sender: Any) -> None:
        if isinstance(message, GetStatus):
            self.send(sender, self._pool_status())
        elif isinstance(message, StartPool):
            self._start_pool(message, sender)
        elif isinstance(message, WorkerStarting | WorkerReady | WorkerFailed | AppStopped):
            self._on_report(message)
        elif isinstance(message, ChildActorExited):
            self._on_child_exited(message.childAddress)
        elif isinstance(message, WakeupMessage):
            self._on_wakeup(message.payload)
        elif isinstance(message, Drain):
            self._drain(sender)
        elif isinstance(message, ActorExitRequest):
            # Thespian now sends ActorExitRequest to every worker and waits for them to exit.
            self._exiting = True
            self._log.info("worker supervisor exiting")
        elif isinstance(message, PoisonMessage):
            self._log.error("a message failed twice", message=str(message.poisonMessage))

    def _pool_status(self) -> PoolStatus:
        slots = tuple(slot.status() for slot in self._slots)
        return PoolStatus(slots=slots, supervisor_pid=os.getpid(), draining=self._draining)

    def _start_pool(self, config: StartPool, sender: Any) -> None:
        if self._config is None:
            self._config = config
            self._log = self._log.bind(app=config.app)
            self._slots = [_Slot(i, RestartTracker(config.backoff)) for i in range(config.count)]
            self._log.info("starting workers", count=config.count)
            for slot in self._slots:
                self._start_worker(slot)
        self.send(sender, self._pool_status())

    def _start_worker(self, slot: _Slot) -> None:
        assert self._config is not None
        slot.incarnation += 1
        slot.state = SlotState.STARTING
        slot.pending_reason = ""
        slot.address = self.createActor(WorkerActor)
        run = RunApp(
            slot=slot.index,
            incarnation=slot.incarnation,
            app=self._config.app,
            drain_timeout=self._config.drain_timeout,
        )
        self.send(slot.address, run)

    def _on_report(self, report: WorkerStarting | WorkerReady | WorkerFailed | AppStopped) -> None:
        if not 0 <= report.slot < len(self._slots):
            return
        slot = self._slots[report.slot]
        if report.incarnation != slot.incarnation:
            return  # from a worker this slot has already replaced
        slot.pid = report.pid
        if isinstance(report, WorkerReady) and slot.state is SlotState.STARTING:
            slot.state = SlotState.RUNNING
            self._log.info("worker running", slot=slot.index, worker_pid=report.pid)
        elif isinstance(report, WorkerFailed):
            slot.pending_reason = report.reason
            if slot.state is SlotState.RESTARTING:  # its exit was noticed before this report
                slot.last_failure = report.reason
        elif isinstance(report, AppStopped) and report.error:
            self._log.warning(
                "worker app raised while stopping", slot=slot.index, error=report.error
            )

    def _slot_of(self, address: Any) -> _Slot | None:
        for slot in self._slots:
            if slot.address is not None and slot.address == address:
                return slot
        return None

    def _on_child_exited(self, address: Any) -> None:
        slot = self._slot_of(address)
        if slot is None:
            return
        slot.address = None
        if self._draining or self._exiting:
            slot.state = SlotState.STOPPED
            self._log.info("worker stopped", slot=slot.index, worker_pid=slot.pid)
            self._answer_drain_if_done()
            return
        reason = slot.pending_reason or "worker process exited"
        slot.last_failure = reason
        decision = slot.tracker.on_failure(time.monotonic(), reason)
        log = self._log.bind(slot=slot.index, worker_pid=slot.pid)
        if decision.directive is Directive.RESTART:
            slot.state = SlotState.RESTARTING
            log.warning("worker died; restarting", reason=reason, delay=round(decision.delay, 3))
            due = _RestartDue(slot.index, slot.incarnation)
            self.wakeupAfter(timedelta(seconds=decision.delay), payload=due)
        else:
            # STOP, or ESCALATE: the root supervisor has no parent to escalate to.
            slot.state = SlotState.FAILED
            slot.last_failure = decision.reason or reason
            log.error("gave up on worker slot", reason=slot.last_failure)

    def _on_wakeup(self, payload: Any) -> None:
        if isinstance(payload, _RestartDue):
            slot = self._slots[payload.slot]
            due = slot.state is SlotState.RESTARTING and slot.incarnation == payload.incarnation
            if due and not (self._draining or self._exiting):
                slot.restarts += 1
                self._start_worker(slot)
        elif isinstance(payload, _DrainDeadline) and self._drain_waiters:
            self._log.error("drain timed out", slots=[s.status().state.value for s in self._slots])
            self._answer_drain(complete=False)

    def _drain(self, sender: Any) -> None:
        if not self._draining:
            self._draining = True
            self._log.info("draining workers")
            for slot in self._slots:
                if slot.address is not None:
                    slot.state = SlotState.STOPPING
                    self.send(slot.address, StopApp())
                elif slot.state is SlotState.RESTARTING:
                    slot.state = SlotState.STOPPED
        self._drain_waiters.append(sender)
        if self._answer_drain_if_done():
            return
        timeout = self._config.drain_timeout if self._config else 0.0
        self.wakeupAfter(timedelta(seconds=timeout + 2.0), payload=_DrainDeadline())

    def _answer_drain_if_done(self) -> bool:
        if not self._drain_waiters or any(s.state not in _SETTLED for s in self._slots):
            return False
        self._log.info("workers drained")
        self._answer_drain(complete=True)
        return True

    def _answer_drain(self, *, complete: bool) -> None:
        drained = Drained(slots=self._pool_status().slots, complete=complete)
        for waiter in self._drain_waiters:
            self.send(waiter, drained)
        self._drain_waiters.clear()

"""The worker actor: one OS process that runs one app and answers requests for it.

Its parent (the supervisor) sends ``RunApp``; the worker reports ``WorkerStarting``, then
``WorkerReady`` or ``WorkerFailed``. A failed app makes the worker exit, so the parent sees
``ChildActorExited`` and applies its restart strategy. ``StopApp`` (drain) and
``ActorExitRequest`` (actor system shutdown) both exit the app's context before the process ends.
"""

from __future__ import annotations

import os
from typing import Any

from thespian.actors import (
    Actor,
    ActorExitRequest,
    ThespianWatch,
    WatchMessage,
)

from repertory.observability import get_logger, metrics
from repertory.workers._app import Answer, AppFailed, AppFinished, AppReady, AppRunner
from repertory.workers._messages import (
    AppReply,
    AppRequest,
    AppStopped,
    RunApp,
    StopApp,
    WorkerFailed,
    WorkerReady,
    WorkerStarting,
)

__all__ = ["WorkerActor"]


class WorkerActor(Actor):  # type: ignore[misc]
    """Runs one app in a background asyncio loop; Thespian creates it in its own process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._runner: AppRunner | None = None
        self._run: RunApp | None = None
        self._parent: Any = None
        self._pending: dict[int, Any] = {}
        self._next_request = 0
        self._exiting = False
        self._log: Any = get_logger("repertory.workers.worker", pid=os.getpid())

    def receiveMessage(self, message: Any, sender: Any) -> Any:
        if isinstance(message, RunApp):
            self._start(message, sender)
        elif isinstance(message, WatchMessage):
            self._on_events()
        elif isinstance(message, AppRequest):
            self._on_request(message, sender)
        elif isinstance(message, StopApp):
            if self._runner is not None:
                self._runner.stop()
        elif isinstance(message, ActorExitRequest):
            self._on_exit_request()
            return None
        return self._watch()

    def _watch(self) -> Any:
        if self._runner is None or self._exiting:
            return None
        return ThespianWatch([self._runner.fileno()])

    def _start(self, run: RunApp, sender: Any) -> None:
        if self._runner is not None:
            return  # one app per worker process
        self._run, self._parent = run, sender
        self._log = self._log.bind(slot=run.slot, app=run.app)
        self.send(
            sender, WorkerStarting(slot=run.slot, incarnation=run.incarnation, pid=os.getpid())
        )
        metrics.set_worker_slot(run.slot)  # the app's metrics port is base + slot
        self._runner = AppRunner(run.app)
        self._runner.start()

    def _on_request(self, request: AppRequest, sender: Any) -> None:
        runner = self._runner
        self._next_request += 1
        request_id = self._next_request
        if runner is None or not runner.submit(request_id, request.payload):
            self.send(sender, AppReply(pid=os.getpid(), error="app is not running"))
            return
        self._pending[request_id] = sender

    def _on_events(self) -> None:
        runner, run = self._runner, self._run
        if runner is None or run is None:
            return
        for event in runner.take_events():
            if isinstance(event, Answer):
                asker = self._pending.pop(event.request_id, None)
                if asker is not None:
                    reply = AppReply(pid=os.getpid(), payload=event.payload, error=event.error)
                    self.send(asker, reply)
            elif isinstance(event, AppReady):
                self._log.info("worker app running")
                self.send(self._parent, WorkerReady(**self._ids(run)))
            elif isinstance(event, AppFailed):
                self._log.error("worker app failed", reason=event.reason)
                self.send(self._parent, WorkerFailed(**self._ids(run), reason=event.reason))
                self._exit_self()
            elif isinstance(event, AppFinished):
                self._log.info("worker app stopped", error=event.error or None)
                self.send(self._parent, AppStopped(**self._ids(run), error=event.error))
                self._exit_self()

    @staticmethod
    def _ids(run: RunApp) -> dict[str, int]:
        return {"slot": run.slot, "incarnation": run.incarnation, "pid": os.getpid()}

    def _exit_self(self) -> None:
        self._fail_pending()
        if not self._exiting:
            self.send(self.myAddress, ActorExitRequest())

    def _fail_pending(self) -> None:
        for asker in self._pending.values():
            self.send(asker, AppReply(pid=os.getpid(), error="app stopped before answering"))
        self._pending.clear()

    def _on_exit_request(self) -> None:
        """The process is about to end: make sure the app's context has exited first."""
        if self._exiting:
            return
        self._exiting = True
        runner, run = self._runner, self._run
        if runner is None or run is None:
            return
        runner.stop()
        if not runner.join(run.drain_timeout):
            self._log.error("worker app did not stop in time", drain_timeout=run.drain_timeout)
        self._on_events()  # report AppStopped if it happened just now
        self._fail_pending()
        runner.close()

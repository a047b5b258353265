"""The public face of the worker processes: start, inspect, ask, drain, stop.

``WorkerPool`` starts a Thespian actor system (``multiprocTCPBase``) on the configured admin
port, creates the root ``PoolSupervisor`` and waits until every worker slot is running (or given
up). ``stop()`` drains (every app's context exits), shuts the actor system down and makes sure
no worker process outlives it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from thespian.actors import ActorSystem

from repertory.actors.supervision import Backoff
from repertory.config import WorkersSettings
from repertory.errors import AskTimeout, WorkerError
from repertory.observability import get_logger
from repertory.workers._app import load_app_factory
from repertory.workers._messages import (
    AppReply,
    AppRequest,
    Drain,
    Drained,
    GetStatus,
    PoolStatus,
    SlotState,
    SlotStatus,
    StartPool,
)
from repertory.workers._supervisor import PoolSupervisor

__all__ = ["WorkerPool"]

_T = TypeVar("_T")

_THESPIAN_LOGGING: dict[str, Any] = {
    # Thespian's own logger process: warnings and errors to stderr, nothing else.
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}

_SETTLED_AT_START = (SlotState.RUNNING, SlotState.FAILED)
_REAP_GRACE = 5.0


class WorkerPool:
    """N worker processes, each running ``app``, under one supervisor actor.

    Use as a context manager (``with WorkerPool(settings.workers, app="pkg.mod:factory") as
    pool``) or call ``start()`` and ``stop()``. Not thread-safe: call it from one thread.

    Args:
        settings: the ``workers`` settings section.
        app: ``"package.module:factory"``; ``factory()`` returns an async context manager.
            The object it enters may define ``async def handle(request)`` to answer ``ask``.
        count: worker processes; default ``settings.count``.
    """

    def __init__(self, settings: WorkersSettings, app: str, *, count: int | None = None) -> None:
        self.settings = settings
        self.app = app
        self.count = settings.count if count is None else count
        if self.count < 1:
            raise WorkerError(f"worker count [{self.count}] must be at least 1")
        self._system: Any = None
        self._supervisor: Any = None
        self._pids: set[int] = set()
        self._final: tuple[SlotStatus, ...] = ()
        self._log: Any = get_logger("repertory.workers.pool", app=app)

    def __repr__(self) -> str:
        state = "running" if self._system is not None else "stopped"
        port = self.settings.admin_port
        return f"WorkerPool(app={self.app!r}, count={self.count}, admin_port={port}, {state})"

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._system is not None

    @property
    def known_pids(self) -> frozenset[int]:
        """The supervisor's and every worker's process id seen so far (current and past)."""
        return frozenset(self._pids)

    def start(self) -> tuple[SlotStatus, ...]:
        """Start the actor system and the workers; wait until each slot runs or is given up.

        Returns:
            The status of every slot.

        Raises:
            WorkerError: the app cannot be loaded, the admin port is taken, or the workers did
                not settle within ``settings.start_timeout`` (the pool is stopped again).
        """
        if self._system is not None:
            raise WorkerError("worker pool already started")
        load_app_factory(self.app)  # fail here, not N times in the workers
        port = self.settings.admin_port
        _ensure_port_free(port)
        self._log.info("starting actor system", admin_port=port, count=self.count)
        try:
            self._system = ActorSystem(
                "multiprocTCPBase",
                {"Admin Port": port},
                logDefs=_THESPIAN_LOGGING,
                transientUnique=True,
            )
            self._supervisor = self._system.createActor(PoolSupervisor)
            s = self.settings
            backoff = Backoff(
                min_delay=s.restart_min_delay,
                max_delay=s.restart_max_delay,
                max_restarts=s.restart_limit,
                within=s.restart_window,
            )
            start = StartPool(
                app=self.app, count=self.count, backoff=backoff, drain_timeout=s.drain_timeout
            )
            self._request(start, PoolStatus, timeout=10.0)
            return self.wait_until(_all_settled, timeout=s.start_timeout)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, WorkerError):
                raise
            if isinstance(exc, Exception):
                raise WorkerError(f"worker pool failed to start: {exc}") from exc
            raise

    def status(self, timeout: float = 5.0) -> tuple[SlotStatus, ...]:
        """Every slot's state, pid and restart count, as the supervisor reports them.

        Raises:
            WorkerError: the pool is not running or the supervisor did not answer in time.
        """
        return self._status(timeout).slots

    def wait_until(
        self,
        predicate: Callable[[tuple[SlotStatus, ...]], bool],
        timeout: float,
        poll: float = 0.05,
    ) -> tuple[SlotStatus, ...]:
        """Poll ``status()`` until ``predicate`` holds on it.

        Raises:
            WorkerError: the deadline passed first (the last status is in the message).
        """
        deadline = time.monotonic() + timeout
        while True:
            slots = self.status()
            if predicate(slots):
                return slots
            if time.monotonic() >= deadline:
                states = [(s.slot, s.state.value, s.pid) for s in slots]
                raise WorkerError(
                    f"workers did not reach the expected state in {timeout}s: {states}"
                )
            time.sleep(poll)

    def ask(self, slot: int, request: Any, timeout: float = 5.0) -> Any:
        """Send ``request`` to the app of worker ``slot`` (its ``handle``) and return the answer.

        Raises:
            WorkerError: no such slot, its worker is not running, or the app failed to answer.
            AskTimeout: no answer within ``timeout`` seconds.
        """
        slots = self.status(timeout)
        if not 0 <= slot < len(slots):
            raise WorkerError(f"no worker slot [{slot}] (the pool has {len(slots)})")
        target = slots[slot]
        if target.state is not SlotState.RUNNING or target.address is None:
            raise WorkerError(f"worker slot [{slot}] is not running (state [{target.state.value}])")
        reply = self._request(AppRequest(payload=request), AppReply, timeout, target.address)
        if reply.error:
            raise WorkerError(f"worker slot [{slot}] pid [{reply.pid}]: {reply.error}")
        return reply.payload

    def stop(self) -> tuple[SlotStatus, ...]:
        """Drain every worker (its app's context exits), shut the actor system down, and wait
        for every worker process to be gone (killing any that outlive the grace period).

        Returns:
            The final status of every slot. Safe to call twice.
        """
        system = self._system
        if system is None:
            return self._final
        try:
            timeout = self.settings.drain_timeout + 5.0
            drained = self._request(Drain(), Drained, timeout=timeout)
            self._final = drained.slots
            self._note_pids(drained.slots)
            if not drained.complete:
                self._log.error("workers did not drain in time", drain_timeout=timeout)
        except Exception as exc:  # shut down regardless
            self._log.error("drain failed; shutting down anyway", error=str(exc))
        finally:
            self._system = None
            system.shutdown()
            _reap(self._pids, self._log)
            self._log.info("actor system stopped")
        return self._final

    # --- internals -------------------------------------------------------------------------

    def _status(self, timeout: float) -> PoolStatus:
        status = self._request(GetStatus(), PoolStatus, timeout)
        self._pids.add(status.supervisor_pid)
        self._note_pids(status.slots)
        return status

    def _note_pids(self, slots: tuple[SlotStatus, ...]) -> None:
        self._pids.update(s.pid for s in slots if s.pid is not None)

    def _request(self, message: Any, expect: type[_T], timeout: float, to: Any = None) -> _T:
        """Ask and wait for a reply of type ``expect``, skipping stale replies of other asks."""
        if self._system is None:
            raise WorkerError("worker pool is not running")
        deadline = time.monotonic() + timeout
        target = self._supervisor if to is None else to
        reply = self._system.ask(target, message, timeout)
        while not isinstance(reply, expect):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AskTimeout(f"no [{expect.__name__}] within {timeout}s")
            reply = self._system.listen(remaining)
        return reply


def _all_settled(slots: tuple[SlotStatus, ...]) -> bool:
    return all(s.state in _SETTLED_AT_START for s in slots)


def _ensure_port_free(port: int) -> None:
    # Thespian joins an actor system that already listens on its admin port; refuse instead.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise WorkerError(f"admin port [{port}] is in use (another actor system?)") from exc
        raise WorkerError(f"cannot bind admin port [{port}]: {exc}") from exc
    finally:
        probe.close()


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def _reap(pids: set[int], log: Any) -> None:
    deadline = time.monotonic() + _REAP_GRACE
    remaining = {pid for pid in pids if pid != os.getpid()}
    while remaining and time.monotonic() < deadline:
        remaining = {pid for pid in remaining if process_alive(pid)}
        if remaining:
            time.sleep(0.05)
    for pid in sorted(remaining):
        log.error("worker process outlived the actor system; killing it", worker_pid=pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

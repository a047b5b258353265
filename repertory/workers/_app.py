"""Runs one app inside a worker process: an asyncio loop in a background thread.

An app is named ``"package.module:factory"``; ``factory()`` returns an async context manager.
The thread enters it (clients are created here, after the fork), holds it until told to stop,
and exits it. What happens is reported as events on a queue; one byte on a socket pair wakes
the worker actor, which watches the socket with ``ThespianWatch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import queue
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from repertory.errors import WorkerError

__all__ = ["Answer", "AppFailed", "AppFinished", "AppReady", "AppRunner", "load_app_factory"]

AppFactory = Callable[[], AbstractAsyncContextManager[Any]]


def load_app_factory(path: str) -> AppFactory:
    """Import ``"package.module:factory"`` and return the factory.

    Raises:
        WorkerError: the path is malformed, the module cannot be imported, or the attribute is
            missing or not callable.
    """
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise WorkerError(f"app [{path}] is not of the form 'package.module:factory'")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise WorkerError(f"cannot load app [{path}]: {exc}") from exc
    if not callable(target):
        raise WorkerError(f"app [{path}] is not callable")
    factory: AppFactory = target
    return factory


@dataclass(frozen=True, slots=True)
class AppReady:
    """The app's context is entered."""


@dataclass(frozen=True, slots=True)
class AppFailed:
    """The app could not be loaded or its context raised before a stop was asked for."""

    reason: str


@dataclass(frozen=True, slots=True)
class AppFinished:
    """The app's context exited after a stop; ``error`` is empty when it exited cleanly."""

    error: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """The outcome of one request: ``payload`` or a non-empty ``error``."""

    request_id: int
    payload: Any = None
    error: str = ""


AppEvent = AppReady | AppFailed | AppFinished | Answer


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class AppRunner:
    """Owns the thread, the loop and the app of one worker process. Thread-safe where noted."""

    def __init__(self, app: str) -> None:
        self.app = app
        self._events: queue.SimpleQueue[AppEvent] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._main, name="repertory-app", daemon=True)
        self._stop_requested = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._handle: Callable[[Any], Any] | None = None
        self._ready = False
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        alive = self._thread.is_alive()
        return f"AppRunner(app={self.app!r}, ready={self._ready}, alive={alive})"

    def fileno(self) -> int:
        """The socket to watch: readable when events are queued."""
        return self._wake_r.fileno()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the app's context to exit (thread-safe; idempotent)."""
        self._stop_requested.set()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stopping.set)

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did within ``timeout`` seconds."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def submit(self, request_id: int, payload: Any) -> bool:
        """Run ``handle(payload)`` on the loop; the ``Answer`` arrives as an event.

        Returns False (and queues nothing) when the app is not running.
        """
        loop = self._loop
        if not self._ready or loop is None or self._stop_requested.is_set():
            return False
        try:
            loop.call_soon_threadsafe(self._start_request, request_id, payload)
        except RuntimeError:
            return False
        return True

    def take_events(self) -> list[AppEvent]:
        """Every event queued so far (called by the actor when the socket is readable)."""
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        events: list[AppEvent] = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def close(self) -> None:
        self._wake_r.close()
        self._wake_w.close()

    # --- the loop thread -------------------------------------------------------------------

    def _post(self, event: AppEvent) -> None:
        self._events.put(event)
        with contextlib.suppress(OSError):  # a wake-up is already pending, or the actor left
            self._wake_w.send(b"\x00")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # nothing may escape the thread unreported
            self._post(AppFailed(f"app loop crashed: {_describe(exc)}"))

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested.is_set():
            self._stopping.set()
        entered = False
        try:
            factory = load_app_factory(self.app)
            async with factory() as app:
                entered = True
                handle = getattr(app, "handle", None)
                self._handle = handle if callable(handle) else None
                self._ready = True
                self._post(AppReady())
                await self._stopping.wait()
                self._ready = False
        except Exception as exc:
            self._ready = False
            if self._stop_requested.is_set():
                self._post(AppFinished(error=_describe(exc)))
            else:
                stage = "run" if entered else "start"
                self._post(AppFailed(f"app [{self.app}] failed at {stage}: {_describe(exc)}"))
            return
        self._post(AppFinished())

    def _start_request(self, request_id: int, payload: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(request_id, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request_id: int, payload: Any) -> None:
        handle = self._handle
        if handle is None:
            self._post(Answer(request_id, error=f"app [{self.app}] has no handle(request)"))
            return
        try:
            result = await handle(payload)
        except asyncio.CancelledError:
            self._post(Answer(request_id, error="app stopped before answering"))
            raise
        except Exception as exc:
            self._post(Answer(request_id, error=_describe(exc)))
        else:
            self._post(Answer(request_id, payload=result))

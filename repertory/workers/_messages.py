"""Messages between the pool, its supervisor actor and the worker actors.

Thespian pickles every message between processes, so each is a small frozen dataclass defined
at module level (importable by every process); apps travel as ``"package.module:factory"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from repertory.actors.supervision import Backoff

__all__ = [
    "AppReply",
    "AppRequest",
    "AppStopped",
    "Drain",
    "Drained",
    "GetStatus",
    "PoolStatus",
    "RunApp",
    "SlotState",
    "SlotStatus",
    "StartPool",
    "StopApp",
    "WorkerFailed",
    "WorkerReady",
    "WorkerStarting",
]


class SlotState(Enum):
    """Where one worker slot is in its life."""

    STARTING = "starting"
    """A worker process exists; its app is entering its context."""
    RUNNING = "running"
    """The app's context is entered; the worker answers requests."""
    RESTARTING = "restarting"
    """The worker died; a new one starts after the backoff delay."""
    STOPPING = "stopping"
    """Draining: the app's context is exiting."""
    STOPPED = "stopped"
    """Drained, or stopped with the pool."""
    FAILED = "failed"
    """Given up after too many restarts; ``last_failure`` says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotStatus:
    """One worker slot, as the supervisor sees it."""

    slot: int
    state: SlotState
    pid: int | None
    """The current (or last) worker process id; None before the first worker reported."""
    restarts: int
    """Restarts of this slot since the pool started."""
    last_failure: str = ""
    address: Any = None
    """The worker actor's Thespian address, to ask it directly; None when no worker runs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolStatus:
    """Reply to ``GetStatus`` and ``StartPool``."""

    slots: tuple[SlotStatus, ...]
    supervisor_pid: int
    draining: bool = False


# pool -> supervisor


@dataclass(frozen=True, slots=True, kw_only=True)
class StartPool:
    """Start ``count`` workers running ``app``; answered with a ``PoolStatus``."""

    app: str
    count: int
    backoff: Backoff
    drain_timeout: float


@dataclass(frozen=True, slots=True)
class GetStatus:
    """Answered with a ``PoolStatus``."""


@dataclass(frozen=True, slots=True)
class Drain:
    """Stop every app (its context exits), restart nothing more; answered with ``Drained``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Drained:
    slots: tuple[SlotStatus, ...]
    complete: bool
    """False when the drain timeout passed before every worker exited."""


# supervisor -> worker


@dataclass(frozen=True, slots=True, kw_only=True)
class RunApp:
    slot: int
    incarnation: int
    """Counts the workers started for this slot; stale reports of an older one are ignored."""
    app: str
    drain_timeout: float


@dataclass(frozen=True, slots=True)
class StopApp:
    """Exit the app's context, report ``AppStopped``, then exit the worker."""


# worker -> supervisor


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerStarting:
    slot: int
    incarnation: int
    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerReady:
    slot: int
    incarnation: int
    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerFailed:
    """The app's context raised (entering, running or exiting); the worker exits next."""

    slot: int
    incarnation: int
    pid: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppStopped:
    slot: int
    incarnation: int
    pid: int
    error: str = ""
    """Empty when ``__aexit__`` completed without raising."""


# outside -> worker


@dataclass(frozen=True, slots=True, kw_only=True)
class AppRequest:
    """Passed to the app's ``handle(payload)`` on the worker's loop; answered with ``AppReply``."""

    payload: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class AppReply:
    pid: int
    """The worker process that answered."""
    payload: Any = None
    error: str = ""
    """Non-empty when the app is not running, has no ``handle``, or ``handle`` raised."""

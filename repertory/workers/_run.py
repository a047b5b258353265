"""``run_workers``: a pool that runs until SIGTERM or SIGINT, then drains and stops."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

from repertory.config import WorkersSettings
from repertory.errors import WorkerError
from repertory.observability import get_logger
from repertory.workers._messages import SlotState, SlotStatus
from repertory.workers._pool import WorkerPool

__all__ = ["run_workers"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_workers(
    settings: WorkersSettings,
    app: str,
    *,
    count: int | None = None,
    stop: threading.Event | None = None,
    check_every: float = 1.0,
) -> tuple[SlotStatus, ...]:
    """Run ``count`` workers of ``app`` until SIGTERM/SIGINT (or ``stop`` is set), then drain.

    Must be called from the main thread (it installs signal handlers, restored on return).

    Args:
        settings: the ``workers`` settings section.
        app: ``"package.module:factory"`` (see ``WorkerPool``).
        count: worker processes; default ``settings.count``.
        stop: an event that stops the pool like a signal does.
        check_every: seconds between health checks of the pool.

    Returns:
        The final status of every slot.

    Raises:
        WorkerError: the pool could not start, or every slot was given up.
    """
    stop = stop or threading.Event()
    owner = os.getpid()
    log: Any = get_logger("repertory.workers.run", app=app)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            # A process forked from this one before it reset its handlers: act as if we had
            # never installed ours.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        log.info("stop signal received", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    try:
        with WorkerPool(settings, app, count=count) as pool:
            while not stop.wait(check_every):
                slots = pool.status()
                if all(s.state is SlotState.FAILED for s in slots):
                    reasons = {s.slot: s.last_failure for s in slots}
                    raise WorkerError(f"every worker slot was given up: {reasons}")
            log.info("stopping workers")
        return pool.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

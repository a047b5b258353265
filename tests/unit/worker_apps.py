"""Apps for the worker-process tests, imported by name inside the worker processes.

``REPERTORY_TEST_MARKERS`` names a directory where each app writes ``started-<pid>`` when its
context is entered and ``stopped-<pid>`` when its ``__aexit__`` runs.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from types import TracebackType
from typing import Any

MARKERS_ENV = "REPERTORY_TEST_MARKERS"


def _mark(kind: str) -> None:
    directory = os.environ.get(MARKERS_ENV)
    if directory:
        Path(directory, f"{kind}-{os.getpid()}").write_text(kind)


class EchoApp:
    """Answers ``("echo", pid, request)``; proves it runs on a loop of its own process."""

    async def __aenter__(self) -> EchoApp:
        await asyncio.sleep(0)  # a real app would connect its clients here
        self.loop = asyncio.get_running_loop()
        _mark("started")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.sleep(0.05)  # closing clients takes a moment
        _mark("stopped")

    async def handle(self, request: Any) -> tuple[str, int, Any]:
        assert asyncio.get_running_loop() is self.loop
        if request == "raise":
            raise ValueError("asked to raise")
        return ("echo", os.getpid(), request)


def echo() -> EchoApp:
    return EchoApp()


class FailingApp:
    async def __aenter__(self) -> FailingApp:
        raise RuntimeError("cannot reach the journal")

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def failing() -> FailingApp:
    return FailingApp()

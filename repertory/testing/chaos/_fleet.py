"""The harness's child processes: chaos workers (and embedded drivers), by slot.

Only processes started here are ever signalled, each by its own pid. ``close()`` kills what is
still running (a frozen one is woken first so it can die), whatever happened in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Child", "Fleet", "is_frozen"]

_STALE = 1.5


def is_frozen(pid: int) -> bool:
    """True when ``pid`` is stopped by a signal (state ``T``)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] in ("T", "t")
    except OSError:
        return False


@dataclass(slots=True)
class Child:
    """One child process of a slot, with its spec, status file and log."""

    slot: int
    process: asyncio.subprocess.Process
    status_file: Path
    log_file: Path
    fault: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def status(self) -> dict[str, Any] | None:
        """The worker's last reported statistics, or None when absent or stale."""
        try:
            stats: dict[str, Any] = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return None
        if stats.get("pid") != self.pid or time.time() - float(stats["time"]) > _STALE:
            return None
        return stats


class Fleet:
    """Starts, signals and stops the children of one scenario.

    Args:
        work_dir: where specs, status files and logs go.
        module: the ``python -m`` module each child runs with its spec file.
    """

    def __init__(self, work_dir: Path, module: str = "repertory.testing.chaos._worker") -> None:
        self.work_dir = work_dir
        self.module = module
        self.children: dict[int, Child] = {}
        self.kills = 0
        self.freezes = 0
        self._launches = 0

    def __repr__(self) -> str:
        alive = sorted(s for s, c in self.children.items() if c.alive)
        return f"Fleet({self.module}, alive={alive}, kills={self.kills})"

    async def start(self, slot: int, spec: dict[str, Any], fault: str | None = None) -> Child:
        """Start a child in ``slot`` (the slot's previous child must be gone)."""
        old = self.children.get(slot)
        if old is not None and old.alive:
            raise RuntimeError(f"slot [{slot}] still runs pid [{old.pid}]")
        self._launches += 1
        tag = f"{slot}-{self._launches}"
        status = self.work_dir / f"status-{slot}.json"
        status.unlink(missing_ok=True)
        spec = {**spec, "status_file": str(status), "fault": fault, "slot": slot}
        spec_file = self.work_dir / f"spec-{tag}.json"
        spec_file.write_text(json.dumps(spec))
        log_file = self.work_dir / f"child-{tag}.log"
        with log_file.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, str(spec_file), stdout=log, stderr=log
            )
        child = Child(slot, process, status, log_file, fault)
        self.children[slot] = child
        return child

    def alive(self) -> list[Child]:
        return [c for c in self.children.values() if c.alive]

    async def kill(self, slot: int) -> None:
        """SIGKILL the slot's child and reap it."""
        child = self.children[slot]
        if child.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
            self.kills += 1
        await child.process.wait()

    def freeze(self, slot: int) -> None:
        """SIGSTOP the slot's child (a hung process, as the group sees it)."""
        os.kill(self.children[slot].pid, signal.SIGSTOP)
        self.freezes += 1

    def thaw(self, slot: int) -> None:
        """SIGCONT the slot's child."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.children[slot].pid, signal.SIGCONT)

    async def stop(self, slot: int, grace: float = 20.0) -> int | None:
        """SIGTERM the slot's child; SIGKILL it if it does not exit within ``grace`` seconds."""
        child = self.children[slot]
        if child.alive:
            self.thaw(slot)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), grace)
            except TimeoutError:
                await self.kill(slot)
        return child.process.returncode

    async def wait_exit(self, slot: int, within: float) -> int | None:
        """The slot's exit code once it exits by itself, or None after ``within`` seconds."""
        try:
            return await asyncio.wait_for(self.children[slot].process.wait(), within)
        except TimeoutError:
            return None

    async def wait_frozen(self, slot: int, within: float) -> bool:
        """Wait until the slot's child stopped itself (a ``freeze_*`` fault point)."""
        deadline = time.monotonic() + within
        child = self.children[slot]
        while time.monotonic() < deadline and child.alive:
            if is_frozen(child.pid):
                return True
            await asyncio.sleep(0.05)
        return False

    async def wait_owned(self, partitions: int, within: float = 60.0) -> None:
        """Wait until the live workers report, together, every partition owned once.

        Raises:
            TimeoutError: with each child's last status.
        """
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            statuses = [c.status() for c in self.alive()]
            owned = [s.get("kafka_owned", 0) for s in statuses if s is not None]
            if None not in statuses and sum(owned) == partitions:
                return
            await asyncio.sleep(0.1)
        shown = {c.slot: c.status() for c in self.children.values()}
        raise TimeoutError(f"partitions not owned within {within} s: {shown}")

    async def close(self) -> None:
        """Kill every child still running (woken first if frozen)."""
        for slot, child in self.children.items():
            if child.alive:
                self.thaw(slot)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                await child.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of every child's log, for a failure message."""
        parts = []
        for child in self.children.values():
            text = child.log_file.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- slot {child.slot} pid {child.pid} ({child.fault}) ---")
            parts.extend(text)
        return "\n".join(parts)

"""Drives one ``WorkerPool`` in a process of its own, one JSON line per command and reply.

The tests keep Thespian out of the pytest process: its actor system forks from whoever starts
it (a pytest process may hold other tests' threads) and leaves sockets to the garbage collector.

    {"op": "start", "app": "...", "settings": {...}}   -> {"slots": [...]}
    {"op": "status"}                                    -> {"slots": [...]}
    {"op": "ask", "slot": 0, "request": ...}            -> {"answer": ...}
    {"op": "stop"}                                      -> {"slots": [...], "known_pids": [...]}
    any failure                                         -> {"error": "WorkerError", "message": ...}
"""

from __future__ import annotations

import json
import sys
from typing import Any

from repertory.config import WorkersSettings
from repertory.errors import RepertoryError
from repertory.observability import configure_logging
from repertory.workers import SlotStatus, WorkerPool


def _slots(slots: tuple[SlotStatus, ...]) -> list[dict[str, Any]]:
    return [
        {
            "slot": s.slot,
            "state": s.state.value,
            "pid": s.pid,
            "restarts": s.restarts,
            "last_failure": s.last_failure,
        }
        for s in slots
    ]


def _handle(pool: WorkerPool | None, command: dict[str, Any]) -> tuple[WorkerPool | None, Any]:
    op = command["op"]
    if op == "start":
        pool = WorkerPool(WorkersSettings(**command["settings"]), command["app"])
        return pool, {"slots": _slots(pool.start())}
    if pool is None:
        raise RuntimeError("no pool: send start first")
    if op == "status":
        return pool, {"slots": _slots(pool.status())}
    if op == "ask":
        return pool, {"answer": pool.ask(command["slot"], command["request"])}
    if op == "stop":
        return pool, {"slots": _slots(pool.stop()), "known_pids": sorted(pool.known_pids)}
    raise RuntimeError(f"unknown op [{op}]")


def main() -> None:
    configure_logging("console", "INFO")  # to stderr: stdout carries the replies
    pool: WorkerPool | None = None
    try:
        for line in sys.stdin:
            try:
                pool, reply = _handle(pool, json.loads(line))
            except (RepertoryError, RuntimeError) as exc:
                reply = {"error": type(exc).__name__, "message": str(exc)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        if pool is not None:
            pool.stop()


if __name__ == "__main__":
    main()

"""A chaos worker: one Kafka-mode engine in its own OS process, so SIGKILL and SIGSTOP are real.

Run as ``python -m repertory.testing.chaos._worker <spec.json>``. The spec (written by
``Fleet``) names the servers, topics, group and keyspace, and optionally a fault point. The
worker writes its engine's statistics to the spec's status file every 0.2 s (the harness waits
on them), and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from repertory.config import (
    CassandraSettings,
    EntitySettings,
    JournalSettings,
    KafkaSettings,
    Settings,
)
from repertory.engine import Engine
from repertory.observability import configure_logging
from repertory.testing.chaos._domain import ACCOUNT, REGISTRY
from repertory.testing.chaos._faults import FaultPoint, install

__all__ = ["worker_settings"]

_STATUS_INTERVAL = 0.2


def worker_settings(spec: dict[str, Any]) -> Settings:
    """The engine settings a worker spec describes (Kafka mode, fenced Cassandra journal)."""
    topics = spec["topics"]
    kafka = KafkaSettings(
        enabled=True,
        bootstrap_servers=spec["bootstrap"],
        commands_topic=topics["commands"],
        state_changes_topic=topics["changes"],
        dead_letters_topic=topics["dead"],
        replies_topic=topics["replies"],
        group_id=spec["group_id"],
        transactional_id_prefix=spec["group_id"],
        client_id=f"chaos-{os.getpid()}",
        session_timeout_ms=spec["session_timeout_ms"],
        heartbeat_interval_ms=spec["heartbeat_interval_ms"],
        max_poll_interval_ms=max(10_000, spec["session_timeout_ms"] * 4),
        request_timeout_ms=10_000,
    )
    cassandra = CassandraSettings(
        contact_points=(spec["cassandra_host"],),
        port=spec["cassandra_port"],
        keyspace=spec["keyspace"],
        request_timeout=5.0,
        connect_timeout=5.0,
        reconnect_max_delay=2.0,
    )
    return Settings(
        kafka=kafka,
        journal=JournalSettings(backend="cassandra", mode="fenced"),
        cassandra=cassandra,
        entities=EntitySettings(passivation_timeout=600, unknown_write_max_backoff=1.0),
    )


async def _report(engine: Engine, status: Path) -> None:
    partial = status.with_suffix(".tmp")
    while True:
        stats = dict(engine.statistics())
        stats["pid"] = os.getpid()
        stats["time"] = time.time()  # type: ignore[assignment]
        partial.write_text(json.dumps(stats))
        partial.replace(status)
        await asyncio.sleep(_STATUS_INTERVAL)


async def serve(spec: dict[str, Any]) -> None:
    """Run the engine until SIGTERM."""
    if spec.get("fault"):
        install(FaultPoint.parse(spec["fault"]))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Engine(worker_settings(spec), [ACCOUNT], registry=REGISTRY) as engine:
        reporter = asyncio.create_task(_report(engine, Path(spec["status_file"])))
        await stop.wait()
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[1]).read_text())
    configure_logging("console", "INFO")
    asyncio.run(serve(spec))


if __name__ == "__main__":
    main(sys.argv)

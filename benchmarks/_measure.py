"""The two measurements of ``bench_engine.py``, for any system: throughput (a preloaded backlog
drained) and latency (commands offered at a fixed rate by a client process of its own).

Both clients run in processes of their own, as a user's producers and consumers would: each
system measured here runs on one event loop, and a reader sharing its process would take part
of that loop's core away from the system it measures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from _deposits import command
from _offered_load import measure
from _stack import Stack, read_output
from _workload import Workload
from aiokafka import AIOKafkaProducer

from repertory.protocols import encode_command

System = Callable[[Stack, dict[str, str], str], Any]
"""Builds a system (``run(stop)``) on a stack's fresh topics and keyspace."""


async def preload(bootstrap: str, topic: str, commands: int, workload: Workload) -> None:
    """Produce ``commands`` deposits to ``topic`` before a system starts draining them."""
    async with AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    ) as producer:
        now = int(time.time() * 1000)
        pending = []
        for entity in workload.entities_of(commands):
            e = command(entity, now)
            pending.append(
                await producer.send(topic, encode_command(e), key=e.key(), headers=e.headers())
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)


@dataclass(frozen=True)
class Drained:
    """One throughput run: commands/s, and this process's CPU (every thread: the system's and
    its drivers'; the reader has a process of its own) per command while draining, in µs —
    steadier than the rate on a machine whose other tenants come and go."""

    rate: float
    cpu_us: float


async def throughput(stack: Stack, make: System, commands: int, workload: Workload) -> Drained:
    """Preload ``commands``, start the system, and time it until its last state change is read."""
    topics = await stack.topic_set()
    keyspace = await stack.keyspace()
    await preload(stack.bootstrap, topics["commands"], commands, workload)
    context = multiprocessing.get_context("spawn")
    answers, sender = context.Pipe(duplex=False)
    client = context.Process(
        target=_read_in_process,
        args=(stack.bootstrap, topics["changes"], commands, sender),
        daemon=True,
    )
    client.start()
    sender.close()
    reader: asyncio.Task[Any] | None = None
    try:
        await asyncio.to_thread(answers.recv)  # the reader is positioned: the system may start
        stop = asyncio.Event()
        started, cpu = time.monotonic(), time.process_time()
        runner = asyncio.create_task(make(stack, topics, keyspace).run(stop))
        reader = asyncio.create_task(asyncio.to_thread(answers.recv))
        done, _ = await asyncio.wait({runner, reader}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()
        ended: float = reader.result()  # time.monotonic() is one clock for every process
        cpu = time.process_time() - cpu
        stop.set()
        await runner
    finally:
        client.kill()
        client.join()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)
        answers.close()
    return Drained(commands / (ended - started), cpu / commands * 1e6)


def _read_in_process(bootstrap: str, topic: str, until: int, answers: Connection) -> None:
    """Send None once the reader is positioned, then the time it read the last of ``until``."""

    async def read() -> None:
        positioned = asyncio.Event()
        told = asyncio.create_task(positioned.wait())
        told.add_done_callback(lambda task: task.cancelled() or answers.send(None))
        answers.send(await read_output(bootstrap, topic, until, started=positioned))

    asyncio.run(read())


async def latency(
    stack: Stack, make: System, rate: float, seconds: float, workload: Workload, warm: bool
) -> tuple[float, float]:
    """p50 and p99 in ms of ``rate`` commands/s offered for ``seconds`` to a started system."""
    topics = await stack.topic_set()
    keyspace = await stack.keyspace()
    stop = asyncio.Event()
    system = make(stack, topics, keyspace)
    runner = asyncio.create_task(system.run(stop))
    await asyncio.sleep(5.0)  # joined the group and proven ownership
    ready: asyncio.Event | None = getattr(system, "ready", None)
    if ready is not None:
        await asyncio.wait_for(ready.wait(), timeout=60)
    warmup = workload.entities if warm else 0
    chosen = workload.entities_of(warmup + int(rate * seconds), start=1)
    lat = await measure(stack.bootstrap, topics, rate, chosen, warmup)
    stop.set()
    await runner
    q = statistics.quantiles(lat, n=100)
    return q[49] * 1000, q[98] * 1000

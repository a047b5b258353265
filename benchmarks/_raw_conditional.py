"""The conditional pair of ``bench_engine.py``: its raw baseline, and the drivers that feed it
and repertory's embedded engine alike.

Conditional mode has no Kafka (the engine refuses a conditional journal in Kafka mode: its
fencing is the writer epochs), so both systems take commands in process: a command is offered,
its event is stored, its caller is answered. The raw loop does by hand what the journal must do
at minimum: per round, one single-partition conditional batch per entity — its event rows plus
the compare-and-set of the partition's static ``head_seq`` (``IF head_seq = <last seq_nr>``,
null when it opens the partition), as the journal's — all sent at once; sequence numbers and
heads are kept in memory (no reads).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from argparse import Namespace
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgpack
from _raw_loop import bridge
from cassandra.query import BatchStatement, BatchType

from repertory.persistence.cassandra_session import CassandraSession, consistency

if TYPE_CHECKING:
    from _stack import Stack
    from _workload import Workload

ROUND_COMMANDS = 5000
"""Most commands one round of a lane takes (the raw Kafka loop's ``max_poll_records``)."""
RAW_TIMEOUT = 60.0
"""Seconds the raw loop waits for a conditional batch: at ``RAW_REQUESTS`` in flight on a busy
machine (load 12) some took longer than the driver's default 10 s."""
RAW_REQUESTS = 1024
"""Conditional batches the raw loop keeps in flight. Paxos rounds queue on the server, so more
in flight drains faster: here (10k entities, load ~10) 64 drained 1.2k commands/s, 256 1.4k/s
and 1024 1.8k/s, while 4096 ran into the driver's request timeout."""


class InProcess(Protocol):
    """A system fed in process: ``submit`` returns once the command's event is stored."""

    ready: asyncio.Event

    async def run(self, stop: asyncio.Event) -> None: ...

    def submit(self, entity: int) -> Awaitable[Any]: ...


class RawConditional:
    """Commands queued per lane (entity mod ``lanes``); each lane in turn takes what is queued,
    sends one conditional batch per entity, answers, and takes again. One lane: the steps run
    one after another."""

    def __init__(self, cassandra: CassandraSession, keyspace: str, lanes: int) -> None:
        self.cassandra, self.keyspace = cassandra, keyspace
        self.requests = asyncio.Semaphore(RAW_REQUESTS)
        self.queues: list[list[tuple[int, asyncio.Future[None]]]] = [[] for _ in range(lanes)]
        self.wakeups = [asyncio.Event() for _ in range(lanes)]
        self.head: dict[int, int] = {}
        self.ready = asyncio.Event()

    def submit(self, entity: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane = entity % len(self.queues)
        self.queues[lane].append((entity, future))
        self.wakeups[lane].set()
        return future

    async def run(self, stop: asyncio.Event) -> None:
        session, ks = self.cassandra.session, self.keyspace
        self.insert = session.prepare(
            f"INSERT INTO {ks}.events (persistence_id, partition_nr, seq_nr, writer_epoch, "
            "prev_epoch, event_type, schema_version, payload, timestamp_ms, command_id) "
            "VALUES (?, 0, ?, 0, 0, 'bench.Deposited', 1, ?, ?, ?)"
        )
        self.set_head = session.prepare(
            f"UPDATE {ks}.events SET head_seq = ? WHERE persistence_id = ? AND partition_nr = 0 "
            "IF head_seq = ?"
        )
        settings = self.cassandra.settings
        self.write_level = consistency(settings.write_consistency)
        self.serial_level = consistency(settings.serial_consistency)
        lanes = [asyncio.create_task(self.lane(i)) for i in range(len(self.queues))]
        self.ready.set()
        try:
            await stop.wait()
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def lane(self, index: int) -> None:
        queue, wakeup = self.queues[index], self.wakeups[index]
        while True:
            await wakeup.wait()
            wakeup.clear()
            while queue:
                taken = queue[:ROUND_COMMANDS]
                del queue[:ROUND_COMMANDS]
                per_entity: dict[int, list[asyncio.Future[None]]] = {}
                for entity, future in taken:
                    per_entity.setdefault(entity, []).append(future)
                await asyncio.gather(*(self.write(e, fs) for e, fs in per_entity.items()))

    async def write(self, entity: int, futures: list[asyncio.Future[None]]) -> None:
        """One conditional batch: the entity's new rows and the move of its head."""
        pid, head = f"acct|{entity}", self.head.get(entity)
        last = (head or 0) + len(futures)
        batch = BatchStatement(
            batch_type=BatchType.UNLOGGED,
            consistency_level=self.write_level,
            serial_consistency_level=self.serial_level,
        )
        now = int(time.time() * 1000)
        for seq in range((head or 0) + 1, last + 1):
            body = msgpack.packb({"amount": 1})
            batch.add(self.insert, (pid, seq, body, now, uuid.uuid4().hex))
        batch.add(self.set_head, (last, pid, head))
        try:
            async with self.requests:
                response = self.cassandra.session.execute_async(batch, timeout=RAW_TIMEOUT)
                rows = await bridge(response)
            if not rows[0][0]:
                raise RuntimeError(f"the head of [{pid}] moved: not [{head}]")
        except Exception as exc:
            for future in futures:
                if not future.done():  # a caller gone (cancelled) takes no answer
                    future.set_exception(exc)
            return
        self.head[entity] = last
        for future in futures:
            if not future.done():
                future.set_result(None)


# -- the drivers --------------------------------------------------------------------------------


async def started(system: InProcess, stop: asyncio.Event) -> asyncio.Task[None]:
    """``system`` running and ready (its start-up is not measured)."""
    runner = asyncio.create_task(system.run(stop))
    ready = asyncio.create_task(system.ready.wait())
    await asyncio.wait({runner, ready}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if runner.done():
        ready.cancel()
        runner.result()
        raise RuntimeError("the system stopped before it was ready")
    if not ready.done():
        ready.cancel()
        raise TimeoutError("the system was not ready in 120 s")
    return runner


async def drain(system: InProcess, entities: list[int], in_flight: int) -> tuple[float, float]:
    """Offer every command, at most ``in_flight`` unanswered; returns (commands/s, CPU µs per
    command of this whole process)."""
    stop = asyncio.Event()
    runner = await started(system, stop)
    commands = iter(entities)

    async def offer() -> None:
        for entity in commands:
            await system.submit(entity)

    begin, cpu = time.monotonic(), time.process_time()
    try:
        await asyncio.gather(*(offer() for _ in range(in_flight)))
        seconds, cpu = time.monotonic() - begin, time.process_time() - cpu
    finally:
        stop.set()
        await runner
    return len(entities) / seconds, cpu / len(entities) * 1e6


async def paced(system: InProcess, entities: list[int], rate: float) -> tuple[float, float]:
    """Offer the commands at ``rate`` per second; returns the p50 and p99 in ms of offered →
    answered (the event stored)."""
    stop = asyncio.Event()
    runner = await started(system, stop)
    lat: list[float] = []

    async def one(entity: int) -> None:
        sent = time.monotonic()
        await system.submit(entity)
        lat.append(time.monotonic() - sent)

    tasks = []
    try:
        start = time.monotonic()
        for i, entity in enumerate(entities):
            ahead = i / rate - (time.monotonic() - start)
            if ahead > 0:  # paced: never faster than the offered rate
                await asyncio.sleep(ahead)
            tasks.append(asyncio.create_task(one(entity)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    finally:
        stop.set()
        await runner
    q = statistics.quantiles(lat, n=100)
    return q[49] * 1000, q[98] * 1000


async def conditional_pair(
    stack: Stack, args: Namespace, workload: Workload, repertory: Callable[[str], InProcess]
) -> None:
    """Throughput of the raw loop (``partitions`` lanes) and of ``repertory`` (given a fresh
    keyspace), then latency at ``rate`` (default half of repertory's) against one lane."""
    entities = workload.entities_of(args.commands)
    raw_system = RawConditional(stack.cassandra, await stack.keyspace(), args.partitions)
    raw, raw_cpu = await drain(raw_system, entities, args.in_flight)
    ours, cpu = await drain(repertory(await stack.keyspace()), entities, args.in_flight)
    print("mode conditional (in process, no Kafka; one conditional batch per entity and write)")
    print(f"throughput raw loop       {raw:9.0f} commands/s   {raw_cpu:6.1f} µs CPU/command")
    print(
        f"throughput repertory      {ours:9.0f} commands/s   {cpu:6.1f} µs CPU/command"
        f"   ratio {ours / raw:.2f}"
    )
    rate = args.rate or ours * 0.5
    offered = workload.entities_of(int(rate * args.latency_seconds), start=1)
    p50, p99 = await paced(repertory(await stack.keyspace()), offered, rate)
    print(f"latency repertory     @{rate:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    one_lane = RawConditional(stack.cassandra, await stack.keyspace(), 1)
    p50, p99 = await paced(one_lane, offered, rate)
    print(f"latency raw sequential @{rate:7.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")

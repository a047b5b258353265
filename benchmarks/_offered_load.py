"""The client side of a latency measurement: commands produced at a fixed rate, state changes
read back, each command's time from produced to read. It runs in a process of its own
(``measure``), as a user's producers and consumers would: sharing the event loop of the system
under test would add the client's own work (pacing, producing, decoding every change) to the
latency it measures, and more so for the system that keeps the loop busier.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import time
from typing import Any

from _deposits import command
from _stack import read_output
from aiokafka import AIOKafkaProducer

from repertory.protocols import encode_command


async def measure(
    bootstrap: str, topics: dict[str, str], rate: float, entities: list[int], warmup: int = 0
) -> list[float]:
    """Seconds from produced to read, per command, measured in a separate process. The first
    ``warmup`` commands are offered at the same rate but not measured, and measuring starts
    once all of their state changes are read: a system still working off the warm-up would
    add that backlog to the first measured commands."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await asyncio.get_running_loop().run_in_executor(
            pool, _offer_in_process, bootstrap, topics, rate, entities, warmup
        )


def _offer_in_process(
    bootstrap: str, topics: dict[str, str], rate: float, entities: list[int], warmup: int
) -> list[float]:
    return asyncio.run(_offer(bootstrap, topics, rate, entities, warmup))


async def _offer(
    bootstrap: str, topics: dict[str, str], rate: float, entities: list[int], warmup: int
) -> list[float]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    warming: set[str] = set()
    warmed = asyncio.Event()
    warm_read = 0

    def arrived(record: Any) -> None:
        nonlocal warm_read
        cid = dict(record.headers)["command_id"].decode()
        if cid in sent:
            latencies.append(time.monotonic() - sent.pop(cid))
        elif cid in warming:
            warming.discard(cid)
            warm_read += 1
            if warm_read == warmup:
                warmed.set()

    reading = asyncio.Event()
    reader = asyncio.create_task(
        read_output(bootstrap, topics["changes"], len(entities), arrived, reading)
    )
    await asyncio.wait_for(reading.wait(), timeout=60)  # its start-up is not the systems' latency
    async with AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0
    ) as producer:
        start, paced_from = time.monotonic(), 0
        for i, entity in enumerate(entities):
            if i == warmup and warmup:  # the measured commands start on a steady system
                await producer.flush()
                await asyncio.wait_for(warmed.wait(), timeout=120)
                start, paced_from = time.monotonic(), warmup
            ahead = (i - paced_from) / rate - (time.monotonic() - start)
            if ahead > 0:  # paced: never faster than the offered rate
                await asyncio.sleep(ahead)
            envelope = command(entity, int(time.time() * 1000))
            if i >= warmup:
                sent[envelope.command_id] = time.monotonic()
            else:
                warming.add(envelope.command_id)
            await producer.send(
                topics["commands"],
                encode_command(envelope),
                key=envelope.key(),
                headers=envelope.headers(),
            )
        await producer.flush()
    await asyncio.wait_for(reader, timeout=120)
    return latencies

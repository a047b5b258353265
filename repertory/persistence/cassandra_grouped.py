"""Reads asked for in the same turn of the event loop, answered together by few requests.

Why: recovering an entity is on the path of its first command, and when a worker takes its
partitions thousands of entities recover at once. One request per entity would cost a
Cassandra round trip and the driver's per-request CPU each (the limit here: DEVSTACK.md);
``persistence_id IN ?`` answers up to ``max_group`` of them with one. Keys are grouped by the
primary replica of their partition first, so a coordinator that owns every key of its request
reads locally, as the batched writes do (``cassandra_batching``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")

Fetch = Callable[[list[K]], Awaitable[dict[K, R]]]
"""Answers a group of distinct keys: a result for every one of them."""


class GroupedReads(Generic[K, R]):
    """Collects ``get(key)`` calls of one loop turn and fetches them in groups.

    Args:
        fetch: reads one group of distinct keys (an exception fails every caller of it).
        route: the group a key belongs in (its primary replica, say).
        max_group: most keys per fetch.
    """

    def __init__(self, fetch: Fetch[K, R], route: Callable[[K], Hashable], max_group: int) -> None:
        self._fetch = fetch
        self._route = route
        self._max_group = max_group
        self._waiting: dict[K, list[asyncio.Future[R]]] = {}
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests = 0

    def __repr__(self) -> str:
        return f"GroupedReads(waiting={len(self._waiting)}, requests={self.requests})"

    async def get(self, key: K) -> R:
        """The result for ``key``, fetched with the other keys asked for meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def close(self) -> None:
        """Cancel the fetches under way (their callers get ``CancelledError``)."""
        for task in list(self._tasks):
            task.cancel()

    def _flush(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        groups: dict[Hashable, list[K]] = {}
        for key in waiting:
            groups.setdefault(self._route(key), []).append(key)
        size = self._max_group
        for keys in groups.values():
            for i in range(0, len(keys), size):
                chunk = {key: waiting[key] for key in keys[i : i + size]}
                task = asyncio.get_running_loop().create_task(self._answer(chunk))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _answer(self, chunk: dict[K, list[asyncio.Future[R]]]) -> None:
        self.requests += 1
        try:
            results = await self._fetch(list(chunk))
        except BaseException as exc:
            for futures in chunk.values():
                for future in futures:
                    if not future.done():
                        if isinstance(exc, asyncio.CancelledError):
                            future.cancel()
                        else:
                            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for key, futures in chunk.items():
            for future in futures:
                if not future.done():
                    future.set_result(results[key])

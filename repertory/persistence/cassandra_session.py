"""The journal's connection to Cassandra: a lazily built cluster, bridged into asyncio.

The driver runs its own I/O thread (libev); its ``ResponseFuture`` callbacks fire there, so
every result is handed to the event loop with ``call_soon_threadsafe`` and the loop never
blocks on the network. The ``Cluster`` is built on first use, in the process that uses it,
because driver threads and sockets do not survive a fork. A semaphore bounds the requests in
flight so a burst queues here (cheaply) instead of timing out in the driver.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import Cluster, ExecutionProfile, ResponseFuture, Session
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    RoundRobinPolicy,
    TokenAwarePolicy,
)
from cassandra.query import PreparedStatement, Statement, tuple_factory

from repertory.config import CassandraSecuritySettings, CassandraSettings
from repertory.errors import JournalUnavailable
from repertory.persistence.cassandra_security import auth_failure, cassandra_connection_options

Row = tuple[Any, ...]

NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""``setsockopt`` arguments that turn Nagle's algorithm off (see ``build_cluster``)."""


def consistency(name: str) -> int:
    """The driver's constant for a consistency level name (``QUORUM`` → 4)."""
    return int(getattr(ConsistencyLevel, name))


def build_cluster(
    settings: CassandraSettings, security: CassandraSecuritySettings | None = None
) -> Cluster:
    """A ``Cluster`` for the settings: protocol v5, token-aware, bounded reconnection, and the
    TLS context and password login of ``security`` (``cassandra_connection_options``).

    Replicas are not shuffled, so a batch grouped by primary replica is coordinated there.
    Sockets send at once (``TCP_NODELAY``): the driver leaves Nagle's algorithm on, and a
    request written in more than one piece then waits for the server's delayed ACK — a
    50-row batch took 44 ms instead of 0.6 ms on loopback.

    Raises:
        ConfigError: a certificate, key or password file of ``security`` cannot be read.
    """
    child = (
        DCAwareRoundRobinPolicy(local_dc=settings.local_datacenter)
        if settings.local_datacenter
        else RoundRobinPolicy()
    )
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(child, shuffle_replicas=False),
        consistency_level=consistency(settings.read_consistency),
        serial_consistency_level=consistency(settings.serial_consistency),
        request_timeout=settings.request_timeout,
        row_factory=tuple_factory,
    )
    return Cluster(
        contact_points=list(settings.contact_points),
        port=settings.port,
        protocol_version=5,
        execution_profiles={"default": profile},  # EXEC_PROFILE_DEFAULT's value
        reconnection_policy=ExponentialReconnectionPolicy(
            settings.reconnect_base_delay,
            settings.reconnect_max_delay,
            settings.reconnect_max_attempts,
        ),
        connect_timeout=settings.connect_timeout,
        control_connection_timeout=settings.connect_timeout,
        sockopts=[NO_DELAY],
        **(cassandra_connection_options(security) if security is not None else {}),
    )


class CassandraSession:
    """One connected session and its prepared statements, usable from one event loop.

    Args:
        settings: the ``cassandra`` settings section.
        cluster_factory: builds the cluster; tests and benchmarks may substitute theirs.
            Default ``build_cluster`` with ``security``.
        security: the ``cassandra_security`` section (TLS, login); default none of either.
    """

    def __init__(
        self,
        settings: CassandraSettings,
        cluster_factory: Callable[[CassandraSettings], Cluster] | None = None,
        *,
        security: CassandraSecuritySettings | None = None,
    ) -> None:
        self.settings = settings
        self.security = security or CassandraSecuritySettings()
        self._cluster_factory = cluster_factory or functools.partial(
            build_cluster, security=self.security
        )
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._in_flight = 0

    def __repr__(self) -> str:
        state = "connected" if self._session else "not connected"
        return (
            f"<CassandraSession {state} keyspace={self.settings.keyspace!r}"
            f" in_flight={self._in_flight}/{self.settings.max_in_flight}>"
        )

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            raise JournalUnavailable("the Cassandra session is not connected")
        return self._cluster

    @property
    def session(self) -> Session:
        if self._session is None:
            raise JournalUnavailable("the Cassandra session is not connected")
        return self._session

    async def connect(self) -> None:
        """Build the cluster and connect (in a thread: connecting blocks for a while).

        Raises:
            AuthenticationFailed: the login or the TLS handshake was refused (not retriable).
            JournalUnavailable: no node could be reached.
        """
        if self._session is not None:
            return
        cluster = self._cluster_factory(self.settings)
        try:
            session = await asyncio.to_thread(cluster.connect)
        except Exception as exc:
            cluster.shutdown()
            where = f"{','.join(self.settings.contact_points)}:{self.settings.port}"
            raise (
                auth_failure(exc, self.security, where)
                or JournalUnavailable(f"cannot connect to Cassandra at [{where}]")
            ) from exc
        self._cluster, self._session = cluster, session

    async def aclose(self) -> None:
        """Shut the cluster down (its threads and sockets); idempotent."""
        cluster, self._cluster, self._session = self._cluster, None, None
        self._prepared.clear()
        if cluster is not None:
            await asyncio.to_thread(cluster.shutdown)

    async def prepare(self, cql: str) -> PreparedStatement:
        """Prepare once per session; later calls return the cached statement."""
        prepared = self._prepared.get(cql)
        if prepared is None:
            prepared = await asyncio.to_thread(self.session.prepare, cql)
            self._prepared[cql] = prepared
        return prepared

    async def execute(self, statement: Statement | str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one request (its first page only) within the in-flight bound.

        Raises:
            the driver's exception, untranslated: callers know what an error means for them.
        """
        loop = asyncio.get_running_loop()
        await self._acquire()
        try:
            future = self.session.execute_async(statement, params or None)
        except BaseException:
            self._release()
            raise
        return await _page(future, loop, self._release)

    async def first_page(self, statement: Statement) -> tuple[list[Row], bool]:
        """Run one request: its first page, and whether more pages follow (not fetched).

        Raises:
            the driver's exception, untranslated.
        """
        loop = asyncio.get_running_loop()
        await self._acquire()
        try:
            future = self.session.execute_async(statement)
        except BaseException:
            self._release()
            raise
        rows = await _page(future, loop, self._release)
        return rows, bool(future.has_more_pages)

    async def stream(self, statement: Statement, params: Sequence[Any] = ()) -> AsyncIterator[Row]:
        """Yield every row of a paged query (see :meth:`pages`)."""
        async for page in self.pages(statement, params):
            for row in page:
                yield row

    async def pages(
        self, statement: Statement, params: Sequence[Any] = ()
    ) -> AsyncIterator[list[Row]]:
        """Yield each page of a paged query, fetching the next one while this one is used.

        Pages rather than rows: one await per page, not per row, on long replays. A slot of
        the in-flight bound is held only while a page is on its way, so a slow consumer holds
        none.
        """
        loop = asyncio.get_running_loop()
        await self._acquire()
        try:
            future = self.session.execute_async(statement, params or None)
        except BaseException:
            self._release()
            raise
        page = await _page(future, loop, self._release)
        while True:
            pending = None
            if future.has_more_pages:
                await self._acquire()
                pending = _page(future, loop, self._release, next_page=True)
            yield page
            if pending is None:
                return
            page = await pending

    async def _acquire(self) -> None:
        await self._slots.acquire()
        self._in_flight += 1

    def _release(self) -> None:
        self._in_flight -= 1
        self._slots.release()


def _page(
    future: ResponseFuture,
    loop: asyncio.AbstractEventLoop,
    done: Callable[[], None],
    *,
    next_page: bool = False,
) -> asyncio.Future[list[Row]]:
    """The current (or, with ``next_page``, the next) page of ``future`` in this loop.

    ``done`` runs in the loop when the page (or its error) arrives, whoever still waits. For
    the next page the fetch starts before the callbacks are added: a callback added to a
    finished future runs at once with the page it holds, which would be the previous one.
    """
    result: asyncio.Future[list[Row]] = loop.create_future()

    def ok(rows: list[Row]) -> None:
        loop.call_soon_threadsafe(_settle, result, done, rows, None)

    def failed(exc: BaseException) -> None:
        loop.call_soon_threadsafe(_settle, result, done, None, exc)

    future.clear_callbacks()
    if next_page:
        try:
            future.start_fetching_next_page()
        except BaseException:
            done()
            raise
    future.add_callbacks(ok, failed)
    return result


def _settle(
    result: asyncio.Future[list[Row]],
    done: Callable[[], None],
    rows: list[Row] | None,
    exc: BaseException | None,
) -> None:
    done()
    if result.done():  # the awaiting task was cancelled meanwhile
        return
    if exc is not None:
        result.set_exception(exc)
    else:
        result.set_result(rows if rows is not None else [])

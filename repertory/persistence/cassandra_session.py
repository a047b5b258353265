"""The journal's connection to Cassandra: a lazily built cluster, bridged into asyncio.

The driver runs its own I/O thread (libev); its ``ResponseFuture`` callbacks fire there, so
every result is handed to the event loop and the loop never blocks on the network. The
``Cluster`` is built on first use, in the process that uses it, because driver threads and
sockets do not survive a fork. Semaphores bound the requests in flight (conditional writes on
their own, larger bound) so a burst queues here (cheaply) instead of timing out in the driver.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    ResponseFuture,
    Session,
)
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
    50-row batch took 44 ms instead of 0.6 ms on loopback
    (``benchmarks/bench_cassandra_batches.py``).

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
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
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
        self._slots = _Slots(settings.max_in_flight)
        self._conditional_slots = _Slots(settings.conditional_max_in_flight)
        self._handoff: _Handoff | None = None

    def __repr__(self) -> str:
        state = "connected" if self._session else "not connected"
        return (
            f"<CassandraSession {state} keyspace={self.settings.keyspace!r}"
            f" in_flight={self._slots!r} conditional={self._conditional_slots!r}>"
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

    async def execute(
        self, statement: Statement | str, params: Sequence[Any] = (), *, conditional: bool = False
    ) -> list[Row]:
        """Run one request (its first page only) within the in-flight bound.

        Args:
            conditional: a Paxos request (a conditional write, a serial read): it waits on the
                ``conditional_max_in_flight`` bound instead of ``max_in_flight``.

        Raises:
            the driver's exception, untranslated: callers know what an error means for them.
        """
        slots = self._conditional_slots if conditional else self._slots
        await slots.acquire()
        try:
            future = self.session.execute_async(statement, params or None)
        except BaseException:
            slots.release()
            raise
        return await _page(future, self._handoff_here(), slots.release)

    async def first_page(self, statement: Statement) -> tuple[list[Row], bool]:
        """Run one request: its first page, and whether more pages follow (not fetched).

        Raises:
            the driver's exception, untranslated.
        """
        slots = self._slots
        await slots.acquire()
        try:
            future = self.session.execute_async(statement)
        except BaseException:
            slots.release()
            raise
        rows = await _page(future, self._handoff_here(), slots.release)
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
        slots, handoff = self._slots, self._handoff_here()
        await slots.acquire()
        try:
            future = self.session.execute_async(statement, params or None)
        except BaseException:
            slots.release()
            raise
        page = await _page(future, handoff, slots.release)
        while True:
            pending = None
            if future.has_more_pages:
                await slots.acquire()
                pending = _page(future, handoff, slots.release, next_page=True)
            yield page
            if pending is None:
                return
            page = await pending

    def _handoff_here(self) -> _Handoff:
        loop = asyncio.get_running_loop()
        handoff = self._handoff
        if handoff is None or handoff.loop is not loop:
            handoff = self._handoff = _Handoff(loop)
        return handoff


class _Slots:
    """A bound on requests in flight, and how many are."""

    __slots__ = ("_semaphore", "in_flight", "limit")

    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self.limit = limit
        self.in_flight = 0

    def __repr__(self) -> str:
        return f"{self.in_flight}/{self.limit}"

    async def acquire(self) -> None:
        await self._semaphore.acquire()
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._semaphore.release()


_Answer = tuple[
    asyncio.Future[list[Row]], Callable[[], None], list[Row] | None, BaseException | None
]


class _Handoff:
    """Answers from the driver's thread, handed to one event loop in bursts.

    ``call_soon_threadsafe`` writes to the loop's wake-up socket on every call: a system call
    in the driver's thread, which gives the GIL up and must win it back from the loop's thread
    before it reads the next answer. Answers that arrive while a hand-over is pending join it,
    so a burst of answers costs one wake-up.
    """

    __slots__ = ("_answers", "_pending", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._answers: deque[_Answer] = deque()
        self._pending = False

    def put(self, answer: _Answer) -> None:
        """Queue one answer (from any thread)."""
        self._answers.append(answer)
        if not self._pending:  # after the append: a drain that misses it is scheduled anew
            self._pending = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._pending = False  # before taking: an answer queued from now on schedules a drain
        answers = self._answers
        while answers:
            _settle(*answers.popleft())


def _page(
    future: ResponseFuture,
    handoff: _Handoff,
    done: Callable[[], None],
    *,
    next_page: bool = False,
) -> asyncio.Future[list[Row]]:
    """The current (or, with ``next_page``, the next) page of ``future`` in this loop.

    ``done`` runs in the loop when the page (or its error) arrives, whoever still waits. For
    the next page the fetch starts before the callbacks are added: a callback added to a
    finished future runs at once with the page it holds, which would be the previous one.
    """
    result: asyncio.Future[list[Row]] = handoff.loop.create_future()
    put = handoff.put

    def ok(rows: list[Row]) -> None:
        _let_go(future, over=not future.has_more_pages)
        put((result, done, rows, None))

    def failed(exc: BaseException) -> None:
        _let_go(future, over=True)
        put((result, done, None, exc))

    future.clear_callbacks()
    if next_page:
        try:
            future.start_fetching_next_page()
        except BaseException:
            done()
            raise
    future.add_callbacks(ok, failed)
    return result


def _let_go(future: ResponseFuture, *, over: bool) -> None:
    """Drop the references from ``future`` back to itself once a page (or error) is in.

    The driver keeps the callbacks, which hold the future, and the cancelled timeout timer,
    which holds its ``_on_timeout``: reference cycles, with the statement, its values and the
    answer in them, that only the garbage collector freed. Without them, reference counting
    frees a request as soon as nothing uses it. The timer stays while pages follow (``over``
    false): the driver starts a next page's timer only when none is set, timed from the first
    page's start, which a long replay would be past.
    """
    future.clear_callbacks()
    if over:
        future._timer = None


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

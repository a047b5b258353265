"""The session's bridge from the driver's thread: every answer reaches its caller, and
conditional requests wait on their own in-flight bound, not behind plain ones."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from cassandra import ConsistencyLevel
from cassandra.query import tuple_factory

from repertory.config import CassandraSettings
from repertory.persistence.cassandra_session import CassandraSession, build_cluster

pytestmark = pytest.mark.unit


class FakeResponse:
    """A driver ``ResponseFuture`` that the test completes, from any thread."""

    has_more_pages = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._ok: Callable[[Any], None] | None = None
        self._failed: Callable[[BaseException], None] | None = None

    def clear_callbacks(self) -> None:
        self._ok = self._failed = None

    def add_callbacks(self, ok: Callable[[Any], None], failed: Callable[[Any], None]) -> None:
        self._ok, self._failed = ok, failed

    def answer(self) -> None:
        assert self._ok is not None and self._failed is not None
        if isinstance(self.statement, Exception):
            self._failed(self.statement)
        else:
            self._ok([(self.statement,)])


class FakeDriver:
    def __init__(self) -> None:
        self.sent: list[FakeResponse] = []

    def execute_async(self, statement: Any, params: Any = None) -> FakeResponse:
        response = FakeResponse(statement)
        self.sent.append(response)
        return response


def connected(**fields: Any) -> tuple[CassandraSession, FakeDriver]:
    session = CassandraSession(CassandraSettings(**fields))
    driver = FakeDriver()
    session._session = driver  # type: ignore[assignment]
    return session, driver


async def sent(driver: FakeDriver, count: int) -> None:
    """Let the loop turn until ``count`` requests went out (a few turns at most)."""
    for _ in range(50):
        if len(driver.sent) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{len(driver.sent)} requests sent, not {count}")


async def test_a_burst_answered_from_another_thread_reaches_every_caller() -> None:
    session, driver = connected(max_in_flight=256)
    statements: list[Any] = [f"q{i}" for i in range(200)]
    statements[7] = RuntimeError("refused")
    calls = [asyncio.ensure_future(session.execute(s)) for s in statements]
    await sent(driver, len(statements))
    answering = threading.Thread(target=lambda: [r.answer() for r in driver.sent])
    answering.start()
    results = await asyncio.gather(*calls, return_exceptions=True)
    answering.join()
    assert results[0] == [("q0",)] and results[199] == [("q199",)]
    assert isinstance(results[7], RuntimeError)
    assert "in_flight=0/256 conditional=0/1024" in repr(session)


async def test_conditional_requests_have_their_own_bound() -> None:
    session, driver = connected(max_in_flight=1, conditional_max_in_flight=2)
    plain = asyncio.ensure_future(session.execute("plain"))
    waiting = asyncio.ensure_future(session.execute("plain again"))
    first = asyncio.ensure_future(session.execute("cas 1", conditional=True))
    second = asyncio.ensure_future(session.execute("cas 2", conditional=True))
    third = asyncio.ensure_future(session.execute("cas 3", conditional=True))
    await sent(driver, 3)
    for _ in range(5):
        await asyncio.sleep(0)
    assert [r.statement for r in driver.sent] == ["plain", "cas 1", "cas 2"]
    driver.sent[1].answer()  # a conditional slot frees: the third goes, the plain one waits
    assert await first == [("cas 1",)]
    await sent(driver, 4)
    assert driver.sent[3].statement == "cas 3" and not waiting.done()
    for response in driver.sent[:]:
        if response.statement != "cas 1":
            response.answer()
    await sent(driver, 5)
    driver.sent[4].answer()
    assert await asyncio.gather(plain, waiting, second, third) == [
        [("plain",)],
        [("plain again",)],
        [("cas 2",)],
        [("cas 3",)],
    ]


def test_the_cluster_runs_requests_with_the_settings_profile() -> None:
    """The profile must be registered under the driver's default key (an object, not the
    string "default"), or the driver's own defaults apply instead of the settings."""
    settings = CassandraSettings(request_timeout=3.5, read_consistency="ONE")
    default = build_cluster(settings).profile_manager.default
    assert default.request_timeout == 3.5
    assert default.consistency_level == ConsistencyLevel.ONE
    assert default.row_factory is tuple_factory

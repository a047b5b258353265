"""Worker processes under the Thespian supervisor: start, ask, restart, give up, drain.

These start real processes but need no servers; each test takes about a second. Each pool runs
in a harness process of its own (``worker_harness.py``) on a free admin port, so Thespian never
forks the pytest process. Every process of a test carries a unique marker directory in its
environment; the fixture stops the pool, then kills whatever still carries it and fails the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from pydantic import ValidationError

from repertory.config import WorkersSettings
from repertory.errors import WorkerError
from repertory.workers import WorkerPool, process_alive
from tests.unit.worker_apps import MARKERS_ENV

pytestmark = pytest.mark.unit

APPS = "tests.unit.worker_apps"
REPO = Path(__file__).resolve().parents[2]

Slots = list[dict[str, Any]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def marked(markers: Path, kind: str) -> set[int]:
    return {int(p.name.split("-")[1]) for p in markers.glob(f"{kind}-*")}


def tree_alive(markers: Path) -> list[int]:
    """Live processes started with ``MARKERS_ENV=<markers>`` in their environment: a harness or
    runner and every process forked from it (the actor system's admin, logger and actors)."""
    needle = f"{MARKERS_ENV}={markers}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


class PoolProcess:
    """A ``WorkerPool`` driven in a harness process; the same calls, JSON in between."""

    def __init__(self, markers: Path, log: IO[str]) -> None:
        env = os.environ | {MARKERS_ENV: str(markers), "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.unit.worker_harness"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.known_pids: list[int] = []

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the harness process died"
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise WorkerError(reply["message"])
        return reply

    def start(self, app: str, settings: dict[str, Any]) -> Slots:
        slots: Slots = self.call("start", app=f"{APPS}:{app}", settings=settings)["slots"]
        return slots

    def status(self) -> Slots:
        slots: Slots = self.call("status")["slots"]
        return slots

    def ask(self, slot: int, request: Any) -> Any:
        return self.call("ask", slot=slot, request=request)["answer"]

    def stop(self) -> Slots:
        reply = self.call("stop")
        self.known_pids = reply["known_pids"]
        slots: Slots = reply["slots"]
        return slots

    def wait_until(self, predicate: Callable[[Slots], bool], timeout: float) -> Slots:
        """Poll ``status()`` until ``predicate`` holds; return that status."""
        deadline = time.monotonic() + timeout
        while not predicate(slots := self.status()):
            assert time.monotonic() < deadline, f"workers never reached the state: {slots}"
            time.sleep(0.05)
        return slots

    def close(self) -> None:
        """End the harness (it stops its pool when its input closes) and release the pipes."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


MakePool = Callable[..., tuple[PoolProcess, Slots]]


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    directory = tmp_path / "markers"
    directory.mkdir()
    return directory


@pytest.fixture
def make_pool(tmp_path: Path, markers: Path) -> Iterator[MakePool]:
    harnesses: list[PoolProcess] = []
    log = (tmp_path / "pool.log").open("w")

    def make(app: str = "echo", **settings: Any) -> tuple[PoolProcess, Slots]:
        values: dict[str, Any] = {
            "count": 2,
            "admin_port": free_port(),
            "restart_min_delay": 0.05,
            "restart_max_delay": 0.2,
            "restart_limit": 3,
            "drain_timeout": 5.0,
            "start_timeout": 15.0,
        }
        harness = PoolProcess(markers, log)
        harnesses.append(harness)
        return harness, harness.start(app, values | settings)

    yield make
    for harness in harnesses:
        harness.close()
    log.close()
    stragglers = tree_alive(markers)
    for pid in stragglers:
        os.kill(pid, signal.SIGKILL)
    assert not stragglers, f"processes outlived their pool: {stragglers}"


def running_anew(index: int, old_pid: int | None) -> Callable[[Slots], bool]:
    def check(slots: Slots) -> bool:
        slot = slots[index]
        return bool(slot["state"] == "running" and slot["pid"] not in (None, old_pid))

    return check


def test_each_app_runs_in_its_own_process_and_drains(make_pool: MakePool, markers: Path) -> None:
    pool, slots = make_pool(count=3)
    pids = [s["pid"] for s in slots]

    assert [s["state"] for s in slots] == ["running"] * 3
    assert len(set(pids)) == 3 and pool.process.pid not in pids
    for slot in slots:
        answer = pool.ask(slot["slot"], {"n": slot["slot"]})
        assert answer == ["echo", slot["pid"], {"n": slot["slot"]}]
    assert marked(markers, "started") == set(pids)
    with pytest.raises(WorkerError, match="ValueError: asked to raise"):
        pool.ask(0, "raise")

    final = pool.stop()
    assert [s["state"] for s in final] == ["stopped"] * 3
    assert marked(markers, "stopped") == set(pids), "every app's __aexit__ ran"
    assert set(pids) < set(pool.known_pids)  # and the supervisor
    assert not [pid for pid in pool.known_pids if process_alive(pid)]


def test_killed_worker_is_restarted_after_backoff_and_answers_again(make_pool: MakePool) -> None:
    pool, before = make_pool(count=2, restart_min_delay=0.5, restart_max_delay=1.0)
    victim, bystander = before

    os.kill(victim["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    during = pool.wait_until(lambda s: s[0]["state"] == "restarting", timeout=5)
    assert during[0]["last_failure"] == "worker process exited"
    with pytest.raises(WorkerError, match="not running"):
        pool.ask(0, "anyone?")

    after = pool.wait_until(running_anew(0, victim["pid"]), timeout=10)
    assert time.monotonic() - killed_at >= 0.5, "restarted before the backoff delay"
    assert after[0]["restarts"] == 1
    assert pool.ask(0, "again") == ["echo", after[0]["pid"], "again"]
    assert after[1]["pid"] == bystander["pid"] and after[1]["restarts"] == 0
    assert not process_alive(victim["pid"])


def test_restart_limit_reached_gives_the_slot_up(make_pool: MakePool) -> None:
    pool, slots = make_pool(count=2, restart_limit=2)
    for _ in range(2):
        old = slots[0]["pid"]
        os.kill(old, signal.SIGKILL)
        slots = pool.wait_until(running_anew(0, old), timeout=10)

    os.kill(slots[0]["pid"], signal.SIGKILL)
    slots = pool.wait_until(lambda s: s[0]["state"] == "failed", timeout=10)

    assert slots[0]["restarts"] == 2
    assert "gave up after 2 restarts" in slots[0]["last_failure"]
    assert slots[1]["state"] == "running" and slots[1]["restarts"] == 0
    with pytest.raises(WorkerError, match="not running"):
        pool.ask(0, "anyone?")
    assert pool.ask(1, "still here")[0] == "echo"


def test_app_that_raises_on_start_is_restarted_then_given_up(make_pool: MakePool) -> None:
    _, (slot,) = make_pool("failing", count=1, restart_limit=2)  # start waits until settled

    assert slot["state"] == "failed"
    assert slot["restarts"] == 2
    assert "RuntimeError: cannot reach the journal" in slot["last_failure"]
    assert "gave up after 2 restarts" in slot["last_failure"]


def test_sigterm_drains_every_app_and_leaves_no_process(tmp_path: Path, markers: Path) -> None:
    script = (
        "import sys\n"
        "from repertory.config import WorkersSettings\n"
        "from repertory.workers import run_workers\n"
        "settings = WorkersSettings(count=3, admin_port=int(sys.argv[1]), drain_timeout=5)\n"
        "run_workers(settings, sys.argv[2], check_every=0.1)\n"
    )
    env = os.environ | {MARKERS_ENV: str(markers), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", script, str(free_port()), f"{APPS}:echo"]
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        runner = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: len(marked(markers, "started")) == 3, 15, "3 running apps")
        pids = marked(markers, "started")

        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=20) == 0, log_path.read_text()

        assert marked(markers, "stopped") == pids, "every app's __aexit__ ran"
        wait_for(lambda: not tree_alive(markers), 5, "every process of the pool to end")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        for pid in tree_alive(markers):
            os.kill(pid, signal.SIGKILL)


def test_unknown_app_fails_fast_without_starting_anything() -> None:
    settings = WorkersSettings(admin_port=free_port())
    with pytest.raises(WorkerError, match="cannot load app"):
        WorkerPool(settings, f"{APPS}:missing").start()
    with pytest.raises(WorkerError, match=r"package\.module:factory"):
        WorkerPool(settings, "no_colon_here").start()


def test_admin_port_in_use_is_refused(make_pool: MakePool) -> None:
    with (
        socket.socket() as taken,
        pytest.raises(WorkerError, match=r"admin port \[\d+\] is in use"),
    ):
        taken.bind(("", 0))
        taken.listen()
        make_pool(admin_port=taken.getsockname()[1])


def test_settings_reject_inverted_backoff() -> None:
    with pytest.raises(ValidationError, match="restart_max_delay"):
        WorkersSettings(restart_min_delay=2.0, restart_max_delay=1.0)

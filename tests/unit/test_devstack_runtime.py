"""Dev stack mechanics without servers: the jar cache marker, missing tools, taken ports,
detached processes (pid files, pause, stop), and the CLI's help."""

from __future__ import annotations

import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from repertory.cli import main
from repertory.config import DevstackSettings
from repertory.devstack import DevStack, _process
from repertory.devstack._jars import MARKER, is_resolved, kafka_jars, render_pom, resolve
from repertory.devstack._jars import _digest as pom_digest
from repertory.devstack._server import Server, find_java
from repertory.devstack._stack import StartReport
from repertory.errors import DevstackError


def cached(tmp_path: Path, *, marker: str | None) -> Path:
    """A cache holding Kafka's lib/ with one jar, and a marker with the given content."""
    jars = kafka_jars("4.1.1")
    jars.lib(tmp_path).mkdir(parents=True)
    (jars.lib(tmp_path) / "kafka_2.13-4.1.1.jar").write_bytes(b"jar")
    if marker is not None:
        (jars.home(tmp_path) / MARKER).write_text(marker)
    return tmp_path


def test_a_cache_with_its_marker_resolves_nothing_even_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jars = kafka_jars("4.1.1")
    cache = cached(tmp_path, marker=pom_digest(render_pom(jars)) + "\n")
    monkeypatch.setenv("PATH", "")  # Maven would be "missing" if resolve tried to run it

    assert is_resolved(jars, cache)
    assert resolve(jars, cache) is False
    assert (jars.lib(cache) / "kafka_2.13-4.1.1.jar").read_bytes() == b"jar"


@pytest.mark.parametrize("marker", [None, "a-stale-pom-hash\n"])
def test_a_half_done_or_stale_cache_is_resolved_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str | None
) -> None:
    jars = kafka_jars("4.1.1")
    cache = cached(tmp_path, marker=marker)
    monkeypatch.setenv("PATH", "")

    assert not is_resolved(jars, cache)
    with pytest.raises(DevstackError, match=r"\[mvn\] not found.*apt-get install openjdk-17"):
        resolve(jars, cache)


def test_missing_java_names_the_packages_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(DevstackError, match=r"\[java\] not found.*maven"):
        find_java()


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port in the settings' range that this test holds open."""
    for port in range(41_000 + uuid.uuid4().int % 3000, 45_000):
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", port))
        except OSError:
            holder.close()
            continue
        holder.listen()
        try:
            yield port
        finally:
            holder.close()
        return
    pytest.fail("no free port in 41000-45000")


def test_port_in_use_sees_a_listening_socket(listening_port: int) -> None:
    assert _process.port_in_use(listening_port)


def test_up_refuses_a_taken_port_naming_it_and_its_setting(
    tmp_path: Path, listening_port: int
) -> None:
    settings = DevstackSettings(
        state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", kafka_port=listening_port
    )
    with pytest.raises(DevstackError) as raised:
        DevStack(settings).up(["kafka"])
    message = str(raised.value)
    assert f"port [{listening_port}]" in message
    assert "REPERTORY_DEVSTACK__KAFKA_PORT" in message
    assert not (tmp_path / "cache").exists()  # refused before resolving anything


def test_a_fresh_up_empties_the_data_of_the_servers_it_starts_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = DevStack(DevstackSettings(state_dir=tmp_path, port_offset=10))
    for name in ("kafka", "cassandra"):
        data = stack.server(name).data
        data.mkdir(parents=True)
        (data / "old-keyspace").write_text("left by an earlier run")
    (stack.server("cassandra").logs).mkdir(parents=True)
    (stack.server("cassandra").log_file).write_text("kept for diagnosis")
    seen: list[tuple[str, bool]] = []

    def start(server: Server) -> StartReport:
        seen.append((server.name, (server.data / "old-keyspace").exists()))
        return StartReport(server.name, 1, "127.0.0.1:0", False, 0.0)

    monkeypatch.setattr(stack, "_before_start", lambda to_start: None)
    monkeypatch.setattr(stack, "_start", start)
    stack.up(["cassandra"], fresh=True)
    stack.up(["kafka"])

    assert seen == [("cassandra", False), ("kafka", True)]
    assert stack.server("cassandra").log_file.read_text() == "kept for diagnosis"


def test_detached_process_is_found_paused_resumed_and_terminated(tmp_path: Path) -> None:
    marker = f"devstack-test-{uuid.uuid4().hex}"
    pid_file = tmp_path / "sleeper.pid"
    command = [sys.executable, "-c", "import time; time.sleep(60)", marker]

    pid = _process.launch(command, tmp_path / "logs" / "out.log", pid_file, tmp_path)
    try:
        assert _process.read_pid(pid_file, marker) == pid
        assert _process.read_pid(pid_file, "some-other-marker") is None  # not ours: forgotten
        pid_file.write_text(f"{pid}\n")
        assert _wait(lambda: (_process.rss_mb(pid) or 0) > 1)  # MiB, once the interpreter is up

        _process.signal_pid(pid, signal.SIGSTOP)
        assert _wait(lambda: _process.is_stopped(pid))
        _process.signal_pid(pid, signal.SIGCONT)
        assert _wait(lambda: not _process.is_stopped(pid))
    finally:
        stopped_cleanly = _process.terminate(pid, timeout=10)

    assert stopped_cleanly
    assert not _process.is_alive(pid)
    assert _process.read_pid(pid_file, marker) is None
    assert not pid_file.exists()  # a stale pid file is removed


def test_status_of_a_stack_that_never_ran(tmp_path: Path) -> None:
    stack = DevStack(DevstackSettings(state_dir=tmp_path, port_offset=10))
    kafka, cassandra = stack.status()
    assert (kafka.state, kafka.pid, kafka.address) == ("stopped", None, "127.0.0.1:19102")
    assert cassandra.as_dict()["ports"]["cassandra_port"] == 19052
    assert stack.down() == {"kafka": "not running", "cassandra": "not running"}
    with pytest.raises(DevstackError, match=r"\[kafka\] is not running"):
        stack.pause("kafka")


def test_devstack_help_shows_examples() -> None:
    result = CliRunner().invoke(main, ["devstack", "--help"])
    assert result.exit_code == 0
    assert "repertory devstack up" in result.output
    for verb in ("up", "down", "status", "logs", "restart"):
        assert verb in result.output


def _wait(condition: Callable[[], bool], attempts: int = 100) -> bool:
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.02)
    return False

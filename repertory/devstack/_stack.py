"""The dev stack as one object: resolve, start, probe, stop, pause and inspect both servers.

Used by ``repertory devstack ...`` and by the test fixtures. Servers are found again from their
pid files, so any process can ask about, stop or restart a stack another process started.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from repertory.config import DevstackSettings
from repertory.devstack import _process
from repertory.devstack._cassandra import Cassandra
from repertory.devstack._jars import is_resolved, resolve_all
from repertory.devstack._kafka import Kafka
from repertory.devstack._secure import SecureCassandra, SecureKafka, StackSecurity
from repertory.devstack._server import HOST, Server, find_java
from repertory.errors import DevstackError

ServerName = Literal["kafka", "cassandra"]
SERVER_NAMES: tuple[ServerName, ...] = ("kafka", "cassandra")

_LOG_TAIL = 40


@dataclass(frozen=True, slots=True)
class StartReport:
    """What ``up``/``start`` did for one server."""

    name: str
    pid: int
    address: str
    already_running: bool
    seconds: float | None = None
    """Launch to first successful client round trip; None when it was already running."""


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One server as seen from its pid file and ``/proc``."""

    name: str
    state: Literal["running", "paused", "stopped"]
    pid: int | None
    address: str
    ports: dict[str, int] = field(default_factory=dict)
    rss_mb: float | None = None
    log_file: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "pid": self.pid,
            "address": self.address,
            "ports": dict(self.ports),
            "rss_mb": None if self.rss_mb is None else round(self.rss_mb, 1),
            "log_file": str(self.log_file) if self.log_file else None,
        }


class DevStack:
    """The local Kafka and Cassandra described by ``settings``.

    Args:
        settings: the ``devstack`` settings section (versions, ports, directories, heaps).
        echo: called with a line of progress ("resolving jars ...") for people watching.
        stop_timeout: seconds a server gets to stop on SIGTERM before it is killed.
        security: run the secured variant (a SASL_SSL Kafka listener, Cassandra with TLS and
            passwords; see ``_secure``); default none: the plain stack.
    """

    def __init__(
        self,
        settings: DevstackSettings,
        *,
        echo: Callable[[str], None] | None = None,
        stop_timeout: float = 60.0,
        security: StackSecurity | None = None,
    ) -> None:
        self.settings = settings
        self.security = security
        self.kafka = Kafka(settings) if security is None else SecureKafka(settings, security)
        self.cassandra = (
            Cassandra(settings) if security is None else SecureCassandra(settings, security)
        )
        self._servers: dict[str, Server] = {"kafka": self.kafka, "cassandra": self.cassandra}
        self._echo = echo or (lambda _line: None)
        self._stop_timeout = stop_timeout

    def __repr__(self) -> str:
        states = ", ".join(f"{s.name}={s.state}" for s in self.status())
        return f"<DevStack {states} state_dir={self.settings.state_dir}>"

    @property
    def kafka_bootstrap(self) -> str:
        """``host:port`` for Kafka clients' ``bootstrap_servers``."""
        return self.kafka.bootstrap

    @property
    def cassandra_contact(self) -> tuple[str, int]:
        """``(host, port)`` of Cassandra's native protocol."""
        return self.cassandra.contact

    def server(self, name: str) -> Server:
        """The server called ``name``; raises DevstackError for an unknown one."""
        try:
            return self._servers[name]
        except KeyError:
            raise DevstackError(
                f"unknown server [{name}]; expected one of {list(self._servers)}"
            ) from None

    def pid(self, name: str) -> int | None:
        """The running server's pid, or None when it is not running."""
        server = self.server(name)
        return _process.read_pid(server.pid_file, server.marker)

    def is_running(self, name: str) -> bool:
        return self.pid(name) is not None

    def resolve(self, names: Iterable[str] = SERVER_NAMES) -> dict[str, bool]:
        """Resolve the jars of ``names`` (concurrently); returns server → whether Maven ran."""
        sets = [self.server(name).jars() for name in names]
        if not sets:
            return {}
        cache = self.settings.cache_dir
        return resolve_all(sets, cache)

    def up(self, names: Iterable[str] = SERVER_NAMES, *, fresh: bool = False) -> list[StartReport]:
        """Start every server in ``names`` that is not running, concurrently; leave the others
        running (a paused one is resumed).

        Args:
            names: which servers; default both.
            fresh: the servers this call starts begin with empty data (running ones keep
                theirs). The test suite starts its stack this way: Cassandra's start-up time
                grows with every keyspace ever dropped on it (it keeps Paxos state per table),
                and thousands of throwaway test keyspaces pile up over many runs.

        Returns once each started server answered a real client round trip.

        Raises:
            DevstackError: java/mvn missing, a port taken, a server that exited or timed out.
        """
        wanted = [self.server(name) for name in names]
        running = {s.name: self.pid(s.name) for s in wanted}
        self._resume_paused(running)
        to_start = [s for s in wanted if running[s.name] is None]
        self._before_start(to_start)
        if fresh:
            for server in to_start:
                shutil.rmtree(server.data, ignore_errors=True)
        reports = {
            s.name: StartReport(s.name, pid, _address(s), already_running=True)
            for s in wanted
            if (pid := running[s.name]) is not None
        }
        with ThreadPoolExecutor(max_workers=max(1, len(to_start))) as pool:
            futures = {s.name: pool.submit(self._start, s) for s in to_start}
            errors = []
            for name, future in futures.items():
                try:
                    reports[name] = future.result()
                except DevstackError as exc:
                    errors.append(str(exc))
        if errors:
            raise DevstackError("\n".join(errors))
        return [reports[s.name] for s in wanted]

    def _resume_paused(self, running: dict[str, int | None]) -> None:
        for name, pid in running.items():
            if pid is not None and _process.is_stopped(pid):
                # Left paused by an interrupted fault test: a stack that is "up" must serve.
                self._echo(f"{name} was paused; resuming it")
                _process.signal_pid(pid, signal.SIGCONT)

    def _before_start(self, to_start: list[Server]) -> None:
        """Fail fast on taken ports and a missing java, then resolve what is missing."""
        if not to_start:
            return
        for server in to_start:
            self._check_ports(server)
        find_java()
        missing = [s.name for s in to_start if not _resolved(s)]
        if missing:
            self._echo(f"resolving jars for {', '.join(missing)} with Maven ...")
            started = time.monotonic()
            self.resolve(missing)
            self._echo(f"resolved in {time.monotonic() - started:.0f} s")

    def start(self, name: str) -> StartReport:
        """Start one server (if it is not running) and wait until it serves."""
        return self.up([name])[0]

    def down(self, names: Iterable[str] = SERVER_NAMES, *, purge: bool = False) -> dict[str, str]:
        """Stop servers: SIGTERM, then SIGKILL after the stop timeout.

        Args:
            names: which servers; default both.
            purge: also delete their data and logs (the next ``up`` starts empty).

        Returns:
            server → ``stopped`` | ``killed`` | ``not running`` (plus ``, purged``).
        """
        wanted = [self.server(name) for name in names]
        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
            stopped = pool.map(self._stop, wanted)
            outcomes = dict(zip([s.name for s in wanted], stopped, strict=True))
        if purge:
            for server in wanted:
                shutil.rmtree(server.root, ignore_errors=True)
                outcomes[server.name] += ", purged"
        return outcomes

    def stop(self, name: str) -> str:
        """Stop one server; see ``down``."""
        return self.down([name])[name]

    def restart(self, name: str) -> StartReport:
        """Stop one server (if running) and start it again, keeping its data."""
        self.stop(name)
        return self.start(name)

    def pause(self, name: str) -> None:
        """Freeze a running server with SIGSTOP (a hung broker or node, as clients see it)."""
        _process.signal_pid(self._running_pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        """Let a paused server run again (SIGCONT)."""
        _process.signal_pid(self._running_pid(name), signal.SIGCONT)

    def status(self) -> list[ServerStatus]:
        """Running, paused or stopped, with pid, ports and resident memory."""
        result = []
        for server in self._servers.values():
            pid = self.pid(server.name)
            state: Literal["running", "paused", "stopped"] = "stopped"
            if pid is not None:
                state = "paused" if _process.is_stopped(pid) else "running"
            result.append(
                ServerStatus(
                    name=server.name,
                    state=state,
                    pid=pid,
                    address=_address(server),
                    ports=server.ports(),
                    rss_mb=None if pid is None else _process.rss_mb(pid),
                    log_file=server.log_file,
                )
            )
        return result

    def logs(self, name: str, lines: int = 50) -> str:
        """The last ``lines`` lines of the server's log."""
        return _process.tail(self.server(name).log_file, lines)

    def _running_pid(self, name: str) -> int:
        pid = self.pid(name)
        if pid is None:
            raise DevstackError(f"[{name}] is not running")
        return pid

    def _check_ports(self, server: Server) -> None:
        for setting, port in server.ports().items():
            if _process.port_in_use(port):
                env = f"REPERTORY_DEVSTACK__{setting.upper()}"
                raise DevstackError(
                    f"port [{port}] for [{server.name}] is taken by another process "
                    f"(setting devstack.{setting} + devstack.port_offset "
                    f"{self.settings.port_offset}); stop that process, or change {env} "
                    f"or REPERTORY_DEVSTACK__PORT_OFFSET"
                )

    def _start(self, server: Server) -> StartReport:
        java = find_java()
        server.write_config()
        server.prepare(java)
        with server.log_file.open("a") as log:
            log.write(f"\n==== repertory devstack: starting {server.name} at {time.ctime()}\n")
        launched = time.monotonic()
        pid = _process.launch(server.command(java), server.log_file, server.pid_file, server.root)
        self._wait_serving(server, pid, launched)
        seconds = time.monotonic() - launched
        return StartReport(server.name, pid, _address(server), False, seconds)

    def _wait_serving(self, server: Server, pid: int, launched: float) -> None:
        deadline = launched + self.settings.start_timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if not _process.is_alive(pid):
                server.pid_file.unlink(missing_ok=True)
                raise DevstackError(
                    f"[{server.name}] exited while starting; last lines of "
                    f"[{server.log_file}]:\n{_process.tail(server.log_file, _LOG_TAIL)}"
                )
            if _process.accepts_connections(server.port):
                try:
                    server.probe(timeout=10.0)
                    return
                except Exception as exc:  # any client error means "not yet"
                    last_error = exc
            time.sleep(0.25)
        _process.terminate(pid, self._stop_timeout)
        server.pid_file.unlink(missing_ok=True)
        raise DevstackError(
            f"[{server.name}] did not serve within {self.settings.start_timeout:.0f} s "
            f"(devstack.start_timeout; last probe error: {last_error!r}); stopped it. A server "
            f"whose data grew large starts slowly: `repertory devstack up --fresh {server.name}` "
            f"starts it empty. "
            f"Last lines of [{server.log_file}]:\n{_process.tail(server.log_file, _LOG_TAIL)}"
        )

    def _stop(self, server: Server) -> str:
        pid = _process.read_pid(server.pid_file, server.marker)
        if pid is None:
            return "not running"
        clean = _process.terminate(pid, self._stop_timeout)
        server.pid_file.unlink(missing_ok=True)
        return "stopped" if clean else "killed"


def _resolved(server: Server) -> bool:
    return is_resolved(server.jars(), server.settings.cache_dir)


def _address(server: Server) -> str:
    return f"{HOST}:{server.port}"

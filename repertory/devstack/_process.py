"""Detached server processes: launch, pid files, liveness, signals, memory, ports, log tails.

Servers outlive the command that started them, so they are launched through ``/bin/sh`` in a
session of their own and are never children of the Python process: nothing has to reap them,
and a test run that started them can exit while they keep serving. Everything else about a
server is found again from its pid file and ``/proc``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from repertory.errors import DevstackError

_LAUNCH = 'exec "$@" </dev/null >>"$LOG_FILE" 2>&1 &\necho $!'


def launch(command: Sequence[str], log_file: Path, pid_file: Path, cwd: Path) -> int:
    """Start ``command`` detached (own session, output appended to ``log_file``); record its pid.

    Returns:
        The server's pid.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["/bin/sh", "-c", _LAUNCH, "launch", *command],
        env={**os.environ, "LOG_FILE": str(log_file)},
        cwd=cwd,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise DevstackError(f"could not launch [{command[0]}]: {result.stderr.strip()}")
    pid = int(result.stdout.strip())
    pid_file.write_text(f"{pid}\n")
    return pid


def read_pid(pid_file: Path, marker: str) -> int | None:
    """The recorded pid if that process is alive and still ours (its command line has ``marker``).

    A stale pid file (the process died, or the pid now belongs to something else) is removed.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if is_alive(pid) and marker in _cmdline(pid):
        return pid
    pid_file.unlink(missing_ok=True)
    return None


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def is_stopped(pid: int) -> bool:
    """True when ``pid`` is stopped by a signal (SIGSTOP), i.e. paused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in {"T", "t"}


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MiB, from ``/proc/<pid>/status``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def signal_pid(pid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to ``pid``; a process that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid`` (waking it first if paused), wait, then SIGKILL after ``timeout`` seconds.

    Returns:
        True if it stopped on SIGTERM, False if it had to be killed.
    """
    signal_pid(pid, signal.SIGTERM)
    signal_pid(pid, signal.SIGCONT)
    if wait_gone(pid, timeout):
        return True
    signal_pid(pid, signal.SIGKILL)
    if not wait_gone(pid, 10.0):
        raise DevstackError(f"process [{pid}] survived SIGKILL")
    return False


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something else listens on (or otherwise holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a port lingering in TIME_WAIT from our last run is free, not taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def accepts_connections(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - 256 * max(lines, 1) - 4096))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""

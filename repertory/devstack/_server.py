"""What the stack needs to know about one server: its files, ports, command line and probe.

Each server keeps everything under ``<state_dir>/<name>/``: ``conf/`` (rendered from the
templates at every start, so changed ports apply), ``data/``, ``logs/`` and its pid file.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from repertory.config import DevstackSettings
from repertory.devstack._jars import INSTALL_HINT, JarSet
from repertory.errors import DevstackError

HOST = "127.0.0.1"
"""Every dev stack server listens on loopback only."""


class Server(ABC):
    """One dev stack server; subclasses say how to configure, run and probe it."""

    name: ClassVar[str]
    main_class: ClassVar[str]

    def __init__(self, settings: DevstackSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {HOST}:{self.port} state={self.root}>"

    @property
    def root(self) -> Path:
        return self.settings.state_dir / self.name

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        """Where the server's stdout and stderr go."""
        return self.logs / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.root / f"{self.name}.pid"

    @property
    def marker(self) -> str:
        """Text found in this server's command line and no other's: its own ``conf`` path."""
        return str(self.conf)

    @property
    def lib(self) -> Path:
        return self.jars().lib(self.settings.cache_dir)

    @property
    def port(self) -> int:
        """The port clients use."""
        return self.settings.port(self.name)

    def ports(self) -> dict[str, int]:
        """Every port the server binds, by the setting that chooses it (``kafka_port`` ...)."""
        return {f"{name}_port": self.settings.port(name) for name in self.port_names()}

    @abstractmethod
    def port_names(self) -> tuple[str, ...]:
        """Names given to ``DevstackSettings.port``, the client port first."""

    @abstractmethod
    def jars(self) -> JarSet:
        """The jars to resolve for this server's configured version."""

    @abstractmethod
    def write_config(self) -> None:
        """Render the configuration files into ``conf/``."""

    def prepare(self, java: str) -> None:
        """One-off work before the first start (formatting storage); nothing by default."""
        del java

    @abstractmethod
    def command(self, java: str) -> list[str]:
        """The full command line that runs the server in the foreground."""

    @abstractmethod
    def probe(self, timeout: float) -> None:
        """Do one real client round trip; raise anything if the server does not serve yet."""

    def make_dirs(self) -> None:
        for path in (self.conf, self.data, self.logs):
            path.mkdir(parents=True, exist_ok=True)


def find_java() -> str:
    """The ``java`` executable on PATH.

    Raises:
        DevstackError: there is none.
    """
    java = shutil.which("java")
    if java is None:
        raise DevstackError(f"[java] not found on PATH; {INSTALL_HINT}")
    return java

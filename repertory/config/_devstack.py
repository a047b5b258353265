"""Settings of the ``devstack`` section: the local Kafka and Cassandra for development and tests.

Ports and the state directory are settings so two checkouts can run side by side
(``REPERTORY_DEVSTACK__PORT_OFFSET=100`` moves every port by 100).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from repertory.config._base import Section


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "repertory"


class DevstackSettings(Section):
    kafka_version: str = "4.1.1"
    """Apache Kafka release resolved from Maven Central (``org.apache.kafka:kafka_2.13``)."""

    cassandra_version: str = "5.0.6"
    """Apache Cassandra release resolved from Maven Central (``cassandra-all``)."""

    cache_dir: Path = Field(default_factory=lambda: _cache_home() / "jars")
    """Where resolved jars are kept, per version, outside the repository."""

    state_dir: Path = Field(default_factory=lambda: _cache_home() / "devstack")
    """Configuration, data and logs of the running servers."""

    port_offset: int = Field(default=0, ge=0, le=20000)
    """Added to every port below, to run a second stack beside the first."""

    kafka_port: int = Field(default=19092, ge=1024, le=45000)
    """Kafka PLAINTEXT listener on 127.0.0.1."""

    kafka_controller_port: int = Field(default=19093, ge=1024, le=45000)
    """KRaft controller listener on 127.0.0.1."""

    kafka_secure_port: int = Field(default=19094, ge=1024, le=45000)
    """SASL_SSL listener on 127.0.0.1, bound only by a secured stack (tests of TLS and SASL)."""

    cassandra_port: int = Field(default=19042, ge=1024, le=45000)
    """Cassandra native (CQL) port on 127.0.0.1."""

    cassandra_storage_port: int = Field(default=17000, ge=1024, le=45000)
    """Cassandra internode port on 127.0.0.1."""

    cassandra_jmx_port: int = Field(default=17199, ge=1024, le=45000)
    """Cassandra local JMX port."""

    kafka_heap: str = "1g"
    """Kafka's -Xmx (and -Xms is 512m)."""

    cassandra_heap: str = "1G"
    """Cassandra's -Xms and -Xmx."""

    start_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for a server to serve before giving up (and showing its log)."""

    def port(self, name: str) -> int:
        """The effective port: the configured one plus ``port_offset``."""
        return int(getattr(self, f"{name}_port")) + self.port_offset

"""Settings of a fault-injection run: servers, load, timings and fault sizes, in two profiles.

``ChaosSettings.ci()`` bounds every scenario so the whole suite finishes in about five minutes on
a two-core machine shared with both servers; ``ChaosSettings.soak()`` is what ``repertory chaos``
loops with (longer pauses, the full 10k poison records). Every field can be replaced with
``dataclasses.replace``; the CLI does so from its flags.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["ChaosSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosSettings:
    """Where the servers are, how much load to offer and how hard to hit the engine.

    Attributes:
        kafka_bootstrap: ``host:port`` of the Kafka broker. Default the dev stack's.
        cassandra_host: Cassandra contact point. Default ``127.0.0.1``.
        cassandra_port: Cassandra native port. Default the dev stack's 19042.
        work_dir: where worker specs, logs and SQLite files go (a fresh sub-directory per run).
        partitions: partitions of each run's commands topic. Default 4.
        entities: entities the load spreads over. Default 40.
        rate: commands produced per second while the load runs. Default 150.
        load_seconds: seconds the load runs in each scenario. Default 12.
        session_timeout_ms: the workers' consumer-group session timeout (the dev stack accepts
            500 and up). Default 1000, so a frozen worker loses its partitions in ~1.4 s.
        heartbeat_interval_ms: the workers' heartbeat interval. Default 300.
        cassandra_pause: seconds Cassandra stays frozen (SIGSTOP) in the pause scenario.
        zombie_pause: seconds a worker stays frozen past its session timeout.
        poison_records: fuzzed poison records in the poison scenario (the soak uses 10k).
        duplicate_gap: seconds between the three sends of a duplicated command.
        drain_timeout: seconds to wait, after the load and the faults, for every command sent
            to be answered or dead-lettered.
        embedded_commands: commands per lane (entity) in the embedded scenarios.
        seed: seed of every random choice (load, fault times, fuzz); None draws one per run.
    """

    kafka_bootstrap: str = "127.0.0.1:19092"
    cassandra_host: str = "127.0.0.1"
    cassandra_port: int = 19042
    work_dir: Path = Path("/tmp/repertory-chaos")
    partitions: int = 4
    entities: int = 40
    rate: float = 150.0
    load_seconds: float = 12.0
    session_timeout_ms: int = 1000
    heartbeat_interval_ms: int = 300
    cassandra_pause: float = 5.0
    zombie_pause: float = 4.0
    poison_records: int = 1000
    duplicate_gap: float = 4.0
    drain_timeout: float = 90.0
    embedded_commands: int = 300
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.partitions < 1 or self.entities < 1 or self.rate <= 0 or self.load_seconds <= 0:
            raise ValueError(
                f"partitions [{self.partitions}], entities [{self.entities}], rate "
                f"[{self.rate}] and load_seconds [{self.load_seconds}] must be positive"
            )
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms [{self.heartbeat_interval_ms}] must be at most a third "
                f"of session_timeout_ms [{self.session_timeout_ms}]"
            )

    @classmethod
    def ci(cls, **changes: object) -> ChaosSettings:
        """The bounded profile of the test suite (about five minutes for every scenario)."""
        return replace(cls(), **changes)  # type: ignore[arg-type]

    @classmethod
    def soak(cls, **changes: object) -> ChaosSettings:
        """The long profile: 30 s Cassandra pauses, 10k poison records, more load."""
        soak = cls(
            rate=250.0,
            load_seconds=30.0,
            cassandra_pause=30.0,
            poison_records=10_000,
            duplicate_gap=10.0,
            drain_timeout=180.0,
            embedded_commands=1000,
        )
        return replace(soak, **changes)  # type: ignore[arg-type]

"""Settings of the ``kafka`` section: the commands, state-change, dead-letter and reply topics,
the consumer group, the transactional producers, and ingress backpressure.

The defaults follow ``DEVSTACK.md``: transactional producers retry ``CONCURRENT_TRANSACTIONS``
after a few milliseconds rather than aiokafka's 100 ms (which dominated the tail latency there),
and consumers never auto-commit and read committed records only.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from repertory.config._base import Section

_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class KafkaSettings(Section):
    enabled: bool = False
    """Run the engine on Kafka (commands from the commands topic, a fenced journal). Default
    false: the embedded engine (commands straight to the entities)."""

    bootstrap_servers: str = "127.0.0.1:19092"
    """Comma-separated ``host:port`` list. Default the dev stack's ``127.0.0.1:19092``."""

    commands_topic: str = "repertory.commands"
    """Commands come in here, keyed by persistence id. Default ``repertory.commands``."""

    state_changes_topic: str = "repertory.state-changes"
    """Every journaled event goes out here, keyed by persistence id. Default
    ``repertory.state-changes``."""

    dead_letters_topic: str = "repertory.dead-letters"
    """Records that cannot become commands, and commands given up on, with reason headers.
    Default ``repertory.dead-letters``."""

    replies_topic: str = "repertory.replies"
    """Where this engine's own asks want their replies (a command names its reply-to topic;
    this is the one ``Engine.ask`` puts there). Default ``repertory.replies``."""

    group_id: str = "repertory"
    """The consumer group of the commands topic; its assignment is entity ownership. Default
    ``repertory``."""

    transactional_id_prefix: str = "repertory"
    """Transactional ids are ``<prefix>-<topic>-<partition>``: stable per input partition, so
    the next owner of a partition fences a zombie of the previous one. Default ``repertory``."""

    client_id: str = "repertory"
    """Kafka client id (shown in broker logs and metrics). Default ``repertory``."""

    retry_backoff_ms: int = Field(default=5, ge=1, le=10_000)
    """Milliseconds a transactional producer waits before retrying, notably after
    ``CONCURRENT_TRANSACTIONS`` between back-to-back commits. Default 5 (aiokafka: 100)."""

    linger_ms: int = Field(default=2, ge=0, le=1000)
    """Milliseconds a producer waits to fill a batch. Default 2."""

    max_batch_bytes: int = Field(default=512 * 1024, ge=16_384, le=1_048_576)
    """Bytes of one record batch per output partition. A producer sends one batch per
    partition per request and one request at a time, so a transaction's records go out in
    about size / this round trips. Keep it within the broker's ``message.max.bytes``. Default
    512 KiB (aiokafka: 16 KiB)."""

    transaction_timeout_ms: int = Field(default=60_000, ge=1000, le=900_000)
    """Broker-side limit of an open transaction, in ms. Default 60000."""

    max_in_flight_per_partition: int = Field(default=4000, ge=1, le=1_000_000)
    """Commands of one input partition taken but not yet committed; past it the partition is
    paused (never dropped) until a transaction commits. Default 4000."""

    max_batch_records: int = Field(default=2000, ge=1, le=100_000)
    """Most input records of one partition in one egress transaction. Default 2000."""

    max_open_batches: int = Field(default=4, ge=1, le=64)
    """Batches of one partition being processed at once (consuming and journaling overlap
    publishing); transactions still commit one after another, in offset order. Default 4."""

    session_timeout_ms: int = Field(default=10_000, ge=500, le=300_000)
    """Consumer-group session timeout in ms: how long a silent member keeps its partitions.
    Default 10000."""

    heartbeat_interval_ms: int = Field(default=3_000, ge=100, le=100_000)
    """Consumer heartbeat interval in ms; below a third of the session timeout. Default 3000."""

    max_poll_interval_ms: int = Field(default=300_000, ge=1000, le=3_600_000)
    """Longest gap between polls before the member leaves the group, in ms. Default 300000."""

    fetch_max_bytes: int = Field(default=52_428_800, ge=1024)
    """Most bytes one fetch returns across partitions. Default 50 MiB."""

    max_partition_fetch_bytes: int = Field(default=1_048_576, ge=1024)
    """Most bytes one fetch returns per partition. Default 1 MiB."""

    fetch_max_wait_ms: int = Field(default=50, ge=0, le=10_000)
    """Milliseconds the broker may wait to fill a fetch. Default 50 (low latency)."""

    max_poll_records: int = Field(default=5000, ge=1, le=100_000)
    """Most records one poll returns. Default 5000."""

    request_timeout_ms: int = Field(default=30_000, ge=1000, le=600_000)
    """Client request timeout in ms. Default 30000."""

    ask_timeout: float = Field(default=10.0, gt=0, le=3600)
    """Seconds ``Engine.ask`` waits for a reply on the replies topic when the caller passes no
    timeout. Default 10."""

    @field_validator("commands_topic", "state_changes_topic", "dead_letters_topic", "replies_topic")
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not _TOPIC.match(value) or value in {".", ".."}:
            raise ValueError(f"[{value}] is not a legal Kafka topic name")
        return value

    @model_validator(mode="after")
    def _timeouts(self) -> KafkaSettings:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError(
                f"heartbeat_interval_ms [{self.heartbeat_interval_ms}] must be at most a third "
                f"of session_timeout_ms [{self.session_timeout_ms}]"
            )
        if self.commands_topic in {self.state_changes_topic, self.dead_letters_topic}:
            raise ValueError(f"commands_topic [{self.commands_topic}] must be its own topic")
        return self

    def transactional_id(self, topic: str, partition: int) -> str:
        """The stable transactional id of one input partition."""
        return f"{self.transactional_id_prefix}-{topic}-{partition}"

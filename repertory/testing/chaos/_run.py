"""One Kafka-mode chaos run: its own topics, group and keyspace; workers; load; the verdict.

::

    async with ChaosRun(settings, "kafka_restart") as run:
        await run.start_worker(0)
        await run.fleet.wait_owned(settings.partitions)
        await run.load(seconds=10)       # while a fault is injected elsewhere
        report = await run.verdict()     # drains, collects, checks; raises on any anomaly
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from repertory.observability import get_logger
from repertory.protocols import CommandEnvelope, Message, Serializer
from repertory.testing.chaos._domain import DEPOSIT, REGISTRY, Deposit, Withdraw, tally
from repertory.testing.chaos._fleet import Fleet
from repertory.testing.chaos._history_io import (
    acks_of,
    dead_letters_of,
    final_balances,
    published_of,
)
from repertory.testing.chaos._kafka_io import (
    CommandProducer,
    TopicReader,
    create_topics,
    delete_topics,
)
from repertory.testing.chaos._rows import CassandraRows
from repertory.testing.chaos._settings import ChaosSettings
from repertory.testing.history import (
    AckOutcome,
    History,
    HistoryReport,
    SentCommand,
    Source,
    check_history,
)

__all__ = ["ChaosRun", "RunFailed"]

_log = get_logger("repertory.testing.chaos")

_TICK = 0.1


class RunFailed(AssertionError):
    """A run's history failed the check (or the run could not finish); the message has the
    checker's summary and the workers' last log lines."""


class ChaosRun:
    """Everything one scenario needs, created on enter and removed on exit (see module doc)."""

    def __init__(self, settings: ChaosSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.rng = random.Random(settings.seed)
        ident = f"{name}-{uuid.uuid4().hex[:8]}"
        self.topics = {k: f"chaos-{ident}-{k}" for k in ("commands", "changes", "dead", "replies")}
        self.group = f"chaos-{ident}"
        self.keyspace = f"chaos_{uuid.uuid4().hex[:12]}"
        self.work_dir = Path(settings.work_dir) / ident
        self.serializer = Serializer(REGISTRY)
        self.sent: list[SentCommand] = []
        self.poison: list[Source] = []
        self.fleet = Fleet(self.work_dir)
        self.rows = CassandraRows(settings.cassandra_host, settings.cassandra_port)
        self.producer = CommandProducer(settings.kafka_bootstrap, self.topics["commands"])
        bootstrap = settings.kafka_bootstrap
        self.readers = {
            k: TopicReader(bootstrap, self.topics[k]) for k in ("changes", "dead", "replies")
        }
        self.started = time.monotonic()
        self.report: HistoryReport | None = None

    def __repr__(self) -> str:
        return f"ChaosRun({self.name!r}, sent={len(self.sent)}, {self.fleet!r})"

    async def __aenter__(self) -> ChaosRun:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        s = self.settings
        await create_topics(
            s.kafka_bootstrap,
            {
                self.topics["commands"]: s.partitions,
                self.topics["changes"]: 2,
                self.topics["dead"]: 1,
                self.topics["replies"]: 1,
            },
        )
        await self.rows.connect()
        await self.rows.create_keyspace(self.keyspace)
        await self.producer.start()
        for reader in self.readers.values():
            await reader.start()
        self.started = time.monotonic()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.fleet.close()
        for reader in self.readers.values():
            await reader.stop()
        await self.producer.stop()
        try:
            await self.rows.drop_keyspace(self.keyspace)
        except Exception as error:  # a leftover keyspace harms nobody; the verdict matters
            _log.warning("keyspace not dropped", keyspace=self.keyspace, error=repr(error))
        finally:
            await self.rows.aclose()
            await delete_topics(self.settings.kafka_bootstrap, list(self.topics.values()))

    # -- workers ----------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        s = self.settings
        return {
            "bootstrap": s.kafka_bootstrap,
            "cassandra_host": s.cassandra_host,
            "cassandra_port": s.cassandra_port,
            "keyspace": self.keyspace,
            "topics": self.topics,
            "group_id": self.group,
            "session_timeout_ms": s.session_timeout_ms,
            "heartbeat_interval_ms": s.heartbeat_interval_ms,
        }

    async def start_worker(self, slot: int, fault: str | None = None) -> None:
        await self.fleet.start(slot, self.spec(), fault)

    # -- commands -----------------------------------------------------------------------------

    def envelope(
        self, entity_id: str, command: Message, command_id: str | None = None
    ) -> CommandEnvelope:
        """A command for ``account|<entity_id>`` asking for a reply on the run's replies topic."""
        type_name, version, payload = self.serializer.encode_message(command)
        return CommandEnvelope(
            command_id=command_id or uuid.uuid4().hex,
            entity_type="account",
            entity_id=entity_id,
            message_type=type_name,
            schema_version=version,
            timestamp_ms=int(time.time() * 1000),
            payload=payload,
            reply_to=self.topics["replies"],
        )

    async def send(self, envelopes: list[CommandEnvelope], *, valid: bool = True) -> None:
        """Produce ``envelopes`` and record each send for the checker."""
        sources = await self.producer.send(envelopes)
        for envelope, source in zip(envelopes, sources, strict=True):
            command = self.serializer.decode_message(
                envelope.message_type, envelope.schema_version, envelope.payload
            )
            self.sent.append(
                SentCommand(
                    command_id=envelope.command_id,
                    persistence_id=envelope.persistence_id,
                    command_type=envelope.message_type,
                    payload={"amount": getattr(command, "amount", 0)},
                    source=source,
                    valid=valid,
                )
            )

    def random_command(self, hot: str | None = None, hot_share: float = 0.0) -> CommandEnvelope:
        """A deposit (85%) or a withdrawal that may be refused, to a random (or the hot) account."""
        rng = self.rng
        entity = (
            hot if hot and rng.random() < hot_share else str(rng.randrange(self.settings.entities))
        )
        if rng.random() < 0.85:
            return self.envelope(entity, Deposit(amount=rng.randint(1, 9)))
        return self.envelope(entity, Withdraw(amount=rng.randint(1, 20)))

    async def load(
        self,
        seconds: float | None = None,
        *,
        until: asyncio.Event | None = None,
        hot: str | None = None,
        hot_share: float = 0.0,
    ) -> int:
        """Offer ``settings.rate`` random commands per second for ``seconds`` (default
        ``load_seconds``) and, if given, until ``until`` is set; returns how many were sent."""
        duration = self.settings.load_seconds if seconds is None else seconds
        rate = self.settings.rate
        start, sent = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < duration or (
            until is not None and not until.is_set()
        ):
            due = min(int(rate * elapsed) - sent, int(rate))  # no burst after an outage
            batch = [self.random_command(hot, hot_share) for _ in range(due)]
            if batch:
                await self.send(batch)
                sent += len(batch)
            await asyncio.sleep(_TICK)
        return sent

    # -- the verdict --------------------------------------------------------------------------

    def _unsettled(self) -> set[str]:
        answered = {a.command_id for a in acks_of(self.readers["replies"].records)}
        letters = dead_letters_of(self.readers["dead"].records)
        answered |= {d.command_id for d in letters if d.command_id}
        return {c.command_id for c in self.sent} - answered

    def _poison_unsettled(self) -> int:
        letters = {d.source for d in dead_letters_of(self.readers["dead"].records)}
        return sum(1 for p in self.poison if p not in letters)

    async def drain(self, within: float | None = None) -> None:
        """Wait until every command sent is answered or dead-lettered, at most ``within``
        seconds (default ``drain_timeout``)."""
        deadline = time.monotonic() + (within or self.settings.drain_timeout)
        while time.monotonic() < deadline:
            if not self._unsettled() and not self._poison_unsettled():
                break
            await asyncio.sleep(0.5)
        quiet = 1.5  # late duplicates and republished events still arriving
        changes = self.readers["changes"]
        while time.monotonic() - changes.last_record < quiet and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.25)

    async def history(self) -> History:
        records = self.readers["changes"].records
        return History(
            sent=list(self.sent),
            acks=acks_of(self.readers["replies"].records),
            journal=await self.rows.rows(self.keyspace),
            published=published_of(records),
            dead_letters=dead_letters_of(self.readers["dead"].records),
            duration_s=time.monotonic() - self.started,
            tally=tally,
            final_states=final_balances(records, self.serializer),
        )

    async def verdict(self, *, min_applied: int | None = None) -> HistoryReport:
        """Drain, collect and check; every anomaly must be absent and progress made.

        Raises:
            RunFailed: the report's failures, its summary and the workers' last log lines.
        """
        await self.drain()
        report = check_history(await self.history())
        self.report = report
        deposits = {c.command_id for c in self.sent if c.valid and c.command_type == DEPOSIT}
        wanted = len(deposits) if min_applied is None else min_applied
        reasons = report.failures(min_applied=max(1, wanted))
        if self.poison and self._poison_unsettled():
            reasons.append(f"poison records not dead-lettered: {self._poison_unsettled()}")
        if reasons:
            acks = acks_of(self.readers["replies"].records)
            errors = [a for a in acks if a.outcome is AckOutcome.ERROR]
            reasons += [f"error reply [{a.command_id}]: {a.error}" for a in errors[:5]]
            raise RunFailed(
                f"[{self.name}] "
                + "; ".join(reasons)
                + "\n"
                + report.summary()
                + "\n"
                + self.fleet.log_tail()
            )
        return report

"""The Cassandra journal against a raw cassandra-driver loop issuing the same statements.

Runs against the dev stack's Cassandra (``repertory devstack up``), in fresh keyspaces that
are dropped afterwards. Measures, in one run and one process:

- append: events/s across N entities in atomic writes of 1 and 10 events, fenced (unlogged
  batches grouped by replica, the journal) vs the same statements and batches sent by a raw
  driver loop; conditional (one CAS batch per write) vs the same raw CAS batches.
- replay: one entity's events (msgpack payloads) through ``journal.replay`` and decoded, vs a
  raw paged read of the same rows decoded with msgpack.

Usage: ``.venv/bin/python benchmarks/bench_cassandra_journal.py [--entities 10000]
[--replay-events 100000] [--rounds 3]``. Prints the settings, medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import msgpack
from cassandra.cluster import Session
from cassandra.query import BatchStatement, BatchType

from repertory.config import CassandraSettings
from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    JournalMode,
    PersistenceId,
    WriteOutcome,
)
from repertory.persistence.cassandra_batching import Sized, plan_batches, routing_key
from repertory.persistence.cassandra_journal import CassandraJournal
from repertory.persistence.cassandra_rows import bind_values, row_size
from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_session import CassandraSession

PAYLOAD = msgpack.packb({"amount": 17, "currency": "EUR", "note": "benchmark deposit"})
WRITES_PER_CALL = 500
"""Atomic writes handed to one ``append`` (what a write batcher flushes at once)."""


def event_data(i: int) -> EventData:
    return EventData(event_type="Deposited", payload=PAYLOAD, timestamp_ms=1_700_000_000_000 + i)


def make_writes(
    entities: int, per_write: int, epoch: int, tips: dict[int, ChainTip]
) -> list[AtomicWrite]:
    return [
        AtomicWrite(
            persistence_id=PersistenceId("bench", str(e)),
            writer_epoch=epoch,
            after=tips.get(e, ChainTip()),
            events=tuple(event_data(i) for i in range(per_write)),
        )
        for e in range(entities)
    ]


async def run_chunks(
    writes: Sequence[AtomicWrite], send: Callable[[Sequence[AtomicWrite]], Awaitable[int]]
) -> float:
    """Events/s over all writes, ``WRITES_PER_CALL`` per call, four calls in flight."""
    chunks = [writes[i : i + WRITES_PER_CALL] for i in range(0, len(writes), WRITES_PER_CALL)]
    gate = asyncio.Semaphore(4)

    async def one(chunk: Sequence[AtomicWrite]) -> int:
        async with gate:
            return await send(chunk)

    started = time.perf_counter()
    stored = sum(await asyncio.gather(*(one(c) for c in chunks)))
    elapsed = time.perf_counter() - started
    expected = sum(len(w.events) for w in writes)
    if stored != expected:
        raise RuntimeError(f"stored {stored} of {expected} events")
    return stored / elapsed


class RawLoop:
    """The same statements and batches as the journal, sent straight through the driver."""

    def __init__(self, journal: CassandraJournal) -> None:
        self.cassandra: CassandraSession = journal.session
        self.insert = journal._statements.insert_event
        self.set_head = journal._statements.set_head
        self.partition_size = journal.partition_size
        self.settings = self.cassandra.settings

    def _batch(self, write: AtomicWrite, batch: BatchStatement) -> None:
        partition = (write.first_seq_nr - 1) // self.partition_size
        for row in write.records(partition):
            batch.add(self.insert, bind_values(row))

    async def fenced(self, writes: Sequence[AtomicWrite]) -> int:
        sized = []
        for write in writes:
            partition = (write.first_seq_nr - 1) // self.partition_size
            size = sum(row_size(r) for r in write.records(partition))
            key = routing_key(str(write.persistence_id), partition)
            sized.append(Sized(write, key, size, len(write.events)))
        batches = plan_batches(
            sized,
            self.cassandra.cluster.metadata,
            self.settings.keyspace,
            max_bytes=self.settings.batch_max_bytes,
            max_statements=self.settings.batch_max_statements,
        )
        statements = []
        for group in batches:
            batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=4)
            for placed in group:
                self._batch(placed.item, batch)
            statements.append(batch)
        await asyncio.gather(*(self.cassandra.execute(b) for b in statements))
        return sum(len(w.events) for w in writes)

    async def conditional(self, writes: Sequence[AtomicWrite]) -> int:
        async def one(write: AtomicWrite) -> int:
            partition = (write.first_seq_nr - 1) // self.partition_size
            batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=4)
            self._batch(write, batch)
            expected = write.after.seq_nr if write.after.partition_nr == partition else None
            pid = str(write.persistence_id)
            batch.add(self.set_head, (write.last_seq_nr, pid, partition, expected))
            rows = await self.cassandra.execute(batch)
            return len(write.events) if rows[0][0] else 0

        return sum(await asyncio.gather(*(one(w) for w in writes)))


async def journal_send(journal: CassandraJournal, writes: Sequence[AtomicWrite]) -> int:
    results = await journal.append(writes)
    return sum(
        len(w.events)
        for w, r in zip(writes, results, strict=True)
        if r.outcome is WriteOutcome.STORED
    )


def fresh_keyspace(session: Session) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    create_schema(session, name)
    return name


async def bench_append(
    session: Session, base: CassandraSettings, mode: JournalMode, args: argparse.Namespace
) -> None:
    keyspace = fresh_keyspace(session)
    settings = base.model_copy(update={"keyspace": keyspace})
    journal = await CassandraJournal.open(settings, mode=mode, partition_size=500_000)
    raw = RawLoop(journal)
    raw_send = raw.fenced if mode is JournalMode.FENCED else raw.conditional
    entities = args.entities if mode is JournalMode.FENCED else args.entities // 5
    tips: dict[int, ChainTip] = {}
    try:
        for per_write in (1, 10):
            epoch = await journal.claim_epoch()
            journal_rates, raw_rates = [], []
            for _ in range(args.rounds):
                for label, send in (("raw", raw_send), ("journal", None)):
                    writes = make_writes(entities, per_write, epoch, tips)
                    if send is None:
                        rate = await run_chunks(writes, lambda c: journal_send(journal, c))
                        journal_rates.append(rate)
                    else:
                        rate = await run_chunks(writes, send)
                        raw_rates.append(rate)
                    last = writes[0].last_seq_nr
                    tips = {e: ChainTip(last, epoch, 0) for e in range(entities)}
                    del label
            report(
                f"append {mode.value:<11} {per_write:>2} ev/write, {entities} entities",
                journal_rates,
                raw_rates,
                "events/s",
            )
    finally:
        await journal.aclose()
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


async def bench_replay(session: Session, base: CassandraSettings, args: argparse.Namespace) -> None:
    keyspace = fresh_keyspace(session)
    settings = base.model_copy(update={"keyspace": keyspace})
    journal = await CassandraJournal.open(
        settings, mode=JournalMode.FENCED, partition_size=args.partition_size
    )
    pid = PersistenceId("bench", "replay")
    try:
        epoch = await journal.claim_epoch()
        tip = ChainTip()
        for start in range(0, args.replay_events, 100):
            write = AtomicWrite(
                persistence_id=pid,
                writer_epoch=epoch,
                after=tip,
                events=tuple(event_data(start + i) for i in range(100)),
            )
            tip = (await journal.append([write]))[0].tip or tip
        # The statement the journal's payload pass sends (every column of the rows).
        select = journal._statements.select_events

        async def via_journal() -> int:
            n = 0
            async for row in journal.replay(pid):
                msgpack.unpackb(row.payload)
                n += 1
            return n

        async def via_raw() -> int:
            n = 0
            last_partition = (args.replay_events - 1) // args.partition_size
            for partition in range(last_partition + 1):
                bound = select.bind((str(pid), partition, 1, args.replay_events))
                bound.fetch_size = settings.fetch_size
                async for row in journal.session.stream(bound):
                    msgpack.unpackb(row[6])
                    n += 1
            return n

        journal_rates, raw_rates = [], []
        for _ in range(args.rounds):
            for runner, rates in ((via_raw, raw_rates), (via_journal, journal_rates)):
                started = time.perf_counter()
                n = await runner()
                rates.append(n / (time.perf_counter() - started))
                if n != args.replay_events:
                    raise RuntimeError(f"replayed {n} of {args.replay_events}")
        report(
            f"replay one entity, {args.replay_events} events, partition_size {args.partition_size}",
            journal_rates,
            raw_rates,
            "events/s",
        )
    finally:
        await journal.aclose()
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


def report(what: str, journal: list[float], raw: list[float], unit: str) -> None:
    j, r = statistics.median(journal), statistics.median(raw)
    print(
        f"{what}: journal {j:,.0f} {unit}, raw {r:,.0f} {unit}, ratio {j / r:.2f}"
        f"  (rounds journal {[round(x) for x in journal]}, raw {[round(x) for x in raw]})",
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    base = CassandraSettings(contact_points=(args.host,), port=args.port)
    print(f"settings: {base.model_dump()}")
    print(
        f"entities {args.entities}, writes per append call {WRITES_PER_CALL}, "
        f"rounds {args.rounds}, payload {len(PAYLOAD)} B msgpack",
        flush=True,
    )
    admin = CassandraSession(base)
    await admin.connect()
    session = admin.session
    try:
        if "append" in args.only:
            await bench_append(session, base, JournalMode.FENCED, args)
            await bench_append(session, base, JournalMode.CONDITIONAL, args)
        if "replay" in args.only:
            await bench_replay(session, base, args)
    finally:
        await admin.aclose()


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19042)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--replay-events", type=int, default=100_000)
    parser.add_argument("--partition-size", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=["append", "replay"])
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))

"""The entity runtime on the real Cassandra: group commit and the write batcher, each measured
against its absence in the same run.

- group commit: one hot entity told ``--hot-commands`` deposits; writes gather up to
  ``group_commit_max_events`` events while one is in flight, vs ``group_commit_max_events=1``
  (one write, so one round trip, per command).
- batcher: ``--entities`` entities told ``--per-entity`` deposits each; the batcher hands the
  journal up to ``batcher_max_writes`` writes per call (grouped into multi-entity batches by the
  journal), vs ``batcher_max_writes=1`` (one journal call per write, up to 1024 calls at once —
  the most the settings allow, so the comparison is not about concurrency).

Entities are activated (one replay read each) before the clock starts, so the figures are
commands/s through mailbox → handler → journal write → reply. Runs in a fresh keyspace of the
dev stack's Cassandra (``repertory devstack up``), dropped afterwards; the journal is in fenced
mode (plain writes, the Kafka path's), one writer epoch.

Usage: ``.venv/bin/python benchmarks/bench_actors_cassandra.py [--entities 10000]
[--per-entity 2] [--hot-commands 3000] [--rounds 3]``. Prints settings, medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from repertory.actors import Effect, EntityRuntime, EntityType
from repertory.actors.journal_store import JournalEventStore
from repertory.config import CassandraSettings, EntitySettings
from repertory.persistence import JournalMode
from repertory.persistence.cassandra_journal import CassandraJournal
from repertory.persistence.cassandra_schema import create_schema
from repertory.persistence.cassandra_session import CassandraSession
from repertory.protocols import Command, Event, Serializer, TypeRegistry, message

ASK_WINDOW = 1000
"""Asks in flight at once while activating entities."""


@message("bench.Deposit")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    amount: int


@message("bench.Balance")
@dataclass(frozen=True, slots=True, kw_only=True)
class Balance(Command):
    pass


@message("bench.Deposited")
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposited(Event):
    amount: int


def on_command(state: int, command: Deposit | Balance) -> Effect[int, Deposited]:
    if isinstance(command, Deposit):
        return Effect.persist(Deposited(amount=command.amount)).then_reply(lambda s: s)
    return Effect.none().then_reply(lambda s: s)


ACCOUNT: EntityType[int, Deposit | Balance, Deposited] = EntityType(
    name="bench",
    empty_state=0,
    on_command=on_command,
    on_event=lambda state, event: state + event.amount,
)
SERIALIZER = Serializer(TypeRegistry(Deposit, Balance, Deposited))


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    settings: EntitySettings
    entities: int
    per_entity: int


@dataclass(frozen=True, slots=True)
class Measured:
    rate: float
    writes: int
    calls: int


async def run_case(journal: CassandraJournal, epoch: int, case: Case) -> Measured:
    """Commands/s of one case, on entities no earlier run touched."""
    store = JournalEventStore(journal, None, SERIALIZER, epoch)
    prefix = uuid.uuid4().hex[:8]
    async with EntityRuntime(store, [ACCOUNT], settings=case.settings) as runtime:
        refs = [runtime.ref(ACCOUNT, f"{prefix}-{i}") for i in range(case.entities)]
        for base in range(0, len(refs), ASK_WINDOW):  # activate: one replay read each
            await asyncio.gather(
                *(r.ask(Balance(), timeout=120) for r in refs[base : base + ASK_WINDOW])
            )
        before = runtime.batcher.statistics()
        started = time.perf_counter()
        for _ in range(case.per_entity):
            for ref in refs:
                await ref.tell(Deposit(amount=1))
        balances = await asyncio.gather(*(r.ask(Balance(), timeout=600) for r in refs))
        elapsed = time.perf_counter() - started
        after = runtime.batcher.statistics()
    if any(balance != case.per_entity for balance in balances):
        raise RuntimeError(f"{case.label}: balances {set(balances)} != {case.per_entity}")
    commands = case.entities * case.per_entity
    return Measured(
        commands / elapsed, after["writes"] - before["writes"], after["calls"] - before["calls"]
    )


async def compare(
    journal: CassandraJournal, epoch: int, ours: Case, without: Case, rounds: int
) -> None:
    results: dict[str, list[Measured]] = {ours.label: [], without.label: []}
    for _ in range(rounds):  # interleaved, so drift in the server hits both alike
        for case in (without, ours):
            results[case.label].append(await run_case(journal, epoch, case))
    medians = {}
    for case in (ours, without):
        runs = results[case.label]
        medians[case.label] = statistics.median(m.rate for m in runs)
        last = runs[-1]
        print(
            f"  {case.label:34} {medians[case.label]:10,.0f} commands/s  "
            f"(rounds {[round(m.rate) for m in runs]}; last round {last.writes} writes "
            f"in {last.calls} journal calls)",
            flush=True,
        )
    print(f"  ratio {medians[ours.label] / medians[without.label]:.1f}x", flush=True)


def cases(args: argparse.Namespace) -> list[tuple[str, Case, Case]]:
    base = EntitySettings(mailbox_size=1024, max_active_entities=1_000_000)
    no_group = base.model_copy(update={"group_commit_max_events": 1})
    no_batcher = base.model_copy(update={"batcher_max_writes": 1, "batcher_max_in_flight": 1024})
    return [
        (
            f"one hot entity, {args.hot_commands} deposits told",
            Case(
                f"group commit (max {base.group_commit_max_events} events)",
                base,
                1,
                args.hot_commands,
            ),
            Case("one write per command", no_group, 1, args.hot_commands),
        ),
        (
            f"{args.entities} entities, {args.per_entity} deposits told to each",
            Case(
                f"batcher ({base.batcher_max_writes} writes/call, "
                f"{base.batcher_max_in_flight} in flight)",
                base,
                args.entities,
                args.per_entity,
            ),
            Case(
                "no batcher (1 write/call, 1024 in flight)",
                no_batcher,
                args.entities,
                args.per_entity,
            ),
        ),
    ]


async def main(args: argparse.Namespace) -> None:
    base = CassandraSettings(contact_points=(args.host,), port=args.port)
    keyspace = f"bench_{uuid.uuid4().hex[:10]}"
    settings = base.model_copy(update={"keyspace": keyspace})
    print(f"settings: cassandra {args.host}:{args.port} keyspace {keyspace} (dropped after)")
    print(
        f"  journal fenced, consistency {settings.write_consistency}/{settings.read_consistency}, "
        f"batch_max_bytes {settings.batch_max_bytes}, batch_max_statements "
        f"{settings.batch_max_statements}; rounds {args.rounds} (medians), mailbox 1024",
        flush=True,
    )
    admin = CassandraSession(base)
    await admin.connect()
    try:
        create_schema(admin.session, keyspace)
        journal = await CassandraJournal.open(
            settings, mode=JournalMode.FENCED, partition_size=args.partition_size
        )
        try:
            epoch = await journal.claim_epoch()
            for title, ours, without in cases(args):
                print(title, flush=True)
                await compare(journal, epoch, ours, without, args.rounds)
        finally:
            await journal.aclose()
    finally:
        admin.session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        await admin.aclose()


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19042)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--per-entity", type=int, default=2)
    parser.add_argument("--hot-commands", type=int, default=3000)
    parser.add_argument("--partition-size", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))

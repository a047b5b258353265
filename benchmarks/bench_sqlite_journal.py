"""SQLite journal appends with group commit across many entities, beside a raw sqlite3 loop.

Each round writes one event to each of ``--entities`` entities: the journal gets them as
concurrent ``append`` calls of ``--batch`` writes each (as the write batcher sends them), which
its writer thread commits in groups; the raw loop inserts the same rows with ``executemany``
in one transaction per ``--batch`` rows. Prints settings, median events/s and the ratio.

    .venv/bin/python benchmarks/bench_sqlite_journal.py [--entities 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from repertory.persistence import (
    AtomicWrite,
    ChainTip,
    EventData,
    JournalMode,
    PersistenceId,
    SqliteJournal,
    WriteOutcome,
)
from repertory.persistence._sqlite_schema import EVENT_COLUMNS, encode_event
from repertory.persistence._sqlite_thread import connect

PAYLOAD = b"\x82\xa6amount\xcd\x03\xe8\xa8currency\xa3EUR"


def _writes(pids: list[PersistenceId], tips: list[ChainTip], epoch: int) -> list[AtomicWrite]:
    return [
        AtomicWrite(
            persistence_id=pid,
            writer_epoch=epoch,
            after=tip,
            events=(
                EventData(
                    event_type="Deposited",
                    payload=PAYLOAD,
                    timestamp_ms=1_700_000_000_000 + tip.seq_nr,
                    command_id=f"{pid}:{tip.seq_nr + 1}",
                ),
            ),
        )
        for pid, tip in zip(pids, tips, strict=True)
    ]


async def _journal_round(
    journal: SqliteJournal, pids: list[PersistenceId], tips: list[ChainTip], batch: int
) -> tuple[float, list[ChainTip]]:
    epoch = 1
    writes = _writes(pids, tips, epoch)
    started = time.perf_counter()
    chunks = [writes[i : i + batch] for i in range(0, len(writes), batch)]
    answers = await asyncio.gather(*(journal.append(chunk) for chunk in chunks))
    elapsed = time.perf_counter() - started
    results = [result for answer in answers for result in answer]
    assert all(result.outcome is WriteOutcome.STORED for result in results)
    return len(writes) / elapsed, [result.tip for result in results if result.tip]


async def bench_journal(
    path: Path, synchronous: str, entities: int, rounds: int, batch: int
) -> float:
    journal = await SqliteJournal.open(
        path, mode=JournalMode.FENCED, synchronous=synchronous,  # type: ignore[arg-type]
        max_group_writes=entities,
    )  # fmt: skip
    try:
        assert await journal.claim_epoch() == 1
        pids = [PersistenceId("account", str(i)) for i in range(entities)]
        tips = [ChainTip() for _ in pids]
        rates = []
        for _ in range(rounds):
            rate, tips = await _journal_round(journal, pids, tips, batch)
            rates.append(rate)
        return statistics.median(rates)
    finally:
        await journal.aclose()


def bench_raw(path: Path, synchronous: str, entities: int, rounds: int, batch: int) -> float:
    connection = connect(path, synchronous, 5.0)
    connection.execute(
        f"CREATE TABLE events ({EVENT_COLUMNS}, "
        "PRIMARY KEY (persistence_id, partition_nr, seq_nr, writer_epoch)) WITHOUT ROWID"
    )
    pids = [PersistenceId("account", str(i)) for i in range(entities)]
    tips = [ChainTip() for _ in pids]
    insert = f"INSERT OR REPLACE INTO events VALUES ({', '.join('?' * 15)})"
    rates = []
    for _ in range(rounds):
        writes = _writes(pids, tips, 1)
        started = time.perf_counter()
        for i in range(0, len(writes), batch):
            rows = [
                encode_event(row) for write in writes[i : i + batch] for row in write.records(0)
            ]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(insert, rows)
            connection.execute("COMMIT")
        rates.append(len(writes) / (time.perf_counter() - started))
        tips = [ChainTip(t.seq_nr + 1, 1, 0) for t in tips]
    connection.close()
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="writes per append call")
    args = parser.parse_args()
    print(
        f"sqlite {sqlite3.sqlite_version}, WAL, fenced mode, 1 event per write, "
        f"{args.entities} entities x {args.rounds} rounds, {args.batch} writes per append"
    )
    for synchronous in ("NORMAL", "FULL"):
        with tempfile.TemporaryDirectory() as directory:
            base = Path(directory)
            journal = asyncio.run(
                bench_journal(
                    base / "journal.db", synchronous, args.entities, args.rounds, args.batch
                )
            )
            raw = bench_raw(base / "raw.db", synchronous, args.entities, args.rounds, args.batch)
        print(f"synchronous={synchronous:<6} journal {journal:>10,.0f} events/s   "
              f"raw sqlite3 {raw:>10,.0f} events/s   ratio {journal / raw:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""One batch at a time into one partition, by batch size: the journal's connection settings
(``build_cluster``, with ``TCP_NODELAY``) beside the same cluster with Nagle's algorithm left on,
as the driver does by default.

With Nagle's algorithm on, a request written in more than one piece waits for the server's
delayed ACK before its last piece leaves, so a batch above a few rows takes about 40 ms on
loopback. Runs against the dev stack's Cassandra (``repertory devstack up``) in a fresh
keyspace, dropped afterwards; the two clusters alternate, size by size.

Usage: ``.venv/bin/python benchmarks/bench_cassandra_batches.py [--sizes 1,10,50,100,256]
[--batches 30]``. Prints the median latency per size for each.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Sequence

from cassandra.cluster import Cluster, Session
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from repertory.config import CassandraSettings
from repertory.persistence.cassandra_session import build_cluster, consistency

PAYLOAD = b"x" * 60


def connect(settings: CassandraSettings, nagle: bool) -> tuple[Cluster, Session]:
    cluster = build_cluster(settings)
    if nagle:
        cluster.sockopts = []  # read at connect, like the constructor's argument
    return cluster, cluster.connect()


def median_ms(
    session: Session, insert: PreparedStatement, rows: int, batches: int, first: int
) -> float:
    """Median milliseconds of ``batches`` batches of ``rows`` rows, each awaited in turn."""
    level = consistency("QUORUM")
    seconds = []
    seq = first
    for _ in range(batches):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=level)
        for _ in range(rows):
            seq += 1
            batch.add(insert, ("entity", seq, PAYLOAD))
        started = time.perf_counter()
        session.execute(batch)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19042)
    parser.add_argument("--sizes", default="1,10,50,100,256", help="rows per batch")
    parser.add_argument("--batches", type=int, default=30, help="batches per size and side")
    args = parser.parse_args(argv)
    settings = CassandraSettings(contact_points=(args.host,), port=args.port)
    keyspace = f"bench_{uuid.uuid4().hex[:10]}"
    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"settings: cassandra {args.host}:{args.port} keyspace {keyspace} (dropped after), "
        f"QUORUM, {len(PAYLOAD)}-byte payloads, {args.batches} batches per size and side"
    )
    sides = {"TCP_NODELAY (journal)": connect(settings, False), "Nagle on": connect(settings, True)}
    first_session = next(iter(sides.values()))[1]
    first_session.execute(
        f"CREATE KEYSPACE {keyspace} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    try:
        first_session.execute(
            f"CREATE TABLE {keyspace}.rows (id text, seq bigint, payload blob, "
            "PRIMARY KEY (id, seq))"
        )
        cql = f"INSERT INTO {keyspace}.rows (id, seq, payload) VALUES (?, ?, ?)"
        inserts = {name: session.prepare(cql) for name, (_, session) in sides.items()}
        print(f"{'rows per batch':>14}  " + "  ".join(f"{name:>22}" for name in sides))
        seq = 0
        for rows in sizes:
            cells = []
            for name, (_, session) in sides.items():
                cells.append(median_ms(session, inserts[name], rows, args.batches, seq))
                seq += rows * args.batches
            print(f"{rows:>14}  " + "  ".join(f"{ms:>19.2f} ms" for ms in cells), flush=True)
    finally:
        first_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        for cluster, _ in sides.values():
            cluster.shutdown()


if __name__ == "__main__":
    main()

"""Microseconds per encode/decode of a small command through the protocols codec, beside raw
msgpack on an equivalent dict, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_codec.py [--number N] [--repeat R]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import msgpack

from repertory.protocols import Command, Serializer, TypeRegistry, message


@message("bench.Deposit", version=1)
@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    account: str
    amount: Decimal
    at: datetime
    reference: UUID
    note: str | None = None


def _timings_us(fn: Callable[[], object], number: int, repeat: int) -> tuple[float, float]:
    """(median, best) microseconds per call; best shows the cost on a quiet machine."""
    runs = [run / number * 1e6 for run in timeit.repeat(fn, number=number, repeat=repeat)]
    return statistics.median(runs), min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000, help="calls per repetition")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions; the median is shown")
    args = parser.parse_args()

    serializer = Serializer(TypeRegistry(Deposit))
    command = Deposit(
        account="42",
        amount=Decimal("125.50"),
        at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        reference=UUID(int=7),
        note="rent",
    )
    name, version, payload = serializer.encode_message(command)
    assert serializer.decode_message(name, version, payload) == command
    plain = {
        "account": "42",
        "amount": "125.50",
        "at": 1714566600000,
        "reference": UUID(int=7).bytes,
        "note": "rent",
    }
    packed = msgpack.packb(plain)
    unpack_options = serializer.limits.unpack_options()

    rows = [
        ("encode", lambda: serializer.encode(command), lambda: msgpack.packb(plain)),
        (
            "decode",
            lambda: serializer.decode_message(name, version, payload),
            lambda: msgpack.unpackb(packed, **unpack_options),
        ),
    ]
    print(
        f"python {platform.python_version()} msgpack {msgpack.version} on {sys.platform}; "
        f"median of {args.repeat} x {args.number} calls; payload {len(payload)} B, "
        f"raw dict {len(packed)} B; limits {serializer.limits}"
    )
    for label, ours, raw in rows:
        ours_us, ours_best = _timings_us(ours, args.number, args.repeat)
        raw_us, raw_best = _timings_us(raw, args.number, args.repeat)
        print(
            f"{label}: codec {ours_us:6.2f} us (best {ours_best:5.2f})   "
            f"raw msgpack {raw_us:6.2f} us (best {raw_best:5.2f})   "
            f"ratio {ours_us / raw_us:4.1f}x median, {ours_best / raw_best:4.1f}x best"
        )


if __name__ == "__main__":
    main()

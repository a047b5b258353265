"""The engine's hold on the garbage collector (``process.gc = "tuned"``).

An engine keeps a large heap that lives as long as it does (clients, codecs, entities, their
states and dedupe windows) and, under load, thousands of commands in flight, each a handful of
objects that live for milliseconds to a second. CPython's thresholds (a young collection every
700 allocations; older generations every tenth of those, the whole heap once it has grown by a
quarter) made the Kafka engine rescan that heap over and over. Offered 6,900 commands/s
(``bench_engine.py --entities 10000 --skip-throughput --rate 6900 --warm-latency``), it
answered with a median of 64 ms tuned and 3.7 s with ``--default-gc``: it could not keep up.
Freezing what start-up made keeps it out of every collection; collecting the youngest
generation every ``young_threshold`` allocations lets most in-flight objects die before a
collection walks them: 300,000 drained 200,000 commands at 16.0k/s where 100,000 did 14.3k/s
(``--entities 10000 --commands 200000 --gc-young N``, medians of three alternated runs). The
engine's hot paths make no reference cycles, so collecting rarely leaves little garbage
waiting.

Holds nest (several engines in one process): the first tunes the collector, the last gives back
the thresholds it found, and unfreezes only if nothing was frozen before it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["tuned_collector"]

MIDDLE_EVERY = 20
"""Young collections per collection of the middle generation."""

OLDEST_EVERY = 10
"""Middle collections per full one (CPython also waits for the long-lived heap to grow by a
quarter)."""


class _Hold:
    __slots__ = ("count", "froze", "thresholds")

    def __init__(self) -> None:
        self.count = 0
        self.froze = False
        self.thresholds: tuple[int, int, int] = gc.get_threshold()


_lock = threading.Lock()
_hold = _Hold()


@contextmanager
def tuned_collector(young_threshold: int) -> Iterator[None]:
    """Tune the process's collector while the block runs (see the module doc)."""
    with _lock:
        if _hold.count == 0:
            _hold.thresholds = gc.get_threshold()
            _hold.froze = gc.get_freeze_count() == 0
            gc.collect()
            gc.freeze()
            gc.set_threshold(young_threshold, MIDDLE_EVERY, OLDEST_EVERY)
        _hold.count += 1
    try:
        yield
    finally:
        with _lock:
            _hold.count -= 1
            if _hold.count == 0:
                gc.set_threshold(*_hold.thresholds)
                if _hold.froze:
                    gc.unfreeze()

"""Settings of the ``process`` section: what an engine sets for the whole Python process."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from repertory.config._base import Section


class ProcessSettings(Section):
    gc: Literal["tuned", "untouched"] = "tuned"
    """``tuned``: while an engine runs, the garbage collector leaves alone what existed when it
    started and collects young objects every ``gc_young_threshold`` allocations; with
    CPython's defaults the Kafka engine spent its time collecting and fell behind its load.
    ``untouched``: the collector stays as the host application set it. Default tuned."""

    gc_young_threshold: int = Field(default=300_000, ge=700, le=100_000_000)
    """Allocations between collections of the youngest generation when ``gc`` is ``tuned``.
    Default 300,000."""

"""Every scenario by name, in the order the suite and the soak run them."""

from __future__ import annotations

from repertory.testing.chaos._result import Scenario
from repertory.testing.chaos._scenarios_embedded import conditional_race, sqlite_kill
from repertory.testing.chaos._scenarios_faults import (
    cassandra_pause,
    cassandra_restart,
    kafka_restart,
    rebalance_zombie,
    worker_kills,
)
from repertory.testing.chaos._scenarios_input import (
    duplicates_hot_entity,
    jammed_entity,
    poison_records,
)

__all__ = ["SCENARIOS"]

SCENARIOS: dict[str, Scenario] = {
    "worker_kills": worker_kills,
    "cassandra_pause": cassandra_pause,
    "cassandra_restart": cassandra_restart,
    "kafka_restart": kafka_restart,
    "rebalance_zombie": rebalance_zombie,
    "duplicates_hot": duplicates_hot_entity,
    "poison": poison_records,
    "jammed_entity": jammed_entity,
    "sqlite_kill": sqlite_kill,
    "conditional_race": conditional_race,
}
"""Scenario name → ``async (settings, stack) -> ScenarioResult``."""

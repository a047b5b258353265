"""The bank as a repertory application: ``repertory run examples.bank.app``.

What the CLI reads here (see ``repertory.cli_commands._apps``): the entity types, the message
registry, settings defaults (below the settings file, the environment and flags), and the
engine factory each worker process calls under ``--workers N``.

Run it embedded (SQLite ``bank.sqlite3`` in the current directory)::

    repertory run examples.bank.app

or on Kafka and Cassandra (``repertory devstack up``, ``repertory schema create``)::

    REPERTORY_KAFKA__ENABLED=true REPERTORY_JOURNAL__BACKEND=cassandra \\
    REPERTORY_JOURNAL__MODE=fenced repertory run examples.bank.app --workers 2
"""

from __future__ import annotations

from typing import Any

from examples.bank.domain import ACCOUNT, REGISTRY, TRANSFER
from repertory.engine import Engine

__all__ = ["DEFAULTS", "ENTITIES", "REGISTRY", "engine"]

ENTITIES = (ACCOUNT, TRANSFER)

DEFAULTS: dict[str, dict[str, Any]] = {"journal": {"sqlite_path": "bank.sqlite3"}}


def engine() -> Engine:
    """The bank's engine with settings from the file and environment over ``DEFAULTS``: what
    each ``--workers`` process runs."""
    from repertory.cli_commands import app_engine

    return app_engine(__name__)

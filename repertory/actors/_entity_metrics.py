"""One entity type's actor metrics, with its label children looked up once.

The runtime builds one per hosted type when it records metrics, and every entity of the type
holds it (``Entity.metrics``; None when nothing is recorded, so the per-command cost is one
``is None`` test). Stop and restart reasons are a small fixed vocabulary, never an error text:
a label value per distinct message would grow without limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

from repertory.observability._metric_common import observe_many
from repertory.observability.metrics import ActorMetrics

__all__ = ["RESTART_REASON", "EntityMetrics", "StopReason"]

StopReason = Literal[
    "handler_failed",
    "restarts_exhausted",
    "escalated",
    "recovery_failed",
    "stop_effect",
    "released",
    "shutdown",
]
"""Why an entity left memory other than by passivation. ``handler_failed``: its supervision is
``Stop``; ``restarts_exhausted``: more failures than its restart strategy allows; ``escalated``:
its supervision is ``Escalate`` (the runtime fails too); ``recovery_failed``: its snapshot or
replay could not be read; ``stop_effect``: a command's ``Effect.stop``; ``released``: its
ownership moved (a Kafka partition revoked); ``shutdown``: the runtime stopped."""

RESTART_REASON: Final = "handler_failed"
"""The one cause of a restart: a handler raised (or returned something not an ``Effect``)."""


class EntityMetrics:
    """The actor metrics of one entity type (see the module doc)."""

    __slots__ = (
        "_activations",
        "_active",
        "_actors",
        "_command_seconds",
        "_entity_type",
        "_passivations",
        "mailbox_depth",
    )

    def __init__(self, actors: ActorMetrics, entity_type: str) -> None:
        self._actors = actors
        self._entity_type = entity_type
        self._active: Gauge = actors.active.labels(entity_type)
        self._activations: Counter = actors.activations.labels(entity_type)
        self._passivations: Counter = actors.passivations.labels(entity_type)
        self._command_seconds: Histogram = actors.command_seconds.labels(entity_type)
        self.mailbox_depth: Histogram = actors.mailbox_depth.labels(entity_type)
        """Observed per arriving command: the messages already waiting in its mailbox."""

    def activated(self) -> None:
        self._activations.inc()
        self._active.inc()

    def passivated(self) -> None:
        self._passivations.inc()
        self._active.dec()

    def stopped(self, reason: StopReason) -> None:
        self._actors.stopped(self._entity_type, reason)

    def restarted(self) -> None:
        self._actors.restarts.labels(self._entity_type, RESTART_REASON).inc()

    def handled(self, seconds: float) -> None:
        """One command's effect is done ``seconds`` after it arrived."""
        self._command_seconds.observe(seconds)

    def handled_many(self, seconds: Iterable[float]) -> None:
        """``handled`` for every command of one acknowledged write, in one pass."""
        observe_many(self._command_seconds, seconds)

"""A command on its way through an entity: the command, its identity, and who waits for it."""

from __future__ import annotations

import asyncio
from typing import Any

from repertory.actors._effect import Effect
from repertory.actors._store import CommandSource

__all__ = ["Delivery", "Rejection", "settle", "settle_error"]


class Rejection:
    """A reply that the asker receives raised: a business refusal from ``Effect.reject``."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Rejection({self.error!r})"


class Delivery:
    """One command in a mailbox and, once run, its outcome until that is sent.

    ``attempts`` counts runs undone by a rejected write; ``future`` is set for asks only;
    ``arrived`` is the clock's time it reached its entity, kept only while metrics are recorded
    (``timestamp`` is the command's own time, which may be far older).

    The outcome is set by each run (``run_command``): ``state_after`` and ``reply``,
    ``last_seq_nr`` (of its last event, 0 if it wrote none), ``after`` (its effect when it has
    side effects or emitted commands, else None) and ``duplicates`` (later deliveries of the
    same command id that wait for this one's reply). It lives on the delivery, not in a record
    of its own, so that a command held for group commit costs one object, not two.
    """

    __slots__ = (
        "after",
        "arrived",
        "attempts",
        "command",
        "command_id",
        "duplicates",
        "future",
        "last_seq_nr",
        "reply",
        "source",
        "state_after",
        "timestamp",
    )

    # The outcome, set by each run (not in ``__init__``: an unrun delivery has none).
    state_after: Any
    reply: Any
    last_seq_nr: int
    after: Effect[Any, Any] | None
    duplicates: list[Delivery] | None

    def __init__(
        self,
        command: Any,
        command_id: str,
        source: CommandSource | None,
        timestamp: float,
        future: asyncio.Future[Any] | None,
    ) -> None:
        self.command = command
        self.command_id = command_id
        self.source = source
        self.timestamp = timestamp
        self.future = future
        self.attempts = 0
        self.arrived = 0.0

    def __repr__(self) -> str:
        return f"Delivery({type(self.command).__name__}, command_id={self.command_id!r})"


def settle(delivery: Delivery, reply: Any) -> None:
    """Answer an ask (a ``Rejection`` is raised to the asker); tells and late answers drop."""
    future = delivery.future
    if future is None or future.done():
        return
    if isinstance(reply, Rejection):
        future.set_exception(reply.error)
    else:
        future.set_result(reply)


def settle_error(delivery: Delivery, error: BaseException) -> None:
    """Fail an ask with ``error``; tells and late answers drop."""
    future = delivery.future
    if future is not None and not future.done():
        future.set_exception(error)

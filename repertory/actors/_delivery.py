"""A command on its way through an entity: the command, its identity, and who waits for it."""

from __future__ import annotations

import asyncio
from typing import Any

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
    """One command in a mailbox.

    ``attempts`` counts runs undone by a rejected write; ``future`` is set for asks only;
    ``arrived`` is the clock's time it reached its entity, kept only while metrics are recorded
    (``timestamp`` is the command's own time, which may be far older).
    """

    __slots__ = ("arrived", "attempts", "command", "command_id", "future", "source", "timestamp")

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

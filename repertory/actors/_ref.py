"""References to entities: ``tell`` (fire and forget, with backpressure) and ``ask``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from repertory.actors._delivery import Delivery
from repertory.actors._store import CommandSource
from repertory.errors import AskTimeout

if TYPE_CHECKING:
    from repertory.actors._entity import Entity
    from repertory.actors._entity_type import EntityType
    from repertory.actors._runtime import EntityRuntime

__all__ = ["ActorRef"]

C = TypeVar("C")


class ActorRef(Generic[C]):
    """Addresses one entity of one type; cheap to create, valid across passivation.

    The entity is created (recovered) on first use and stays addressable after it is
    passivated: the next command recovers it again.
    """

    __slots__ = ("_entity_type", "_runtime", "entity_id")

    def __init__(
        self, runtime: EntityRuntime, entity_type: EntityType[Any, C, Any], entity_id: str
    ) -> None:
        self._runtime = runtime
        self._entity_type = entity_type
        self.entity_id = entity_id

    @property
    def persistence_id(self) -> str:
        return self._entity_type.persistence_id(self.entity_id)

    def __repr__(self) -> str:
        return f"ActorRef({self.persistence_id!r})"

    async def tell(
        self,
        command: C,
        *,
        command_id: str = "",
        source: CommandSource | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Queue ``command``; waits while the entity's mailbox is full (never drops).

        Args:
            command_id: identifies the command for dedupe ("" for none).
            source: the Kafka record it came from, if any (for offset dedupe).
            timestamp: the command's time (seconds since the epoch); default: the clock's now.

        Raises:
            ActorDeadError: the runtime is stopped (or draining).
        """
        runtime = self._runtime
        now = runtime.clock.now()
        delivery = Delivery(
            command, command_id, source, now if timestamp is None else timestamp, None
        )
        full = runtime.offer(self._entity_type, self.entity_id, delivery, now)
        if full is not None:
            await runtime.put(self._entity_type, self.entity_id, delivery, full)

    async def ask(
        self,
        command: C,
        *,
        timeout: float,  # noqa: ASYNC109 - pykka's vocabulary; timed on the runtime's clock
        command_id: str = "",
        source: CommandSource | None = None,
        timestamp: float | None = None,
    ) -> Any:
        """Send ``command`` and wait for the reply (the time waiting for mailbox space counts).

        Returns:
            The reply of ``then_reply`` (or the stored reply of a duplicate), ``NO_REPLY`` if
            the effect set none.

        Raises:
            AskTimeout: no reply within ``timeout`` seconds.
            ActorDeadError: the entity stopped or failed before answering.
            WriteRejected: its write was rejected more often than the retry limit allows.
            WriteOutcomeUnknown: the entity stopped while its write's outcome was unknown.
            Exception: the error of an ``Effect.reject``.
        """
        runtime = self._runtime
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        now = runtime.clock.now()
        delivery = Delivery(
            command, command_id, source, now if timestamp is None else timestamp, future
        )
        try:
            full = runtime.offer(self._entity_type, self.entity_id, delivery, now)
            if full is not None:
                return await self._ask_when_full(command, delivery, full, timeout)
            if not future.done():  # else answered at once: no deadline needed
                deadlines = runtime.ask_deadlines
                deadlines.add(timeout, future, self, command)
                try:
                    await future
                finally:
                    deadlines.ended(timeout)
            return future.result()
        finally:
            # A refusal raised from here holds this frame in its traceback: without these
            # names the frame no longer holds the future that holds the refusal, so no
            # reference cycle is left for the garbage collector.
            del future, delivery

    async def _ask_when_full(
        self,
        command: C,
        delivery: Delivery,
        full: Entity,
        timeout: float,  # noqa: ASYNC109
    ) -> Any:
        """Wait for room in the entity's mailbox, then for the reply; both within ``timeout``."""
        runtime = self._runtime
        future = delivery.future
        assert future is not None
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            if not future.done():
                expired = True
                task.cancel()

        timer = runtime.clock.call_later(timeout, expire)
        try:
            await runtime.put(self._entity_type, self.entity_id, delivery, full)
            return await future
        except asyncio.CancelledError:
            if expired and task.uncancel() == 0:
                raise AskTimeout(
                    f"no reply from [{self.persistence_id}] within [{timeout}]s "
                    f"to [{type(command).__name__}]"
                ) from None
            raise
        finally:
            timer.cancel()
            if not future.done():
                future.cancel()

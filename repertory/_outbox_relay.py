"""The outbox relay: emitted commands of an embedded engine delivered to the local entities.

An entity's emitted commands are written to the journal's outbox in the same transaction as the
events that emit them. Once such a write is stored the runtime hands them to :meth:`emitted`
(its ``on_emit``), and the relay delivers them at once, in process, as they were built — no read
of the table, no decoding. A row is marked delivered only after its target acknowledged the
command (the delivery's reply settled, a business refusal included); the marks of many
deliveries share one transaction. So a crash at any point leaves undelivered rows behind, and
a target recognises a repeat by the command's derived id.

The table itself is read (:meth:`sweep`) on start-up, for what an earlier run left, then every
``sweep_interval`` seconds, or ``retry_interval`` after a delivery failed, for rows nothing is
delivering: those whose delivery failed, or whose write was stored while its entity was
stopping. A sweep skips rows this relay is delivering or marking.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import Any

from repertory.actors import Delivery, Emit, EntityRuntime
from repertory.errors import ActorDeadError, ActorError, ProtocolError
from repertory.observability import get_logger
from repertory.persistence import Outbox
from repertory.protocols import Command, Serializer

__all__ = ["OutboxRelay"]

_log = get_logger("repertory.engine")
_PAGE = 500
_Target = tuple[str, str, str, Any]
"""``(message id, entity type, entity id, command)``."""


class OutboxRelay:
    """Delivers emitted commands from an embedded journal's outbox to the local entities.

    Built before the runtime (whose ``on_emit`` is :meth:`emitted`), then :meth:`attach` ed to it.

    Args:
        outbox: the journal's outbox.
        serializer: decodes rows read from the table.
        sweep_interval: seconds between reads of the table.
        retry_interval: seconds before the table is read again after a delivery failed.
    """

    def __init__(
        self,
        outbox: Outbox,
        serializer: Serializer,
        *,
        sweep_interval: float = 1.0,
        retry_interval: float = 0.05,
    ) -> None:
        self.outbox = outbox
        self.runtime: EntityRuntime | None = None
        self.serializer = serializer
        self.sweep_interval = sweep_interval
        self.retry_interval = retry_interval
        self.delivered = 0
        self.swept = 0
        self._handed: list[_Target] = []
        self._scheduled = False
        self._busy: set[str] = set()  # being delivered, or acknowledged and not yet marked
        self._acked: list[str] = []
        self._marks_waiting = asyncio.Event()
        self._failed = asyncio.Event()

    def __repr__(self) -> str:
        return f"OutboxRelay(delivered={self.delivered}, busy={len(self._busy)})"

    def attach(self, runtime: EntityRuntime) -> None:
        """Deliver to ``runtime``'s entities."""
        self.runtime = runtime

    async def run(self) -> None:
        """Sweep the table (first at once), and mark what was acknowledged; until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._mark_loop())
            group.create_task(self._sweep_loop())

    # -- in process -----------------------------------------------------------------------------

    def emitted(self, source: str, seq_nr: int, numbered: tuple[tuple[str, Emit], ...]) -> None:
        """The runtime's ``on_emit``: commands of a stored write, delivered on the next turn
        (never inside the emitting entity's own callback)."""
        self._handed.extend((i, e.entity_type, e.entity_id, e.command) for i, e in numbered)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._deliver_handed)

    def _deliver_handed(self) -> None:
        self._scheduled = False
        handed, self._handed = self._handed, []
        self._deliver_all(handed)

    def _deliver_all(self, targets: Iterable[_Target]) -> None:
        runtime = self.runtime
        assert runtime is not None, "attach the relay to the runtime first"
        loop = asyncio.get_running_loop()
        now = runtime.clock.now()
        busy = self._busy
        for message_id, type_name, entity_id, command in targets:
            if message_id in busy:
                continue
            try:
                entity_type = runtime.entity_type(type_name)
            except ValueError as exc:
                self._undeliverable(message_id, exc)
                continue
            future: asyncio.Future[Any] = loop.create_future()
            delivery = Delivery(command, message_id, None, now, future)
            busy.add(message_id)
            future.add_done_callback(functools.partial(self._settled, message_id))
            try:
                full = runtime.offer(entity_type, entity_id, delivery)
                if full is not None:
                    runtime.spawn(self._put(entity_type, entity_id, delivery, full))
            except ActorError as exc:
                if not future.done():
                    future.set_exception(exc)

    async def _put(self, entity_type: Any, entity_id: str, delivery: Delivery, full: Any) -> None:
        """Wait for room in a full mailbox (the entity's backpressure)."""
        assert self.runtime is not None
        try:
            await self.runtime.put(entity_type, entity_id, delivery, full)
        except ActorError as exc:
            future = delivery.future
            if future is not None and not future.done():
                future.set_exception(exc)

    def _settled(self, message_id: str, future: asyncio.Future[Any]) -> None:
        error = future.exception() if not future.cancelled() else ActorDeadError("cancelled")
        if isinstance(error, ActorError):  # not handled: a sweep delivers it again
            self._busy.discard(message_id)
            self._failed.set()
            return
        # A reply, or a business refusal: the command was handled.
        self._acked.append(message_id)
        self._marks_waiting.set()

    def _undeliverable(self, message_id: str, error: Exception) -> None:
        _log.error("outbox entry dropped", message_id=message_id, error=repr(error))
        self._busy.add(message_id)
        self._acked.append(message_id)
        self._marks_waiting.set()

    # -- marks ----------------------------------------------------------------------------------

    async def _mark_loop(self) -> None:
        while True:
            await self._marks_waiting.wait()
            self._marks_waiting.clear()
            acked, self._acked = self._acked, []
            try:
                await self.outbox.mark_delivered_messages(acked)
            except Exception as exc:  # unmarked rows are delivered again later: harmless
                _log.warning("outbox marks not stored", count=len(acked), error=repr(exc))
                self._busy.difference_update(acked)
                await asyncio.sleep(self.retry_interval)
                continue
            self.delivered += len(acked)
            self._busy.difference_update(acked)

    # -- the table ------------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            self._failed.clear()
            try:
                await self.sweep()
            except Exception as exc:  # the journal is unavailable: try again later
                _log.warning("outbox not read", error=repr(exc))
            try:
                await asyncio.wait_for(self._failed.wait(), self.sweep_interval)
            except TimeoutError:
                continue
            await asyncio.sleep(self.retry_interval)

    async def sweep(self) -> int:
        """Deliver every undelivered row nothing is delivering or marking; returns how many."""
        after, found = 0, 0
        while True:
            page = await self.outbox.outbox_pending(max_count=_PAGE, after_position=after)
            targets = [self._target(r.entry) for r in page if r.entry.message_id not in self._busy]
            ready = [t for t in targets if t is not None]
            self._deliver_all(ready)
            found += len(ready)
            if len(page) < _PAGE:
                break
            after = page[-1].position
        self.swept += found
        return found

    def _target(self, entry: Any) -> _Target | None:
        try:
            type_name, _, entity_id = entry.destination.partition("|")
            command = self.serializer.decode_message(
                entry.message_type, entry.schema_version, entry.payload, Command
            )
        except (ProtocolError, ValueError) as exc:  # undeliverable forever: log, mark done
            self._undeliverable(entry.message_id, exc)
            return None
        return entry.message_id, type_name, entity_id, command

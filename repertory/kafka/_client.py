"""Asks and tells through the commands topic, and the replies that come back.

In Kafka mode an embedding service's commands take the same road as everyone's: produced to
the commands topic (murmur2 on the persistence id, so they reach the entity's one owner), with
the replies topic as reply-to for asks. One consumer reads the replies topic from its end,
outside any group, and settles the waiting asks by command id; replies to other engines' asks
on the same topic are skipped.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from repertory.config import KafkaSettings
from repertory.errors import AskTimeout, InputRejected
from repertory.kafka._edge import consumer_options, topic_partitions
from repertory.kafka._replies import ReplyEnvelope, decode_reply, reply_value
from repertory.kafka._transactions import producer_options
from repertory.observability import get_logger
from repertory.protocols import CommandEnvelope, Serializer, encode_command

__all__ = ["CommandClient"]

_log = get_logger("repertory.kafka.client")


class CommandClient:
    """Produces commands and correlates replies (start with ``start``, end with ``stop``).

    ``client_options`` are the TLS and SASL options (``kafka_client_options``) of both clients.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        serializer: Serializer,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.serializer = serializer
        secured = client_options or {}
        self._producer = AIOKafkaProducer(**producer_options(settings), **secured)
        self._replies = AIOKafkaConsumer(**consumer_options(settings), **secured)
        self._waiting: dict[str, asyncio.Future[ReplyEnvelope]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the producer and read the replies topic from its current end."""
        await self._producer.start()
        await self._replies.start()
        topic = self.settings.replies_topic
        count = await topic_partitions(self._replies, topic)
        tps = [TopicPartition(topic, p) for p in range(count)]
        self._replies.assign(tps)
        await self._replies.seek_to_end(*tps)
        for tp in tps:  # settle the positions now: a reply produced after this is seen
            await self._replies.position(tp)
        self._task = asyncio.create_task(self._read_replies(), name="kafka-replies")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        await self._replies.stop()
        await self._producer.stop()

    async def tell(self, envelope: CommandEnvelope) -> None:
        """Produce ``envelope`` and wait until the broker has it."""
        await self._send(envelope)

    async def ask(self, envelope: CommandEnvelope, timeout: float) -> Any:  # noqa: ASYNC109
        """Produce ``envelope`` (its ``reply_to`` set) and wait for its reply.

        Raises:
            AskTimeout: no reply within ``timeout`` seconds.
            CommandFailed: the entity rejected the command or it was given up on.
        """
        future: asyncio.Future[ReplyEnvelope] = asyncio.get_running_loop().create_future()
        self._waiting[envelope.command_id] = future
        try:
            await self._send(envelope)
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError:
            raise AskTimeout(
                f"no reply to [{envelope.command_id}] for [{envelope.persistence_id}] "
                f"within [{timeout}]s"
            ) from None
        finally:
            self._waiting.pop(envelope.command_id, None)
        return reply_value(self.serializer, reply)

    async def _send(self, envelope: CommandEnvelope) -> None:
        delivery = await self._producer.send(
            self.settings.commands_topic,
            encode_command(envelope),
            key=envelope.key(),
            headers=envelope.headers(),
        )
        await delivery

    async def _read_replies(self) -> None:
        limits = self.serializer.limits
        while True:
            fetched = await self._replies.getmany(timeout_ms=200)
            for records in fetched.values():
                for record in records:
                    try:
                        reply = decode_reply(record.value, limits)
                    except InputRejected as exc:
                        _log.warning(
                            "unreadable reply skipped", offset=record.offset, error=str(exc)
                        )
                        continue
                    future = self._waiting.get(reply.command_id)
                    if future is not None and not future.done():
                        future.set_result(reply)

"""``repertory send``, ``tail`` and ``republish``: commands in, state changes out, on Kafka."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from repertory.cli_commands._apps import App, load_app
from repertory.cli_commands._context import echo_json, fail, run_async, settings_of
from repertory.cli_commands._journals import JOURNAL_OPTION, open_journal
from repertory.cli_commands._payloads import decode_payload, jsonable
from repertory.cli_commands._progress import progress
from repertory.config import Settings
from repertory.errors import RepertoryError
from repertory.persistence import MAX_SEQ_NR, PersistenceId
from repertory.protocols import CommandEnvelope, Serializer, StateChange

__all__ = ["republish", "send", "tail"]

_APP = click.option(
    "--app",
    "app_module",
    metavar="MODULE",
    default=None,
    help="Application module whose registry encodes and decodes messages.",
)


@click.command()
@click.argument("entity_type")
@click.argument("entity_id")
@click.argument("message_type")
@click.argument("fields", default="{}")
@click.option(
    "--app",
    "app_module",
    metavar="MODULE",
    default="examples.bank.app",
    show_default=True,
    help="Application module whose registry encodes the command.",
)
@click.option("--wait", is_flag=True, help="Wait for the reply and print it (JSON).")
@click.option(
    "--timeout", type=float, default=None, help="Seconds --wait waits (kafka.ask_timeout)."
)
@click.option(
    "--command-id", default=None, help="Command id (resend with the same id: applied once)."
)
@click.pass_context
def send(
    ctx: click.Context,
    entity_type: str,
    entity_id: str,
    message_type: str,
    fields: str,
    app_module: str,
    wait: bool,
    timeout: float | None,
    command_id: str | None,
) -> None:
    """Produce one command to the commands topic (FIELDS is a JSON object).

    The command is keyed by its persistence id, so it reaches its entity's one owner. Prints
    one JSON line: {"command_id": ...}, with --wait also "reply" (from kafka.replies_topic).
    A command its entity refuses prints "rejected": {"error_class", "error"} instead and exits
    with code 1; no reply within --timeout exits with code 1 too (resend it with the same
    --command-id: it is applied at most once).

    \b
    Examples:
      repertory send account 42 bank.account.Open '{"owner": "ada"}' --wait
      repertory send account 42 bank.account.Deposit '{"amount": 500}' --wait
      repertory send transfer t1 bank.transfer.Request \\
          '{"transfer_id": "t1", "source": "42", "target": "43", "amount": 100}'
    """
    settings = settings_of(ctx).settings
    app = load_app(app_module)
    command = _build(app, message_type, fields)
    ident = command_id or uuid.uuid4().hex
    reply = run_async(_send(settings, app, entity_type, entity_id, command, ident, wait, timeout))
    if isinstance(reply, _Refusal):
        echo_json({"command_id": ident, "rejected": reply.as_dict()}, pretty=False)
        raise fail(f"[{entity_type}|{entity_id}] rejected the command: {reply.message}")
    if wait:
        echo_json({"command_id": ident, "reply": _reply_json(reply)}, pretty=False)
        return
    echo_json({"command_id": ident}, pretty=False)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A command the entity refused (or gave up on), as its reply said."""

    error_class: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"error_class": self.error_class, "error": self.message}


def _reply_json(reply: Any) -> Any:
    from repertory.actors import NO_REPLY

    return None if reply is NO_REPLY else jsonable(reply)


def _build(app: App, message_type: str, fields: str) -> Any:
    try:
        values = json.loads(fields)
        entry = app.registry.lookup(message_type)
    except (ValueError, RepertoryError) as exc:
        raise click.BadParameter(f"{exc}", param_hint="MESSAGE_TYPE / FIELDS") from exc
    if not isinstance(values, dict):
        raise click.BadParameter("FIELDS must be a JSON object", param_hint="FIELDS")
    try:
        return entry.cls(**values)
    except TypeError as exc:
        raise click.BadParameter(f"[{message_type}]: {exc}", param_hint="FIELDS") from exc


async def _send(
    settings: Settings,
    app: App,
    entity_type: str,
    entity_id: str,
    command: Any,
    command_id: str,
    wait: bool,
    wait_s: float | None,
) -> Any:
    from repertory.kafka import CommandClient, CommandFailed
    from repertory.kafka.tools import client_options

    serializer = Serializer(app.registry)
    type_name, version, payload = serializer.encode_message(command)
    envelope = CommandEnvelope(
        command_id=command_id,
        entity_type=entity_type,
        entity_id=entity_id,
        message_type=type_name,
        schema_version=version,
        timestamp_ms=int(time.time() * 1000),
        payload=payload,
        reply_to=settings.kafka.replies_topic if wait else None,
    )
    client = CommandClient(settings.kafka, serializer, client_options(settings.kafka_security))
    try:
        await client.start()
        if not wait:
            await client.tell(envelope)
            return None
        return await client.ask(envelope, wait_s or settings.kafka.ask_timeout)
    except CommandFailed as exc:
        return _Refusal(exc.error_class, str(exc).split(f"[{exc.error_class}] ", 1)[-1])
    finally:
        await client.stop()


@click.command()
@_APP
@click.option("--replies", is_flag=True, help="Also print replies (kafka.replies_topic).")
@click.option("--dead-letters", is_flag=True, help="Also print dead letters with their reasons.")
@click.option(
    "--since",
    "since",
    default=None,
    metavar="TIME",
    help="Start at this ISO 8601 time (e.g. 2025-01-31T12:00:00+00:00).",
)
@click.option(
    "--offset",
    type=int,
    default=None,
    help="Start at this offset in every partition; negative: that many from the end.",
)
@click.option("--no-follow", is_flag=True, help="Stop once no record came for a second.")
@click.pass_context
def tail(
    ctx: click.Context,
    app_module: str | None,
    replies: bool,
    dead_letters: bool,
    since: str | None,
    offset: int | None,
    no_follow: bool,
) -> None:
    """Print state changes (and optionally replies and dead letters) as JSON lines.

    Default: new records from now on. Records of aborted transactions are never shown
    (read_committed). Consumers dedupe state changes by (persistence_id, seq_nr).

    \b
    Examples:
      repertory tail --app examples.bank.app
      repertory tail --offset -20 --no-follow | jq .event_type
      repertory tail --since 2025-01-31T12:00:00+00:00 --dead-letters
    """
    settings = settings_of(ctx).settings
    serializer = Serializer(load_app(app_module).registry) if app_module else None
    kafka = settings.kafka
    topics = [kafka.state_changes_topic]
    topics += [kafka.replies_topic] if replies else []
    topics += [kafka.dead_letters_topic] if dead_letters else []
    start = int(datetime.fromisoformat(since).timestamp() * 1000) if since else None
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a followed tail: exit 0
        run_async(_tail(settings, serializer, topics, start, offset, not no_follow))


async def _tail(
    settings: Settings,
    serializer: Serializer | None,
    topics: list[str],
    start_ms: int | None,
    offset: int | None,
    follow: bool,
) -> None:
    from repertory.kafka.tools import read_topic

    records = read_topic(
        settings.kafka,
        settings.kafka_security,
        topics,
        from_timestamp_ms=start_ms,
        from_offset=offset,
        follow=follow,
    )
    async for record in records:
        echo_json(_describe(settings, serializer, record), pretty=False)


def _describe(settings: Settings, serializer: Serializer | None, record: Any) -> dict[str, Any]:
    from repertory.kafka import dead_letter_info, decode_reply
    from repertory.protocols import decode_state_change

    kafka = settings.kafka
    where = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "key": (record.key or b"").decode(errors="replace"),
    }
    try:
        if record.topic == kafka.state_changes_topic:
            change = decode_state_change(record.key, record.value, record.headers)
            _, payload = decode_payload(
                serializer, change.event_type, change.schema_version, change.payload
            )
            return {**where, **jsonable(change), "payload": payload}
        if record.topic == kafka.replies_topic:
            reply = decode_reply(record.value)
            shown = {**where, **jsonable(reply)}
            if reply.message_type:  # a typed body, or plain msgpack: both decode
                _, shown["payload"] = decode_payload(
                    serializer, reply.message_type, reply.schema_version, reply.payload
                )
            return shown
        return {**where, "dead_letter": dead_letter_info(record.headers)}
    except RepertoryError as exc:
        return {**where, "undecodable": str(exc)}


@click.command()
@click.argument("entity_type")
@click.argument("entity_id")
@click.option("--from", "from_seq", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--to",
    "to_seq",
    type=click.IntRange(min=1),
    default=None,
    help="Last seq_nr (default: the end).",
)
@JOURNAL_OPTION
@click.pass_context
def republish(
    ctx: click.Context,
    entity_type: str,
    entity_id: str,
    from_seq: int,
    to_seq: int | None,
    journal_file: Path | None,
) -> None:
    """Publish an entity's journaled events in a seq_nr range to the state-changes topic again.

    For a consumer that lost its view: the records are the journal's canonical events exactly
    as first published (same seq_nr, epoch, command id); consumers dedupe by
    (persistence_id, seq_nr).

    \b
    Examples:
      repertory republish account 42                 # everything
      repertory republish account 42 --from 100 --to 250
    """
    settings = settings_of(ctx).settings
    pid = PersistenceId(entity_type, entity_id)
    sent = run_async(_republish(settings, journal_file, pid, from_seq, to_seq or MAX_SEQ_NR))
    click.echo(f"{pid}: {sent} state change(s) published to [{settings.kafka.state_changes_topic}]")


async def _republish(
    settings: Settings, journal_file: Path | None, pid: PersistenceId, first: int, last: int
) -> int:
    from repertory.kafka import EgressEncoder
    from repertory.kafka.tools import publish_changes

    async with open_journal(settings, journal_file) as journal:
        highest = await journal.highest_seq_nr(pid)
        total = max(0, min(highest, last) - first + 1)

        async def changes() -> AsyncIterator[StateChange]:
            with progress(total, desc=f"republishing {pid}", unit="event") as bar:
                async for row in journal.replay(pid, first, last):
                    bar.update(1)
                    yield EgressEncoder.journaled_change(row)

        return await publish_changes(settings.kafka, settings.kafka_security, changes())

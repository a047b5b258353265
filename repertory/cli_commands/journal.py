"""``repertory replay`` and ``repertory journal check``: reading a journal offline."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from repertory.cli_commands._apps import App, load_app
from repertory.cli_commands._context import EXIT_FAILED, echo_json, run_async, settings_of
from repertory.cli_commands._journals import JOURNAL_OPTION, open_journal
from repertory.cli_commands._payloads import decode_payload, jsonable
from repertory.cli_commands._progress import progress
from repertory.config import Settings
from repertory.persistence import MAX_SEQ_NR, EventRecord, PersistenceId
from repertory.protocols import Serializer

__all__ = ["journal_group", "replay"]

_APP_OPTION = click.option(
    "--app",
    "app_module",
    metavar="MODULE",
    help="Application module (e.g. examples.bank.app): decode payloads with its registry and "
    "fold its entity's on_event into states.",
)


@click.command()
@click.argument("entity_type")
@click.argument("entity_id")
@_APP_OPTION
@click.option(
    "--from",
    "from_seq",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="First seq_nr to show.",
)
@click.option(
    "--to",
    "to_seq",
    type=click.IntRange(min=1),
    default=None,
    help="Last seq_nr to replay (default: the end); the state shown is the one there.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines: one per event, then the state.")
@click.option("--states", is_flag=True, help="With --app: show the state after every event.")
@JOURNAL_OPTION
@click.pass_context
def replay(
    ctx: click.Context,
    entity_type: str,
    entity_id: str,
    app_module: str | None,
    from_seq: int,
    to_seq: int | None,
    as_json: bool,
    states: bool,
    journal_file: Path | None,
) -> None:
    """Show an entity's journaled events and its state at any seq_nr (SQLite or Cassandra).

    Events are the canonical chain, as the engine replays them: rows that a superseded writer
    left are not shown (`repertory journal check` lists them).

    \b
    Examples:
      repertory replay account 42 --journal bank.sqlite3
      repertory replay account 42 --app examples.bank.app --to 17     # the state at seq_nr 17
      repertory replay account 42 --app examples.bank.app --json | jq .state
      REPERTORY_JOURNAL__BACKEND=cassandra repertory replay account 42 --from 100
    """
    settings = settings_of(ctx).settings
    app = load_app(app_module) if app_module else None
    pid = PersistenceId(entity_type, entity_id)
    if app is not None:
        app.entity_type(entity_type)  # fails early, listing the types it has
    run_async(
        _replay(
            settings,
            journal_file,
            app,
            pid,
            from_seq,
            to_seq or MAX_SEQ_NR,
            as_json=as_json,
            states=states,
        )
    )


async def _replay(
    settings: Settings,
    journal_file: Path | None,
    app: App | None,
    pid: PersistenceId,
    from_seq: int,
    to_seq: int,
    *,
    as_json: bool,
    states: bool,
) -> None:
    serializer = Serializer(app.registry) if app else None
    entity = app.entity_type(pid.entity_type) if app else None
    state = entity.empty_state if entity else None
    last = 0
    async with open_journal(settings, journal_file) as journal:
        highest = await journal.highest_seq_nr(pid)
        start = 1 if entity else from_seq
        total = max(0, min(highest, to_seq) - start + 1)
        with progress(total, desc=f"replaying {pid}", unit="event") as bar:
            async for row in journal.replay(pid, start, to_seq):
                message, shown = decode_payload(
                    serializer, row.event_type, row.schema_version, row.payload
                )
                if entity is not None and message is not None:
                    state = entity.on_event(state, message)
                last = row.seq_nr
                bar.update(1)
                if row.seq_nr >= from_seq:
                    _show_event(row, shown, state if states else None, as_json)
                if row.seq_nr % 2048 == 0:
                    await asyncio.sleep(0)
    _show_end(pid, last, highest, state if entity else None, as_json)


def _show_event(row: EventRecord, payload: Any, state: Any, as_json: bool) -> None:
    line: dict[str, Any] = {
        "seq_nr": row.seq_nr,
        "writer_epoch": row.writer_epoch,
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "timestamp_ms": row.timestamp_ms,
        "command_id": row.command_id,
        "payload": payload,
    }
    if state is not None:
        line["state"] = jsonable(state)
    if as_json:
        echo_json(line, pretty=False)
        return
    extra = f"  → {jsonable(state)}" if state is not None else ""
    click.echo(f"{row.seq_nr:>8}  e{row.writer_epoch:<4} {row.event_type:<32} {payload}{extra}")


def _show_end(pid: PersistenceId, last: int, highest: int, state: Any, as_json: bool) -> None:
    summary = {"persistence_id": str(pid), "seq_nr": last, "highest_seq_nr": highest}
    if state is not None:
        summary["state"] = jsonable(state)
    if as_json:
        echo_json(summary, pretty=False)
        return
    click.echo(f"{pid}: replayed to seq_nr {last} of {highest}")
    if state is not None:
        click.echo(f"state: {jsonable(state)}")


@click.group("journal")
def journal_group() -> None:
    """Checks on a journal (SQLite or Cassandra).

    \b
    Examples:
      repertory journal check --journal bank.sqlite3
      repertory journal check account/42 --json
    """


@journal_group.command("check")
@click.argument("entities", nargs=-1, metavar="[TYPE|ID]...")
@click.option("--json", "as_json", is_flag=True, help="One JSON document: dropped rows per entity.")
@JOURNAL_OPTION
@click.pass_context
def check(
    ctx: click.Context, entities: tuple[str, ...], as_json: bool, journal_file: Path | None
) -> None:
    """List rows outside the canonical chain, per entity (exit code 1 when there are any).

    Such rows are what a superseded writer (a zombie) wrote after the next owner took over:
    never replayed, never published. A few after a failover are expected; any without one
    deserve a look. Without ENTITIES every entity is scanned (a full scan on Cassandra).

    \b
    Examples:
      repertory journal check --journal bank.sqlite3
      repertory journal check 'account|42' 'account|43' --json
    """
    settings = settings_of(ctx).settings
    pids = [_parse_pid(text) for text in entities]
    report = run_async(_check(settings, journal_file, pids))
    if as_json:
        echo_json(report)
    else:
        for pid, rows in report.items():
            click.echo(f"{pid}: {len(rows)} dropped row(s)")
            for row in rows:
                click.echo(
                    f"  seq_nr {row['seq_nr']} epoch {row['writer_epoch']} "
                    f"{row['event_type']} command {row['command_id']}"
                )
        dropped = sum(len(rows) for rows in report.values())
        click.echo(f"{dropped} dropped row(s) in {sum(1 for r in report.values() if r)} entities")
    if any(report.values()):
        ctx.exit(EXIT_FAILED)


def _parse_pid(text: str) -> PersistenceId:
    try:
        return PersistenceId.parse(text)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; write entities as TYPE|ID, e.g. 'account|42'") from exc


async def _check(
    settings: Settings, journal_file: Path | None, pids: list[PersistenceId]
) -> dict[str, list[dict[str, Any]]]:
    async with open_journal(settings, journal_file) as journal:
        if pids:
            found: dict[PersistenceId, tuple[EventRecord, ...]] = {}
            with progress(len(pids), desc="checking", unit="entity") as bar:
                for pid in pids:
                    found.update(await journal.check(pid))
                    bar.update(1)
        else:
            found = await journal.check()
    return {
        str(pid): [
            {
                "seq_nr": row.seq_nr,
                "writer_epoch": row.writer_epoch,
                "prev_epoch": row.prev_epoch,
                "event_type": row.event_type,
                "command_id": row.command_id,
                "timestamp_ms": row.timestamp_ms,
            }
            for row in rows
        ]
        for pid, rows in sorted(found.items())
    }

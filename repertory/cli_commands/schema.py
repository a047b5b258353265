"""``repertory schema create|show``: the journal's Cassandra keyspace and tables."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import click

from repertory.cli_commands._context import echo_json, run_async, settings_of
from repertory.config import CassandraSettings
from repertory.errors import JournalUnavailable

__all__ = ["schema_group"]

_KEYSPACE_CQL = "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {options}"
_LIVE_REPLICATION = "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s"
_LIVE_TABLES = "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s"


def _replication_options(fn: Any) -> Any:
    fn = click.option(
        "--replication-factor",
        "-r",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="SimpleStrategy replication factor (one data centre).",
    )(fn)
    fn = click.option(
        "--dc",
        "per_dc",
        multiple=True,
        metavar="NAME=RF",
        help="NetworkTopologyStrategy: replicas per data centre (repeat per DC); wins over -r.",
    )(fn)
    return fn


def _replication(replication_factor: int, per_dc: tuple[str, ...]) -> dict[str, Any]:
    from repertory.persistence.cassandra_schema import replication_options

    dcs: dict[str, int] = {}
    for item in per_dc:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.isdigit() or int(value) < 1:
            raise click.BadParameter(f"[{item}] is not NAME=RF (e.g. dc1=3)", param_hint="--dc")
        dcs[name] = int(value)
    return replication_options(replication_factor, dcs or None)


def _cql_map(options: Mapping[str, Any]) -> str:
    """A replication map as a CQL literal (numbers bare, names quoted)."""
    items = (f"'{k}': {v if isinstance(v, int) else repr(str(v))}" for k, v in options.items())
    return "{" + ", ".join(items) + "}"


@click.group("schema")
def schema_group() -> None:
    """The journal's Cassandra keyspace: create it, or show it.

    The keyspace is the `cassandra.keyspace` setting; replication is chosen here, once (changing
    it later is an `ALTER KEYSPACE` and a repair, the operator's decision). Reads and writes
    run at QUORUM by default, which needs a replication factor the cluster can serve.

    \b
    Examples:
      repertory schema show                         # the CQL `create` runs
      repertory schema create                       # development: SimpleStrategy, RF 1
      repertory schema create --dc dc1=3 --dc dc2=3 # production: NetworkTopologyStrategy
      REPERTORY_CASSANDRA__KEYSPACE=bank repertory schema show --live --json
    """


@schema_group.command("create")
@_replication_options
@click.pass_context
def create(ctx: click.Context, replication_factor: int, per_dc: tuple[str, ...]) -> None:
    """Create the keyspace (if absent) and every journal table; idempotent.

    An existing keyspace keeps its replication; the tables that exist are left alone. The
    journal records its mode and partitioning on the engine's first start.

    \b
    Examples:
      repertory schema create
      repertory schema create --dc dc1=3
    """
    settings = settings_of(ctx).settings.cassandra
    options = _replication(replication_factor, per_dc)
    run_async(_create(settings, options))
    click.echo(f"keyspace [{settings.keyspace}] ready, replication {options}")


async def _create(settings: CassandraSettings, options: Mapping[str, Any]) -> None:
    from repertory.persistence.cassandra_schema import create_schema
    from repertory.persistence.cassandra_session import CassandraSession

    session = CassandraSession(settings)
    await session.connect()
    try:
        await asyncio.to_thread(create_schema, session.session, settings.keyspace, options)
    except Exception as exc:
        raise JournalUnavailable(f"cannot create keyspace [{settings.keyspace}]: {exc}") from exc
    finally:
        await session.aclose()


@schema_group.command("show")
@_replication_options
@click.option("--live", is_flag=True, help="Also ask the cluster what the keyspace holds now.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.pass_context
def show(
    ctx: click.Context,
    replication_factor: int,
    per_dc: tuple[str, ...],
    live: bool,
    as_json: bool,
) -> None:
    """Print the CQL that `schema create` runs; with --live, the keyspace as it is now.

    \b
    Examples:
      repertory schema show > schema.cql            # review, or run with cqlsh
      repertory schema show --dc dc1=3
      repertory schema show --live --json | jq .live.replication
    """
    from repertory.persistence.cassandra_schema import schema_statements

    settings = settings_of(ctx).settings.cassandra
    options = _replication(replication_factor, per_dc)
    statements = [
        _KEYSPACE_CQL.format(keyspace=settings.keyspace, options=_cql_map(options)),
        *schema_statements(settings.keyspace),
    ]
    found = run_async(_live(settings)) if live else None
    if as_json:
        echo_json(
            {
                "keyspace": settings.keyspace,
                "replication": options,
                "statements": statements,
                "live": found,
            }
        )
        return
    for statement in statements:
        click.echo(statement.rstrip(";") + ";\n")
    if found is not None:
        click.echo(f"-- live: {found}")


async def _live(settings: CassandraSettings) -> dict[str, Any]:
    from repertory.persistence.cassandra_schema import record_from_values, record_select
    from repertory.persistence.cassandra_session import CassandraSession

    session = CassandraSession(settings)
    await session.connect()
    try:
        rows = await session.execute(_LIVE_REPLICATION, (settings.keyspace,))
        if not rows:
            return {"exists": False}
        tables = sorted(r[0] for r in await session.execute(_LIVE_TABLES, (settings.keyspace,)))
        record = None
        if "keyspace_metadata" in tables:
            recorded = await session.execute(record_select(settings.keyspace))
            record = record_from_values(recorded[0]) if recorded else None
        return {
            "exists": True,
            "replication": dict(rows[0][0]),
            "tables": tables,
            "journal": None
            if record is None
            else {
                "mode": record.mode,
                "partition_size": record.partition_size,
                "commands_partitions": record.commands_partitions,
            },
        }
    finally:
        await session.aclose()

"""The ``repertory`` command line: thin verbs over the engine, the journal and the dev stack.

The root group and the ``devstack`` verbs live here; every other verb is implemented in
``repertory.cli_commands`` and registered below. Exit codes scripts can rely on: 0 success,
1 the operation failed (or a check found a problem), 2 bad usage or settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from repertory._version import __version__
from repertory.cli_commands._context import CliContext
from repertory.devstack import SERVER_NAMES, DevStack
from repertory.errors import RepertoryError


class _Group(click.Group):
    """Turns repertory errors into one clear line and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RepertoryError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="repertory")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML settings file (default: $REPERTORY_CONFIG, else ./repertory.toml if present).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "console"]),
    help="Log lines as JSON objects or readable text.",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None, log_format: str | None) -> None:
    """repertory: event-sourced entities on Kafka and Cassandra.

    \b
    Settings come from defaults < TOML file < REPERTORY_<SECTION>__<FIELD> < flags.
    \b
    Exit codes: 0 done; 1 failed, or a check found a problem; 2 bad usage or settings.
    \b
    Examples:
      repertory demo                # the bank, embedded: throughput, a crash, a recovery check
      repertory run examples.bank.app
      repertory send account 42 bank.account.Deposit '{"amount": 500}' --wait
      repertory replay account 42 --app examples.bank.app
      repertory inspect skew --png skew.png
      repertory devstack up         # start the local Kafka and Cassandra
    """
    ctx.obj = CliContext(config, log_format)


_SERVER = click.Choice(["kafka", "cassandra"])


def _stack(ctx: click.Context) -> DevStack:
    settings = ctx.find_object(CliContext)
    assert settings is not None, "the main group sets the context object"
    return DevStack(settings.settings.devstack, echo=lambda line: click.echo(line, err=True))


@main.group()
def devstack() -> None:
    """The local Kafka and Cassandra for development and tests (Java 17 + Maven, no Docker).

    \b
    Jars come from Maven Central into devstack.cache_dir (once per version); configuration,
    data, logs and pid files live in devstack.state_dir. Ports are settings; a second stack
    beside the first: REPERTORY_DEVSTACK__PORT_OFFSET=100 repertory devstack up
    \b
    Examples:
      repertory devstack up                 # start both (running ones are left alone)
      repertory devstack status --json
      repertory devstack logs kafka -n 100
      repertory devstack restart cassandra
      repertory devstack down --purge       # stop both and delete their data
    """


@devstack.command()
@click.argument("servers", nargs=-1, type=_SERVER)
@click.option(
    "--fresh",
    is_flag=True,
    help="Servers this command starts begin with empty data (running ones keep theirs).",
)
@click.pass_context
def up(ctx: click.Context, servers: tuple[str, ...], fresh: bool) -> None:
    """Start SERVERS (default both) and wait until each serves a real client round trip.

    \b
    Examples:
      repertory devstack up
      repertory devstack up kafka
      repertory devstack up --fresh         # what the test suite does: no old data
    """
    for report in _stack(ctx).up(servers or SERVER_NAMES, fresh=fresh):
        if report.already_running:
            click.echo(f"{report.name:<10} {report.address:<16} already running (pid {report.pid})")
        else:
            click.echo(
                f"{report.name:<10} {report.address:<16} serving after "
                f"{report.seconds or 0:.1f} s (pid {report.pid})"
            )


@devstack.command()
@click.argument("servers", nargs=-1, type=_SERVER)
@click.option("--purge", is_flag=True, help="Also delete the servers' data and logs.")
@click.pass_context
def down(ctx: click.Context, servers: tuple[str, ...], purge: bool) -> None:
    """Stop SERVERS (default both): SIGTERM, then SIGKILL if they do not stop in time.

    \b
    Examples:
      repertory devstack down
      repertory devstack down --purge       # the next `up` starts with empty servers
    """
    for name, outcome in _stack(ctx).down(servers or SERVER_NAMES, purge=purge).items():
        click.echo(f"{name:<10} {outcome}")


@devstack.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show each server: running/paused/stopped, pid, address, resident memory.

    \b
    Examples:
      repertory devstack status
      repertory devstack status --json | jq '.[0].rss_mb'
    """
    statuses = _stack(ctx).status()
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    for s in statuses:
        pid = "-" if s.pid is None else str(s.pid)
        rss = "-" if s.rss_mb is None else f"{s.rss_mb:.0f} MB"
        click.echo(f"{s.name:<10} {s.state:<8} pid {pid:<8} {s.address:<16} rss {rss}")


@devstack.command()
@click.argument("servers", nargs=-1, type=_SERVER)
@click.option("-n", "--lines", default=50, show_default=True, help="Lines from each log's end.")
@click.pass_context
def logs(ctx: click.Context, servers: tuple[str, ...], lines: int) -> None:
    """Print the end of the servers' logs (default both).

    \b
    Examples:
      repertory devstack logs
      repertory devstack logs cassandra -n 200
    """
    stack = _stack(ctx)
    for name in servers or SERVER_NAMES:
        click.echo(f"==> {stack.server(name).log_file} <==")
        click.echo(stack.logs(name, lines))


@devstack.command()
@click.argument("server", type=_SERVER)
@click.pass_context
def restart(ctx: click.Context, server: str) -> None:
    """Stop one server and start it again, keeping its data.

    \b
    Examples:
      repertory devstack restart kafka
    """
    report = _stack(ctx).restart(server)
    click.echo(
        f"{report.name:<10} {report.address:<16} serving after "
        f"{report.seconds or 0:.1f} s (pid {report.pid})"
    )


@main.command()
@click.option("--duration", default="30m", show_default=True, help="How long: 90s, 30m, 2h.")
@click.option("--scenario", "scenarios", multiple=True, help="Only these (repeatable).")
@click.option("--profile", type=click.Choice(["soak", "ci"]), default="soak", show_default=True)
@click.option("--seed", type=int, default=None, help="Seed of every random choice.")
@click.pass_context
def chaos(
    ctx: click.Context, duration: str, scenarios: tuple[str, ...], profile: str, seed: int | None
) -> None:
    """Fault-injection soak on the dev stack: scenarios in a loop, each judged by the history
    checker (repertory.testing.chaos). Pauses and restarts the stack's servers.

    \b
    Examples:
      repertory chaos --duration 30m
      repertory chaos --duration 5m --scenario kafka_restart --scenario rebalance_zombie
    """
    from repertory.testing.chaos import soak_command

    ctx.exit(soak_command(_stack(ctx), duration, scenarios, profile, seed, click.echo))


def _register() -> None:
    """Add the verbs implemented in ``repertory.cli_commands``."""
    from repertory.cli_commands.demo import demo_command
    from repertory.cli_commands.docs import settings_command
    from repertory.cli_commands.engine_verbs import run
    from repertory.cli_commands.inspect import inspect_group
    from repertory.cli_commands.journal import journal_group, replay
    from repertory.cli_commands.kafka_verbs import republish, send, tail
    from repertory.cli_commands.schema import schema_group

    for command in (
        demo_command,
        run,
        send,
        tail,
        replay,
        republish,
        journal_group,
        schema_group,
        inspect_group,
        settings_command,
    ):
        main.add_command(command)


_register()

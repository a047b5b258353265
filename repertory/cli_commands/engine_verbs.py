"""``repertory run``: an application's engine, in this process or as N worker processes."""

from __future__ import annotations

import asyncio
import os
import signal

import click

from repertory.cli_commands._apps import App, load_app
from repertory.cli_commands._context import settings_of
from repertory.config import Settings

__all__ = ["run"]


@click.command()
@click.argument("app_module", metavar="APP")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1, 256),
    default=None,
    help="Run N Thespian-supervised worker processes, each with its own engine "
    "(default: one engine in this process).",
)
@click.pass_context
def run(ctx: click.Context, app_module: str, workers: int | None) -> None:
    """Run APP's engine until SIGTERM or Ctrl-C, then drain and stop.

    APP is a module defining ENTITIES, REGISTRY and optionally DEFAULTS (settings) and an
    `engine()` factory (needed by --workers). On Kafka (kafka.enabled) each engine joins the
    consumer group of the commands topic; embedded, the engine serves its metrics endpoint and
    the embedding API only.

    \b
    Examples:
      repertory run examples.bank.app
      REPERTORY_KAFKA__ENABLED=true REPERTORY_JOURNAL__BACKEND=cassandra \\
      REPERTORY_JOURNAL__MODE=fenced repertory run examples.bank.app --workers 4
    """
    root = settings_of(ctx)
    app = load_app(app_module)
    settings = root.load(defaults=app.defaults)
    if workers is None:
        asyncio.run(_serve(app, settings))
        return
    _workers(app, settings, workers, root.config)


async def _serve(app: App, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with app.engine(settings) as engine:
        mode = "Kafka" if engine.kafka_mode else "embedded"
        click.echo(
            f"{app.module}: engine running ({mode}, entity types "
            f"{[t.name for t in app.entities]}); Ctrl-C to stop",
            err=True,
        )
        await stop.wait()
        click.echo("stopping: draining in-flight commands", err=True)


def _workers(app: App, settings: Settings, count: int, config: object) -> None:
    from repertory.workers import run_workers

    module = __import__(app.module, fromlist=["engine"])
    if not callable(getattr(module, "engine", None)):
        raise click.UsageError(
            f"[{app.module}] defines no engine() factory, which --workers needs: add "
            "`def engine(): return app_engine(__name__)` (from repertory.cli_commands)"
        )
    if config is not None:  # the workers read settings themselves: hand them the file
        os.environ["REPERTORY_CONFIG"] = str(config)
    click.echo(f"{app.module}: starting {count} worker processes; Ctrl-C to stop", err=True)
    slots = run_workers(settings.workers, app.worker_factory, count=count)
    for slot in slots:
        click.echo(f"worker {slot.slot}: {slot.state.value}", err=True)

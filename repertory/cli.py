"""The ``repertory`` command line: thin verbs over the engine, the journal and the dev stack.

Exit codes scripts can rely on: 0 success, 1 the operation failed, 2 bad usage or settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repertory._version import __version__
from repertory.config import Settings, load_settings
from repertory.errors import ConfigError, RepertoryError
from repertory.observability import configure_logging


class _Context:
    """Settings are loaded lazily so ``--help`` works even with a broken settings file."""

    def __init__(self, config: Path | None, log_format: str | None) -> None:
        self._config = config
        self._log_format = log_format
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides: dict[str, dict[str, Any]] = {}
            if self._log_format:
                overrides["logging"] = {"format": self._log_format}
            try:
                self._settings = load_settings(self._config, overrides)
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from exc
            configure_logging(self._settings.logging.format, self._settings.logging.level)
        return self._settings


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
    Examples:
      repertory --version
      repertory devstack up         # start the local Kafka and Cassandra
    """
    ctx.obj = _Context(config, log_format)

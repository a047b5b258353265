"""What every verb shares: the lazily loaded settings, exit codes, and one-line failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from repertory.cli_commands._apps import settings_with_defaults
from repertory.config import Settings
from repertory.errors import ConfigError, RepertoryError
from repertory.observability import configure_logging

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CliContext",
    "echo_json",
    "fail",
    "run_async",
    "settings_of",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # click's own code for usage errors; invalid settings use it too

T = TypeVar("T")
Overrides = Mapping[str, Mapping[str, Any]]


class CliContext:
    """Settings are loaded lazily so ``--help`` works even with a broken settings file."""

    def __init__(self, config: Path | None, log_format: str | None) -> None:
        self.config = config
        self._log_format = log_format
        self._settings: Settings | None = None

    def load(
        self, overrides: Overrides | None = None, defaults: Overrides | None = None
    ) -> Settings:
        """Settings with the verb's ``overrides`` (flags: they win) and an application's
        ``defaults`` (they lose to the file and the environment).

        Raises:
            click.UsageError: an invalid setting (exit code 2), naming the field and value.
        """
        flags: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (overrides or {}).items()}
        if self._log_format:
            flags.setdefault("logging", {})["format"] = self._log_format
        try:
            settings = settings_with_defaults(self.config, flags, defaults or {})
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        configure_logging(settings.logging.format, settings.logging.level)
        return settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = self.load()
        return self._settings


def settings_of(ctx: click.Context) -> CliContext:
    """The root group's context object."""
    found = ctx.find_object(CliContext)
    if found is None:  # a command invoked on its own, outside the ``main`` group
        found = CliContext(None, None)
        ctx.obj = found
    return found


def fail(message: str, hint: str = "") -> click.ClickException:
    """A one-line failure (exit code 1) that says what to do next."""
    return click.ClickException(f"{message}{f' — {hint}' if hint else ''}")


def echo_json(value: Any, *, pretty: bool = True) -> None:
    """Print ``value`` as JSON (one document, or one line when not ``pretty``)."""
    click.echo(json.dumps(value, indent=2 if pretty else None, default=str, sort_keys=False))


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one verb's coroutine; repertory errors become one line and exit code 1."""
    try:
        return asyncio.run(coroutine)
    except RepertoryError as exc:
        raise click.ClickException(str(exc)) from exc

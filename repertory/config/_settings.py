"""The root settings object and its loader: defaults < TOML file < environment < CLI flags."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from repertory.config._cassandra import CassandraSettings
from repertory.config._devstack import DevstackSettings
from repertory.config._entities import EntitySettings
from repertory.config._journal import JournalSettings
from repertory.config._kafka import KafkaSettings
from repertory.config._logging import LoggingSettings
from repertory.config._observability import ObservabilitySettings
from repertory.config._process import ProcessSettings
from repertory.config._protocols import ProtocolSettings
from repertory.config._security import CassandraSecuritySettings, KafkaSecuritySettings
from repertory.config._workers import WorkersSettings
from repertory.errors import ConfigError

CONFIG_ENV = "REPERTORY_CONFIG"
"""Environment variable naming the TOML file when ``--config`` is not given."""

DEFAULT_FILE = Path("repertory.toml")


class Settings(BaseSettings):
    """Every section; each part of repertory adds its own."""

    model_config = SettingsConfigDict(
        env_prefix="REPERTORY_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        # A ValidationError's text quotes raw input, passwords included; _describe redacts.
        hide_input_in_errors=True,
    )

    logging: LoggingSettings = LoggingSettings()
    observability: ObservabilitySettings = ObservabilitySettings()
    devstack: DevstackSettings = DevstackSettings()
    protocols: ProtocolSettings = ProtocolSettings()
    workers: WorkersSettings = WorkersSettings()
    entities: EntitySettings = EntitySettings()
    process: ProcessSettings = ProcessSettings()
    cassandra: CassandraSettings = CassandraSettings()
    journal: JournalSettings = JournalSettings()
    kafka: KafkaSettings = KafkaSettings()
    kafka_security: KafkaSecuritySettings = KafkaSecuritySettings()
    cassandra_security: CassandraSecuritySettings = CassandraSecuritySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_values = _FILE_VALUES.get(settings_cls, {})
        return init_settings, env_settings, InitSettingsSource(settings_cls, file_values)


_FILE_VALUES: dict[type[BaseSettings], dict[str, Any]] = {}


def load_settings(
    file: Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Load and validate every section once.

    Args:
        file: a TOML file; default ``$REPERTORY_CONFIG`` or ``./repertory.toml`` if present.
        overrides: values from CLI flags, by section then field; they win over everything.

    Raises:
        ConfigError: naming each invalid field (``section.field``) and the value given.
    """
    path = file or _default_file()
    try:
        values = tomllib.loads(path.read_text()) if path else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file [{path}]: {exc}") from exc
    _FILE_VALUES[Settings] = values
    try:
        return Settings.model_validate({k: dict(v) for k, v in (overrides or {}).items()})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
    finally:
        _FILE_VALUES.pop(Settings, None)


def _default_file() -> Path | None:
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        shown = _redact(field, error.get("input"))
        lines.append(f"invalid setting [{field}] = {shown!r}: {error['msg']}")
    return "; ".join(lines)


def _redact(field: str, value: Any) -> Any:
    """The value with every password replaced: an error message must not carry a secret."""
    if "password" in field.rsplit(".", 1)[-1] and not field.endswith("_file"):
        return "**********"
    if isinstance(value, Mapping):
        return {key: _redact(f"{field}.{key}", item) for key, item in value.items()}
    return value

"""Applications: a module that names its entity types, its message registry and its settings
defaults, so ``repertory run``, ``replay`` and the worker processes can build its engine.

An application module (``examples.bank.app`` is one) defines:

- ``ENTITIES``: the entity types it hosts (a sequence of ``EntityType``);
- ``REGISTRY``: the ``TypeRegistry`` of every message that crosses a boundary;
- ``DEFAULTS`` (optional): settings defaults by section, e.g.
  ``{"journal": {"sqlite_path": "bank.sqlite3"}}``; a file, a variable or a flag wins over them;
- ``engine`` (optional, for ``--workers``): ``engine() -> Engine``, usually
  ``return app_engine(__name__)``; each worker process calls it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repertory.actors import EntityType
from repertory.config import Settings, load_settings
from repertory.engine import Engine
from repertory.errors import ConfigError
from repertory.protocols import TypeRegistry

__all__ = ["App", "app_engine", "load_app", "settings_with_defaults"]


@dataclass(frozen=True, slots=True)
class App:
    """What an application module declares (see the module doc)."""

    module: str
    entities: Sequence[EntityType[Any, Any, Any]]
    registry: TypeRegistry
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def worker_factory(self) -> str:
        """The ``"module:engine"`` spec a worker process imports."""
        return f"{self.module}:engine"

    def entity_type(self, name: str) -> EntityType[Any, Any, Any]:
        """The entity type called ``name``.

        Raises:
            ConfigError: the application has no such type (the message lists the ones it has).
        """
        for entity_type in self.entities:
            if entity_type.name == name:
                return entity_type
        known = ", ".join(t.name for t in self.entities)
        raise ConfigError(f"[{self.module}] has no entity type [{name}]; it has: {known}")

    def engine(self, settings: Settings) -> Engine:
        return Engine(settings, self.entities, registry=self.registry)


def load_app(module: str) -> App:
    """Import an application module and read its declarations.

    Args:
        module: a dotted module name (``examples.bank.app``); a ``:attr`` suffix is ignored.

    Raises:
        ConfigError: the module cannot be imported or lacks ``ENTITIES`` / ``REGISTRY``.
    """
    name = module.partition(":")[0]
    try:
        loaded = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import application [{name}]: {exc} (run from the directory that holds it, "
            "or put it on PYTHONPATH)"
        ) from exc
    entities = getattr(loaded, "ENTITIES", None)
    registry = getattr(loaded, "REGISTRY", None)
    if not entities or not isinstance(registry, TypeRegistry):
        raise ConfigError(
            f"[{name}] is not a repertory application: it must define ENTITIES (entity types) "
            "and REGISTRY (a TypeRegistry)"
        )
    return App(name, tuple(entities), registry, dict(getattr(loaded, "DEFAULTS", {}) or {}))


def app_engine(module: str) -> Engine:
    """The engine of application ``module`` with settings from the file and the environment
    over its defaults: what a worker process runs (``--config`` reaches it as
    ``REPERTORY_CONFIG``)."""
    app = load_app(module)
    return app.engine(settings_with_defaults(None, {}, app.defaults))


def settings_with_defaults(
    config: Path | None,
    flags: Mapping[str, Mapping[str, Any]],
    defaults: Mapping[str, Mapping[str, Any]],
) -> Settings:
    """Settings from ``config`` (or the default file), the environment and ``flags``, over an
    application's ``defaults``: a default applies only to a field nothing else has set.

    Raises:
        ConfigError: an invalid value, naming the field.
    """
    settings = load_settings(config, flags)
    if not defaults:
        return settings
    merged = {section: dict(values) for section, values in flags.items()}
    for section, values in defaults.items():
        explicit = getattr(settings, section).model_fields_set
        for name, value in values.items():
            if name not in explicit:
                merged.setdefault(section, {}).setdefault(name, value)
    return load_settings(config, merged)

"""structlog set-up: JSON for machines or console for people, chosen once at start."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

LogFormat = Literal["json", "console"]

_configured = False


def configure_logging(fmt: LogFormat = "console", level: str = "INFO") -> None:
    """Configure structlog and the standard library root logger once per process.

    Args:
        fmt: ``json`` (one object per line, for collectors) or ``console`` (readable).
        level: a standard logging level name.
    """
    global _configured
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
    _configured = True


def get_logger(name: str, **context: Any) -> Any:
    """A structlog logger carrying ``logger=name`` and any initial context."""
    return structlog.get_logger(name).bind(logger=name, **context)


def bind(**context: Any) -> None:
    """Bind context (entity, partition, ...) to every log line of the current task."""
    structlog.contextvars.bind_contextvars(**context)

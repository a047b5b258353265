"""structlog set-up: JSON for machines or console for people, chosen once at start."""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

LogFormat = Literal["json", "console"]


def configure_logging(fmt: LogFormat = "console", level: str = "INFO") -> None:
    """Configure structlog and the standard library root logger once per process.

    Args:
        fmt: ``json`` (one object per line, for collectors) or ``console`` (readable).
        level: a standard logging level name.
    """
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


def get_logger(name: str, **context: Any) -> Any:
    """A structlog logger carrying ``logger=name`` and any initial context.

    The logger stays lazy: module-level loggers created at import follow whatever
    ``configure_logging`` sets up later, instead of freezing structlog's default (stdout).
    """
    return _LazyLogger(name, context)


class _LazyLogger:
    """Resolves the configured logger at each use; logging is never on a hot path."""

    __slots__ = ("_context", "_name")

    def __init__(self, name: str, context: dict[str, Any]) -> None:
        self._name = name
        self._context = context

    def bind(self, **context: Any) -> _LazyLogger:
        return _LazyLogger(self._name, {**self._context, **context})

    def __getattr__(self, method: str) -> Any:
        logger = structlog.get_logger(self._name).bind(logger=self._name, **self._context)
        return getattr(logger, method)

    def __repr__(self) -> str:
        return f"<logger {self._name} {self._context}>"


def bind(**context: Any) -> None:
    """Bind context (entity, partition, ...) to every log line of the current task."""
    structlog.contextvars.bind_contextvars(**context)

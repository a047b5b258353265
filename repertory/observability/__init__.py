"""Logging (structlog, configured once) and, later, metric definitions."""

from repertory.observability._logging import bind, configure_logging, get_logger

__all__ = ["bind", "configure_logging", "get_logger"]

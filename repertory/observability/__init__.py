"""Logging (structlog, configured once), metrics and the health endpoint.

- ``repertory.observability.metrics``: every metric family, per layer (the table is there).
- ``repertory.observability.http``: ``ObservabilityServer`` — ``/metrics``, ``/healthz``,
  ``/readyz`` on one port, in the engine's event loop.
"""

from repertory.observability._logging import bind, configure_logging, get_logger

__all__ = ["bind", "configure_logging", "get_logger"]

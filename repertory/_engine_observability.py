"""The engine's observability endpoint: ``/metrics``, ``/healthz`` and ``/readyz`` on
``observability.metrics_port`` (plus the worker slot, see ``worker_metrics_port``).

The endpoint is bound before anything else starts, so ``/healthz`` answers during a slow start
while ``/readyz`` fails until the engine's checks pass; on shutdown the engine drains it first,
so the worker leaves the load balancer before its partitions and journal go.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack

from repertory.config import Settings
from repertory.errors import ConfigError
from repertory.observability.http import ObservabilityServer, ReadinessCheck
from repertory.observability.metrics import worker_metrics_port

__all__ = ["start_observability"]


async def start_observability(
    stack: AsyncExitStack, settings: Settings, checks: Mapping[str, ReadinessCheck]
) -> ObservabilityServer | None:
    """Start the endpoint with ``checks`` (None when ``metrics_port`` is 0: off); ``stack``
    closes it.

    Raises:
        ConfigError: the port (base plus worker slot) is out of range or cannot be bound.
    """
    section = settings.observability
    if section.metrics_port == 0:
        return None
    try:
        port = worker_metrics_port(section.metrics_port)
    except ValueError as exc:
        raise ConfigError(f"invalid setting [observability.metrics_port]: {exc}") from exc
    server = ObservabilityServer(
        host=section.bind_address, port=port, check_timeout=section.readiness_timeout
    )
    for name, check in checks.items():
        server.add_readiness_check(name, check)
    try:
        await server.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on [{section.bind_address}]:[{port}] "
            f"(observability.metrics_port): {exc}"
        ) from exc
    stack.push_async_callback(server.aclose)
    return server

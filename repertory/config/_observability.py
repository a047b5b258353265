"""Settings of the ``observability`` section: the metrics and health endpoint.

The log format and level are in the ``logging`` section.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from repertory.config._base import Section


class ObservabilitySettings(Section):
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """TCP port of ``/metrics``, ``/healthz`` and ``/readyz``; 0 turns the endpoint off. With
    ``--workers N``, worker slot ``i`` serves on ``metrics_port + i``. Default 0 (off; the
    container image and the deployment files set 9400)."""

    bind_address: str = "127.0.0.1"
    """Address the endpoint binds: ``127.0.0.1`` keeps it on the machine; ``0.0.0.0`` (or
    ``::``) lets Prometheus and probes reach it from outside a container. Default
    ``127.0.0.1``."""

    readiness_timeout: float = Field(default=2.0, gt=0, le=60)
    """Seconds each readiness check of ``/readyz`` may take before it counts as failing.
    Default 2."""

    @field_validator("bind_address")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"[{value}] is not an IP address") from None
        return value

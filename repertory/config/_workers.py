"""Settings of the ``workers`` section: the Thespian-supervised worker processes.

Restarts follow ``repertory.actors.supervision.Backoff``: the delay doubles from
``restart_min_delay`` up to ``restart_max_delay``; more than ``restart_limit`` restarts of one
slot within ``restart_window`` seconds and the supervisor gives that slot up.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from repertory.config._base import Section


class WorkersSettings(Section):
    count: int = Field(default=1, ge=1, le=256)
    """Worker processes, each running one app (one engine). Default 1."""

    admin_port: int = Field(default=19500, ge=1024, le=65535)
    """TCP port of the Thespian actor system's admin. Default 19500. The admin accepts pickled
    messages: never expose this port beyond the host (or pod)."""

    restart_min_delay: float = Field(default=0.5, gt=0, le=3600)
    """Seconds before the first restart of a dead worker; doubles on each further one. Default
    0.5."""

    restart_max_delay: float = Field(default=30.0, gt=0, le=3600)
    """Upper bound of the restart delay, in seconds. Default 30."""

    restart_limit: int = Field(default=5, ge=0, le=1000)
    """Restarts of one slot allowed within ``restart_window``; one more and the slot is given
    up. Default 5."""

    restart_window: float = Field(default=60.0, gt=0)
    """Seconds over which ``restart_limit`` is counted. Default 60."""

    drain_timeout: float = Field(default=30.0, gt=0, le=3600)
    """Seconds a worker gets to close its app (``__aexit__``) on stop. Default 30."""

    start_timeout: float = Field(default=60.0, gt=0, le=3600)
    """Seconds to wait at start for every slot to be running (or given up). Default 60."""

    @model_validator(mode="after")
    def _delays_ordered(self) -> WorkersSettings:
        if self.restart_max_delay < self.restart_min_delay:
            raise ValueError(
                f"restart_max_delay [{self.restart_max_delay}] is below "
                f"restart_min_delay [{self.restart_min_delay}]"
            )
        return self

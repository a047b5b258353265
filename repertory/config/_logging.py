"""Settings of the ``logging`` section."""

from __future__ import annotations

from typing import Literal

from repertory.config._base import Section


class LoggingSettings(Section):
    format: Literal["json", "console"] = "console"
    """``json``: one object per line for log collectors; ``console``: readable. Default console."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The lowest level written. Default INFO."""

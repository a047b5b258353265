"""Typed settings, one frozen section per part, validated once at start.

Precedence: defaults < TOML file (``--config`` or ``$REPERTORY_CONFIG`` or ``./repertory.toml``)
< environment (``REPERTORY_<SECTION>__<FIELD>``) < CLI flags.
"""

from repertory.config._base import Section
from repertory.config._devstack import DevstackSettings
from repertory.config._logging import LoggingSettings
from repertory.config._settings import Settings, load_settings

__all__ = ["DevstackSettings", "LoggingSettings", "Section", "Settings", "load_settings"]

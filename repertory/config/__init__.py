"""Typed settings, one frozen section per part, validated once at start.

Precedence: defaults < TOML file (``--config`` or ``$REPERTORY_CONFIG`` or ``./repertory.toml``)
< environment (``REPERTORY_<SECTION>__<FIELD>``) < CLI flags.
"""

from repertory.config._base import Section
from repertory.config._cassandra import CassandraSettings
from repertory.config._devstack import DevstackSettings
from repertory.config._entities import EntitySettings
from repertory.config._journal import JournalSettings
from repertory.config._kafka import KafkaSettings
from repertory.config._logging import LoggingSettings
from repertory.config._observability import ObservabilitySettings
from repertory.config._process import ProcessSettings
from repertory.config._protocols import ProtocolSettings
from repertory.config._security import CassandraSecuritySettings, KafkaSecuritySettings
from repertory.config._settings import Settings, load_settings
from repertory.config._workers import WorkersSettings

__all__ = [
    "CassandraSecuritySettings",
    "CassandraSettings",
    "DevstackSettings",
    "EntitySettings",
    "JournalSettings",
    "KafkaSecuritySettings",
    "KafkaSettings",
    "LoggingSettings",
    "ObservabilitySettings",
    "ProcessSettings",
    "ProtocolSettings",
    "Section",
    "Settings",
    "WorkersSettings",
    "load_settings",
]

"""The ``cassandra`` settings section: defaults and the combinations refused at start."""

from __future__ import annotations

import pytest

from repertory.config import load_settings
from repertory.errors import ConfigError
from repertory.persistence.cassandra_schema import schema_statements

pytestmark = pytest.mark.unit


def test_defaults_reach_the_dev_stack_at_quorum() -> None:
    settings = load_settings().cassandra
    assert settings.port == 19042
    assert (settings.read_consistency, settings.write_consistency) == ("QUORUM", "QUORUM")
    assert settings.serial_consistency == "SERIAL"
    assert settings.batch_max_bytes < 50 * 1024
    assert settings.conditional_max_in_flight > settings.max_in_flight


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"keyspace": "Bad-Name"}, "cassandra.keyspace"),
        ({"read_consistency": "LOCAL_QUORUM"}, "local_datacenter"),
        ({"serial_consistency": "LOCAL_SERIAL"}, "LOCAL_SERIAL"),
        ({"read_consistency": "EACH_QUORUM"}, "cassandra.read_consistency"),
        ({"reconnect_base_delay": 10, "reconnect_max_delay": 1}, "reconnect_max_delay"),
        ({"conditional_max_in_flight": 0}, "cassandra.conditional_max_in_flight"),
    ],
)
def test_refused_combinations_name_the_field(fields: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(overrides={"cassandra": fields})


def test_local_quorum_with_a_local_datacenter_is_accepted() -> None:
    fields = {
        "read_consistency": "LOCAL_QUORUM",
        "write_consistency": "LOCAL_QUORUM",
        "serial_consistency": "LOCAL_SERIAL",
        "local_datacenter": "dc1",
    }
    assert load_settings(overrides={"cassandra": fields}).cassandra.local_datacenter == "dc1"


def test_schema_file_names_every_table_in_the_keyspace() -> None:
    statements = schema_statements("ks1")
    assert len(statements) == 5
    assert all(s.startswith("CREATE TABLE IF NOT EXISTS ks1.") for s in statements)
    assert "{keyspace}" not in " ".join(statements)
    with pytest.raises(ValueError, match="keyspace"):
        schema_statements("ks; DROP")

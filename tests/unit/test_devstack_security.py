"""The secured dev stack's rendered files: the SASL_SSL listener and users, Cassandra's TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from repertory.config import DevstackSettings
from repertory.devstack import DevStack, SecureKafka, StackSecurity
from repertory.devstack._secure import SecureCassandra
from repertory.errors import DevstackError


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)  # later keys win, as in Java


def security(tmp_path: Path, **changes: object) -> StackSecurity:
    values: dict[str, object] = {
        "ca_file": tmp_path / "ca.pem",
        "server_keystore": tmp_path / "server.pem",
        "client_cert_file": tmp_path / "client.pem",
        "client_key_file": tmp_path / "client-key.pem",
        "scram_users": {"alice": "alice-pw"},
        "plain_users": {"bob": "bob-pw", "carol": "carol-pw"},
    }
    return StackSecurity(**{**values, **changes})  # type: ignore[arg-type]


def test_secure_kafka_adds_a_sasl_ssl_listener_beside_plaintext(tmp_path: Path) -> None:
    settings = DevstackSettings(state_dir=tmp_path, port_offset=700)
    kafka = SecureKafka(settings, security(tmp_path))
    kafka.write_config()
    props = properties(tmp_path / "kafka" / "conf" / "server.properties")

    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:19792,SASL_SSL://127.0.0.1:19794,CONTROLLER://127.0.0.1:19793"
    )
    assert props["advertised.listeners"].endswith(",SASL_SSL://127.0.0.1:19794")
    assert "SASL_SSL:SASL_SSL" in props["listener.security.protocol.map"]
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert props["ssl.keystore.location"] == str(tmp_path / "server.pem")
    assert props["listener.name.sasl_ssl.ssl.client.auth"] == "required"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"
    plain = props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert plain.endswith('required user_bob="bob-pw" user_carol="carol-pw";')
    assert kafka.secure_bootstrap == "127.0.0.1:19794"
    assert kafka.ports()["kafka_secure_port"] == 19794


def test_secure_cassandra_turns_on_passwords_and_client_tls(tmp_path: Path) -> None:
    settings = DevstackSettings(state_dir=tmp_path)
    SecureCassandra(settings, security(tmp_path)).write_config()
    yaml = (tmp_path / "cassandra" / "conf" / "cassandra.yaml").read_text()

    assert "\nauthenticator: PasswordAuthenticator\n" in yaml
    assert "\nauthenticator: AllowAllAuthenticator" not in yaml
    assert "PEMBasedSslContextFactory" in yaml
    assert f"  keystore: {tmp_path / 'server.pem'}\n" in yaml
    assert "  require_client_auth: true\n" in yaml
    assert "  optional: false\n" in yaml
    assert "{{" not in yaml


def test_the_default_stack_stays_open(tmp_path: Path) -> None:
    stack = DevStack(DevstackSettings(state_dir=tmp_path))
    stack.cassandra.write_config()
    yaml = (tmp_path / "cassandra" / "conf" / "cassandra.yaml").read_text()

    assert "\nauthenticator: AllowAllAuthenticator\n" in yaml
    assert "client_encryption_options" not in yaml
    assert "kafka_secure_port" not in stack.kafka.ports()


def test_unsafe_user_names_or_passwords_are_refused_and_passwords_not_shown(
    tmp_path: Path,
) -> None:
    with pytest.raises(DevstackError, match="user"):
        security(tmp_path, plain_users={"bob": 'pw"; evil'})
    assert "alice-pw" not in repr(security(tmp_path))

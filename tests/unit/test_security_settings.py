"""The security sections, the client options built from them, and where secrets may not go."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import click
import pytest
from cassandra import AuthenticationFailed as DriverAuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable
from pydantic import SecretStr

from repertory.cli import main
from repertory.config import CassandraSecuritySettings, KafkaSecuritySettings, load_settings
from repertory.errors import AuthenticationFailed, ConfigError
from repertory.kafka._security import _SASL_FILTER, kafka_client_options
from repertory.persistence.cassandra_security import auth_failure, cassandra_connection_options

SECRET = "s3cret-value-42"


def test_defaults_are_plaintext_without_credentials() -> None:
    settings = load_settings()
    assert settings.kafka_security.security_protocol == "PLAINTEXT"
    assert kafka_client_options(settings.kafka_security) == {"security_protocol": "PLAINTEXT"}
    assert cassandra_connection_options(settings.cassandra_security) == {}


def test_passwords_come_from_the_environment_and_are_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__USERNAME", "bob")
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__PASSWORD", SECRET)
    settings = load_settings()

    security = settings.kafka_security
    assert security.resolved_password() == SECRET
    for shown in (repr(settings), str(settings), str(settings.model_dump()), repr(security)):
        assert SECRET not in shown
    options = kafka_client_options(security)
    assert options["sasl_mechanism"] == "PLAIN"
    assert options["sasl_plain_username"] == "bob"
    assert options["sasl_plain_password"] == SECRET
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].check_hostname
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_a_password_file_is_read_when_the_client_is_built(tmp_path: Path) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    security = CassandraSecuritySettings(username="app", password_file=secret_file)
    secret_file.write_text("rotated\n")

    provider = cassandra_connection_options(security)["auth_provider"]

    assert isinstance(provider, PlainTextAuthProvider)
    assert (provider.username, provider.password) == ("app", "rotated")
    secret_file.unlink()
    with pytest.raises(ConfigError, match="cannot read password file") as caught:
        security.resolved_password()
    assert "rotated" not in str(caught.value)


def test_invalid_settings_name_the_field_but_not_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REPERTORY_KAFKA_SECURITY__PASSWORD", SECRET)

    with pytest.raises(ConfigError, match=r"kafka_security.*needs a username") as caught:
        load_settings()

    chain = [caught.value, caught.value.__cause__]
    assert all(SECRET not in str(error) for error in chain)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "SASL_SSL", "username": "a"}, "needs username and password"),
        ({"username": "a", "password": "p"}, "takes no username or password"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
        ({"security_protocol": "SSL", "cert_file": __file__}, "cert_file and key_file go"),
        ({"ca_file": __file__}, "takes no certificates"),
        ({"security_protocol": "SSL", "ca_file": "/nonexistent/ca.pem"}, "ca_file"),
    ],
)
def test_incoherent_kafka_security_is_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KafkaSecuritySettings.model_validate(values)


def test_incoherent_cassandra_security_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        CassandraSecuritySettings(
            username="a", password=SecretStr("p"), password_file=Path(__file__)
        )
    with pytest.raises(ValueError, match="username needs password"):
        CassandraSecuritySettings(username="a")
    with pytest.raises(ValueError, match="tls is false"):
        CassandraSecuritySettings(ca_file=Path(__file__))


def test_unreadable_certificates_are_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ConfigError, match="cannot load certificates"):
        kafka_client_options(KafkaSecuritySettings(security_protocol="SSL", ca_file=bogus))
    with pytest.raises(ConfigError, match="cannot load certificates"):
        cassandra_connection_options(CassandraSecuritySettings(tls=True, ca_file=bogus))


def test_no_command_line_flag_takes_a_secret() -> None:
    def options(command: click.Command) -> list[str]:
        names = [n for p in command.params for n in getattr(p, "opts", [])]
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                names += options(sub)
        return names

    flags = options(main)
    assert flags  # the walk found the CLI's options
    assert not [f for f in flags if any(w in f for w in ("password", "secret", "token"))]


def test_plain_sasl_bytes_are_redacted_from_aiokafka_debug_logs() -> None:
    class SaslAuthenticateRequest_v1:
        def __repr__(self) -> str:
            return f"SaslAuthenticateRequest_v1(sasl_auth_bytes=b'bob\\x00bob\\x00{SECRET}')"

    kafka_client_options(
        KafkaSecuritySettings(
            security_protocol="SASL_PLAINTEXT", username="b", password=SecretStr("p")
        )
    )
    record = logging.LogRecord(
        "aiokafka.conn",
        logging.DEBUG,
        "conn.py",
        1,
        "Request %d: %s",
        (3, SaslAuthenticateRequest_v1()),
        None,
    )
    assert _SASL_FILTER in logging.getLogger("aiokafka.conn").filters
    assert _SASL_FILTER.filter(record)
    assert SECRET not in record.getMessage() and "redacted" in record.getMessage()


def test_cassandra_refusals_become_authentication_failed() -> None:
    security = CassandraSecuritySettings(username="app", password=SecretStr(SECRET))
    refused = NoHostAvailable(
        "Unable to connect", {"h:9042": DriverAuthenticationFailed("Bad credentials")}
    )
    handshake = NoHostAvailable("Unable to connect", {"h:9042": ssl.SSLError(1, "bad cert")})
    down = NoHostAvailable("Unable to connect", {"h:9042": ConnectionRefusedError(111, "no")})

    login = auth_failure(refused, security, "h:9042")
    assert isinstance(login, AuthenticationFailed)
    assert "[app]" in str(login) and SECRET not in str(login)
    assert "TLS handshake" in str(auth_failure(handshake, security, "h:9042"))
    assert auth_failure(down, security, "h:9042") is None

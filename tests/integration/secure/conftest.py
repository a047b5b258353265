"""A second, short-lived, secured stack for the TLS and SASL tests, beside the default one.

Kafka gets a SASL_SSL listener (SCRAM-SHA-512/256 users made when its storage is formatted,
PLAIN users in its JAAS configuration); Cassandra gets client TLS and PasswordAuthenticator
(node-wide, hence a node of its own). Both use certificates made here with ``cryptography``,
live in a temporary directory on their own ports, and are stopped when the session ends.
The default dev stack is neither touched nor needed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from secure_certificates import CertificateFiles, make_certificates

from repertory.config import (
    CassandraSecuritySettings,
    KafkaSecuritySettings,
    load_settings,
)
from repertory.devstack import DevStack, SecureKafka, StackSecurity

PORT_OFFSET = 700
"""Kafka 19792-19794, Cassandra 19742/17700/17899: clear of the default stack (and of +100)."""

SCRAM_USER = "alice"
PLAIN_USER = "bob"
CASSANDRA_ROLE = "repertory_app"


@dataclass(frozen=True, slots=True)
class SecureStack:
    """The running secured stack and the credentials the tests may use."""

    stack: DevStack
    certificates: CertificateFiles
    kafka_bootstrap: str
    """The SASL_SSL listener."""
    plaintext_bootstrap: str
    cassandra_contact: tuple[str, int]
    scram_password: str
    plain_password: str
    cassandra_password: str

    def __repr__(self) -> str:
        return f"SecureStack({self.kafka_bootstrap}, {self.cassandra_contact})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every password in play; none may appear in a log line."""
        return (self.scram_password, self.plain_password, self.cassandra_password)

    def kafka_security(
        self, mechanism: str = "SCRAM-SHA-512", **changes: Any
    ) -> KafkaSecuritySettings:
        user, password = (
            (PLAIN_USER, self.plain_password)
            if mechanism == "PLAIN"
            else (SCRAM_USER, self.scram_password)
        )
        values: dict[str, Any] = {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": mechanism,
            "username": user,
            "password": password,
            "ca_file": self.certificates.ca_file,
            "cert_file": self.certificates.client_cert_file,
            "key_file": self.certificates.client_key_file,
        }
        return KafkaSecuritySettings.model_validate({**values, **changes})

    def cassandra_security(self, **changes: Any) -> CassandraSecuritySettings:
        values: dict[str, Any] = {
            "tls": True,
            "username": CASSANDRA_ROLE,
            "password": self.cassandra_password,
            "ca_file": self.certificates.ca_file,
            "cert_file": self.certificates.client_cert_file,
            "key_file": self.certificates.client_key_file,
        }
        return CassandraSecuritySettings.model_validate({**values, **changes})


@pytest.fixture(scope="session")
def secure_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    root = tmp_path_factory.mktemp("secure-stack")
    certificates = make_certificates(root / "certs")
    scram_password, plain_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    security = StackSecurity(
        ca_file=certificates.ca_file,
        server_keystore=certificates.server_keystore,
        client_cert_file=certificates.client_cert_file,
        client_key_file=certificates.client_key_file,
        scram_users={SCRAM_USER: scram_password},
        plain_users={PLAIN_USER: plain_password},
    )
    settings = load_settings().devstack.model_copy(
        update={
            "state_dir": root / "state",
            "port_offset": PORT_OFFSET,
            "kafka_heap": "768m",
            "cassandra_heap": "768M",
        }
    )
    stack = DevStack(settings, security=security, stop_timeout=30.0)
    try:
        stack.up()
        cassandra_password = secrets.token_urlsafe(18)
        _create_role(stack, security, cassandra_password)
        kafka = stack.kafka
        assert isinstance(kafka, SecureKafka)
        yield SecureStack(
            stack=stack,
            certificates=certificates,
            kafka_bootstrap=kafka.secure_bootstrap,
            plaintext_bootstrap=kafka.bootstrap,
            cassandra_contact=stack.cassandra_contact,
            scram_password=scram_password,
            plain_password=plain_password,
            cassandra_password=cassandra_password,
        )
    finally:
        stack.down(purge=True)


def _create_role(stack: DevStack, security: StackSecurity, password: str) -> None:
    """A login role for the tests, made by the default superuser (which they never use)."""
    host, port = stack.cassandra_contact
    user, superuser_password = security.cassandra_superuser
    cluster = Cluster(
        contact_points=[host],
        port=port,
        protocol_version=5,
        ssl_context=security.client_ssl_context(),
        auth_provider=PlainTextAuthProvider(username=user, password=superuser_password),
    )
    try:
        session = cluster.connect()
        session.execute(
            f"CREATE ROLE IF NOT EXISTS {CASSANDRA_ROLE} WITH PASSWORD = %s AND LOGIN = true",
            (password,),
        )
    finally:
        cluster.shutdown()


@pytest.fixture
def secure_topic_name() -> str:
    return f"secure-{uuid.uuid4().hex[:10]}"

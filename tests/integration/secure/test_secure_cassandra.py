"""Cassandra with client TLS (mutual) and PasswordAuthenticator, against the secured stack."""

from __future__ import annotations

import time
import uuid

import pytest
from cassandra.cluster import Cluster, NoHostAvailable
from conftest import SecureStack

from repertory.config import CassandraSecuritySettings, CassandraSettings
from repertory.errors import AuthenticationFailed
from repertory.persistence.cassandra_security import auth_failure, cassandra_connection_options
from repertory.persistence.cassandra_session import CassandraSession, build_cluster


def connect(stack: SecureStack, security: CassandraSecuritySettings) -> Cluster:
    host, port = stack.cassandra_contact
    return Cluster(
        contact_points=[host],
        port=port,
        protocol_version=5,
        connect_timeout=10,
        **cassandra_connection_options(security),
    )


def where(stack: SecureStack) -> str:
    host, port = stack.cassandra_contact
    return f"{host}:{port}"


def test_tls_and_password_connect_and_query(secure_stack: SecureStack) -> None:
    cluster = connect(secure_stack, secure_stack.cassandra_security())
    try:
        session = cluster.connect()
        keyspace = f"secure_{uuid.uuid4().hex[:10]}"
        session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(f"CREATE TABLE {keyspace}.t (k text PRIMARY KEY, v int)")
        session.execute(f"INSERT INTO {keyspace}.t (k, v) VALUES (%s, %s)", ("a", 1))
        row = session.execute(f"SELECT v FROM {keyspace}.t WHERE k = 'a'").one()
        user = session.execute(
            "SELECT role FROM system_auth.roles WHERE role = %s", ("repertory_app",)
        )
        session.execute(f"DROP KEYSPACE {keyspace}")
    finally:
        cluster.shutdown()
    assert row is not None and row.v == 1
    assert user.one() is not None


def test_a_wrong_password_is_a_clear_error(secure_stack: SecureStack) -> None:
    wrong = "not-the-cassandra-password"
    security = secure_stack.cassandra_security(password=wrong)
    cluster = connect(secure_stack, security)
    started = time.monotonic()
    try:
        with pytest.raises(NoHostAvailable) as caught:
            cluster.connect()
    finally:
        cluster.shutdown()

    error = auth_failure(caught.value, security, where(secure_stack))
    assert time.monotonic() - started < 15
    assert isinstance(error, AuthenticationFailed)
    message = str(error)
    assert "[repertory_app]" in message and "PasswordAuthenticator" in message
    assert "Bad credentials" in message
    assert wrong not in message and all(s not in message for s in secure_stack.secrets)


def test_an_unknown_ca_and_a_missing_client_certificate_fail_the_handshake(
    secure_stack: SecureStack,
) -> None:
    for changes in (
        {"ca_file": secure_stack.certificates.other_ca_file},
        {"cert_file": None, "key_file": None},
    ):
        security = secure_stack.cassandra_security(**changes)
        cluster = connect(secure_stack, security)
        try:
            with pytest.raises(NoHostAvailable) as caught:
                cluster.connect()
        finally:
            cluster.shutdown()
        error = auth_failure(caught.value, security, where(secure_stack))
        assert isinstance(error, AuthenticationFailed), changes
        assert "TLS handshake" in str(error)


def test_a_plaintext_client_is_refused(secure_stack: SecureStack) -> None:
    cluster = connect(secure_stack, CassandraSecuritySettings())
    try:
        with pytest.raises(NoHostAvailable):
            cluster.connect()
    finally:
        cluster.shutdown()


async def test_the_journal_session_connects_with_the_security_options(
    secure_stack: SecureStack,
) -> None:
    host, port = secure_stack.cassandra_contact
    settings = CassandraSettings(contact_points=(host,), port=port)
    security = secure_stack.cassandra_security()

    def secured_cluster(section: CassandraSettings) -> Cluster:
        cluster = build_cluster(section)
        for name, value in cassandra_connection_options(security).items():
            setattr(cluster, name, value)  # read at connect, like the constructor's arguments
        return cluster

    session = CassandraSession(settings, cluster_factory=secured_cluster)
    await session.connect()
    try:
        rows = await session.execute("SELECT release_version FROM system.local")
    finally:
        await session.aclose()
    assert rows and rows[0][0].startswith("5.0")

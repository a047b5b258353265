"""Kafka over SASL_SSL (SCRAM-SHA-512 and PLAIN, mutual TLS) against the secured stack."""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaProducer
from conftest import SecureStack
from secure_clients import create_topic, round_trip

from repertory.config import KafkaSecuritySettings
from repertory.errors import AuthenticationFailed
from repertory.kafka._security import kafka_client_options, start_client

LEAKED_BY_REFUSED_LOGINS = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")
"""aiokafka can leave a connection unclosed when its TLS handshake or SASL login is refused; the
collector frees it later with a ResourceWarning, an error under this suite's settings, at a
moment that depends on garbage-collection timing. Tests that are refused on purpose accept it."""

pytestmark = LEAKED_BY_REFUSED_LOGINS

MECHANISMS = ["SCRAM-SHA-512", "PLAIN"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_transactional_round_trip_over_sasl_ssl(
    secure_stack: SecureStack, secure_topic_name: str, mechanism: str
) -> None:
    security = secure_stack.kafka_security(mechanism)
    bootstrap = secure_stack.kafka_bootstrap
    await create_topic(bootstrap, security, secure_topic_name)

    received = await round_trip(bootstrap, security, secure_topic_name)

    assert received == [b"record-0", b"record-1", b"record-2"]


async def test_scram_sha_256_users_exist_too(
    secure_stack: SecureStack, secure_topic_name: str
) -> None:
    security = secure_stack.kafka_security("SCRAM-SHA-256")
    await create_topic(secure_stack.kafka_bootstrap, security, secure_topic_name)


async def start_producer(bootstrap: str, security: KafkaSecuritySettings) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, request_timeout_ms=5000, **kafka_client_options(security)
    )
    await start_client(producer, security, bootstrap_servers=bootstrap, timeout=15)
    await producer.stop()


@pytest.mark.parametrize("mechanism", MECHANISMS)
async def test_a_wrong_password_fails_at_start_naming_mechanism_and_user(
    secure_stack: SecureStack, mechanism: str
) -> None:
    wrong = "not-the-password-" + mechanism.lower()
    security = secure_stack.kafka_security(mechanism, password=wrong)
    started = time.monotonic()

    with pytest.raises(AuthenticationFailed) as caught:
        await start_producer(secure_stack.kafka_bootstrap, security)

    message = str(caught.value)
    assert time.monotonic() - started < 15
    assert f"[{mechanism}]" in message and f"[{security.username}]" in message
    assert "SaslAuthenticationFailed" in message
    assert wrong not in message and all(s not in message for s in secure_stack.secrets)


async def test_an_unknown_ca_fails_the_handshake(secure_stack: SecureStack) -> None:
    security = secure_stack.kafka_security(ca_file=secure_stack.certificates.other_ca_file)

    with pytest.raises(AuthenticationFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await start_producer(secure_stack.kafka_bootstrap, security)


async def test_the_listener_refuses_clients_without_a_certificate(
    secure_stack: SecureStack,
) -> None:
    security = secure_stack.kafka_security(cert_file=None, key_file=None)

    with pytest.raises(AuthenticationFailed, match=r"over \[SASL_SSL\] as \[alice\]"):
        await start_producer(secure_stack.kafka_bootstrap, security)

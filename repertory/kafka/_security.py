"""TLS and SASL options for every Kafka client the engine makes (consumer, producers, admin),
and a bounded start that turns a refused handshake or login into one clear error.

Each client is built as ``AIOKafkaConsumer(**consumer_options(kafka),
**kafka_client_options(kafka_security))``; the options are the same for every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import Any, Protocol

from aiokafka.errors import KafkaConnectionError, KafkaError, UnsupportedSaslMechanismError

from repertory.config import KafkaSecuritySettings
from repertory.errors import AuthenticationFailed

__all__ = ["kafka_client_options", "kafka_ssl_context", "start_client"]

DEFAULT_START_TIMEOUT = 30.0
"""Seconds ``start_client`` gives a client to connect and log in before it gives up."""


class _Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def kafka_ssl_context(settings: KafkaSecuritySettings) -> ssl.SSLContext | None:
    """The TLS context of the SSL and SASL_SSL protocols; None for the plaintext ones.

    The server's certificate is always verified (against ``ca_file``, or the system's CAs);
    ``check_hostname`` only chooses whether its names must include the host.

    Raises:
        ConfigError: a certificate or key file cannot be loaded (names the file).
    """
    if not settings.uses_tls:
        return None
    return settings.client_tls_context("kafka_security")


def kafka_client_options(settings: KafkaSecuritySettings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaConsumer``, ``AIOKafkaProducer`` and
    ``AIOKafkaAdminClient``: ``security_protocol`` and, as it requires, ``ssl_context`` and the
    SASL mechanism, user and password.

    The password is read here (from the environment value or its file); the dict holds it, so
    never log the dict.

    Raises:
        ConfigError: a certificate, key or password file cannot be read.
    """
    options: dict[str, Any] = {"security_protocol": settings.security_protocol}
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.uses_sasl:
        _redact_sasl_bytes()
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.username
        options["sasl_plain_password"] = settings.resolved_password()
    return options


class _SaslBytesFilter(logging.Filter):
    """aiokafka logs every request at DEBUG, and PLAIN's ``SaslAuthenticateRequest`` carries
    ``user\\0user\\0password`` in clear: its arguments are replaced before any handler sees
    them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(map(_is_sasl, record.args)):
            record.args = tuple(_REDACTED if _is_sasl(arg) else arg for arg in record.args)
        elif isinstance(record.msg, str) and "sasl_auth_bytes" in record.msg:
            record.msg, record.args = _REDACTED, None
        return True


_REDACTED = "<SASL authentication bytes redacted>"
_SASL_FILTER = _SaslBytesFilter()


def _is_sasl(arg: object) -> bool:
    return type(arg).__name__.startswith("SaslAuthenticate")


def _redact_sasl_bytes() -> None:
    logger = logging.getLogger("aiokafka.conn")
    if _SASL_FILTER not in logger.filters:
        logger.addFilter(_SASL_FILTER)


async def start_client(
    client: _Startable,
    settings: KafkaSecuritySettings,
    *,
    bootstrap_servers: str,
    timeout: float = DEFAULT_START_TIMEOUT,  # noqa: ASYNC109 - a start-up bound, not an API timeout
) -> None:
    """Start ``client`` within ``timeout`` seconds, or stop it and raise a clear error.

    aiokafka retries a failed bootstrap until its request timeout and then reports only that
    it could not connect; a refused login or certificate would look like an unreachable broker.
    This names what was tried instead.

    Raises:
        AuthenticationFailed: the login or the TLS handshake was refused, or nothing answered
            in time (the message names servers, protocol, mechanism and user, never the
            password).
    """
    reasons = _ConnectFailures()
    logging.getLogger("aiokafka").addHandler(reasons)
    try:
        async with asyncio.timeout(timeout):
            await client.start()
    except (TimeoutError, KafkaError, ssl.SSLError, OSError) as exc:
        await _stop_quietly(client)
        message = _describe(exc, settings, bootstrap_servers, timeout, reasons.last)
        raise AuthenticationFailed(message) from exc
    finally:
        logging.getLogger("aiokafka").removeHandler(reasons)


class _ConnectFailures(logging.Handler):
    """Keeps aiokafka's last "Unable connect" line: the broker's reason (a refused login, a
    failed handshake) is logged there, while the raised error only says "Unable to bootstrap"."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Unable connect"):
            self.last = message[:500]


async def _stop_quietly(client: _Startable) -> None:
    with contextlib.suppress(Exception):  # the start failed: its error is the one to report
        await client.stop()


def _describe(
    exc: BaseException,
    settings: KafkaSecuritySettings,
    servers: str,
    timeout: float,
    reason: str | None,
) -> str:
    who = (
        f"as [{settings.username}] with [{settings.sasl_mechanism}]"
        if settings.uses_sasl
        else "without SASL"
    )
    if isinstance(exc, TimeoutError):
        cause = f"no successful connection within [{timeout}]s"
    elif isinstance(exc, UnsupportedSaslMechanismError):
        cause = f"the broker does not offer [{settings.sasl_mechanism}]"
    elif isinstance(exc, KafkaConnectionError | ssl.SSLError | OSError):
        cause = f"connection failed: {exc}"
    else:
        cause = f"{type(exc).__name__}: {exc}"
    if reason:
        cause = f"{cause}; last refusal: {reason}"
    return (
        f"cannot start a Kafka client on [{servers}] over [{settings.security_protocol}] {who}: "
        f"{cause} (check the password, the user's existence, the CA and certificates)"
    )

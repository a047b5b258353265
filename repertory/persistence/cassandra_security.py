"""TLS and password authentication for the journal's Cassandra driver, and the translation of
a refused login or handshake at connect into one clear error.

The journal's cluster is built as ``Cluster(..., **cassandra_connection_options(security))``.
"""

from __future__ import annotations

import ssl
from typing import Any

from cassandra import AuthenticationFailed as DriverAuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable

from repertory.config import CassandraSecuritySettings
from repertory.errors import AuthenticationFailed

__all__ = ["auth_failure", "cassandra_connection_options", "cassandra_ssl_context"]


def cassandra_ssl_context(settings: CassandraSecuritySettings) -> ssl.SSLContext | None:
    """The TLS context when ``tls`` is on, else None.

    The node's certificate is always verified (against ``ca_file``, or the system's CAs); with
    ``check_hostname`` the driver also checks that it names the contact point.

    Raises:
        ConfigError: a certificate or key file cannot be loaded (names the file).
    """
    if not settings.tls:
        return None
    return settings.client_tls_context("cassandra_security")


def cassandra_connection_options(settings: CassandraSecuritySettings) -> dict[str, Any]:
    """Keyword arguments for ``cassandra.cluster.Cluster``: ``ssl_context`` when TLS is on and
    ``auth_provider`` (PasswordAuthenticator's plain-text SASL) when a user is set; empty when
    neither is.

    Raises:
        ConfigError: a certificate, key or password file cannot be read.
    """
    options: dict[str, Any] = {}
    context = cassandra_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.username:
        options["auth_provider"] = PlainTextAuthProvider(
            username=settings.username, password=settings.resolved_password()
        )
    return options


def auth_failure(
    exc: BaseException, settings: CassandraSecuritySettings, where: str
) -> AuthenticationFailed | None:
    """The clear error for a connect that failed on credentials or TLS, else None.

    Use it where ``Cluster.connect`` fails::

        except NoHostAvailable as exc:
            raise (auth_failure(exc, security, "127.0.0.1:9042") or JournalUnavailable(...))

    Args:
        exc: what ``connect`` raised.
        settings: the security section used (its user is named, its password never).
        where: the contact points, for the message.
    """
    errors = exc.errors.values() if isinstance(exc, NoHostAvailable) else [exc]
    who = f"as [{settings.username}]" if settings.username else "without credentials"
    tls = "TLS" if settings.tls else "no TLS"
    for error in errors:
        if isinstance(error, DriverAuthenticationFailed):
            return AuthenticationFailed(
                f"Cassandra at [{where}] refused the login {who} with [PasswordAuthenticator] "
                f"over {tls}: {_first_line(error)} (check the role and its password)"
            )
        # The driver reports a failed certificate check as an OSError carrying the SSL text.
        if isinstance(error, ssl.SSLError) or (isinstance(error, OSError) and "SSL" in str(error)):
            return AuthenticationFailed(
                f"TLS handshake with Cassandra at [{where}] failed {who}: {_first_line(error)} "
                "(check ca_file, cert_file/key_file and check_hostname)"
            )
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__

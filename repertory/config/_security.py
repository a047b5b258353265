"""Settings of the ``kafka_security`` and ``cassandra_security`` sections: TLS and credentials.

Passwords are ``SecretStr`` (``repr``, ``str`` and model dumps show ``**********``) and come
from the environment (``REPERTORY_KAFKA_SECURITY__PASSWORD``) or from a file named by
``password_file`` (a mounted secret), never from command-line flags: a flag is visible to every
user of the machine in the process list. A password file is read when a client is built, so a
restart picks up a rotated secret; one trailing newline is dropped.
"""

from __future__ import annotations

import ssl
from typing import Literal

from pydantic import ConfigDict, FilePath, SecretStr, model_validator

from repertory.config._base import Section
from repertory.errors import ConfigError

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class _Credentials(Section):
    """A user name and a password given inline (environment) or as a file; not both."""

    # A validation error would otherwise quote the raw input, password included.
    model_config = ConfigDict(hide_input_in_errors=True)

    username: str | None = None
    """The user (SASL user for Kafka, role for Cassandra). Default none."""

    password: SecretStr | None = None
    """The password; set it through the environment, never a flag. Never shown or logged."""

    password_file: FilePath | None = None
    """A file holding the password (e.g. a mounted secret); read when a client is built."""

    def resolved_password(self) -> str | None:
        """The password from ``password`` or ``password_file``; None when neither is set.

        Raises:
            ConfigError: the password file cannot be read (names the file, never its content).
        """
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is None:
            return None
        try:
            text = self.password_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read password file [{self.password_file}]: {exc}") from exc
        return text.removesuffix("\n").removesuffix("\r")

    def _check_credentials(self) -> None:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise ValueError("a password needs a username")


class _Tls(Section):
    """Where the certificates are: the CA that signs the servers', and our own (mutual TLS)."""

    ca_file: FilePath | None = None
    """PEM file of the CA certificate(s) that sign the servers' certificates. Default none:
    the system's trusted CAs."""

    cert_file: FilePath | None = None
    """PEM file of this client's certificate (chain), for servers that require client
    certificates. Default none."""

    key_file: FilePath | None = None
    """PEM file of the private key of ``cert_file`` (unencrypted; protect it with file
    permissions). Default none."""

    check_hostname: bool = True
    """Verify that the server's certificate names the host connected to. Default true; turn it
    off only for certificates without the right names, never to silence an unknown CA."""

    def _check_tls(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")

    def client_tls_context(self, section: str) -> ssl.SSLContext:
        """A client TLS context from these files: TLS 1.2 at least, the server's certificate
        always verified (against ``ca_file``, or the system's CAs).

        Raises:
            ConfigError: a certificate or key file cannot be loaded (names the section).
        """
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=str(self.ca_file) if self.ca_file else None,
            )
            if self.cert_file and self.key_file:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{section}: cannot load certificates: {exc}") from exc
        context.check_hostname = self.check_hostname
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


class KafkaSecuritySettings(_Credentials, _Tls):
    """How every Kafka client (consumer, producers, admin) authenticates and encrypts."""

    security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    """PLAINTEXT (default, the dev stack), SSL (TLS), SASL_PLAINTEXT (credentials without TLS:
    only on a trusted network) or SASL_SSL (credentials over TLS)."""

    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    """The SASL mechanism for the SASL_* protocols: SCRAM-SHA-512 (default), SCRAM-SHA-256 or
    PLAIN (the password crosses the connection: only with SASL_SSL)."""

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @model_validator(mode="after")
    def _coherent(self) -> KafkaSecuritySettings:
        self._check_credentials()
        self._check_tls()
        if self.uses_sasl and (not self.username or not self._has_password()):
            raise ValueError(f"{self.security_protocol} needs username and password (or file)")
        if not self.uses_sasl and (self.username or self._has_password()):
            raise ValueError(f"{self.security_protocol} takes no username or password")
        if not self.uses_tls and (self.ca_file or self.cert_file):
            raise ValueError(f"{self.security_protocol} takes no certificates; use SSL/SASL_SSL")
        return self

    def _has_password(self) -> bool:
        return self.password is not None or self.password_file is not None


class CassandraSecuritySettings(_Credentials, _Tls):
    """How the journal's driver authenticates to Cassandra and encrypts its connections."""

    tls: bool = False
    """Encrypt client connections (Cassandra's ``client_encryption_options``). Default false."""

    @model_validator(mode="after")
    def _coherent(self) -> CassandraSecuritySettings:
        self._check_credentials()
        self._check_tls()
        if self.username and self.password is None and self.password_file is None:
            raise ValueError("username needs password or password_file")
        if not self.tls and (self.ca_file or self.cert_file):
            raise ValueError("certificates are set but tls is false")
        return self


__all__ = [
    "CassandraSecuritySettings",
    "KafkaSecurityProtocol",
    "KafkaSecuritySettings",
    "SaslMechanism",
]

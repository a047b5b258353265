"""A secured dev stack, for the tests of TLS and SASL: Kafka with an extra SASL_SSL listener
(SCRAM-SHA-512/256 and PLAIN users) and Cassandra with client TLS and PasswordAuthenticator.

Run it beside the default stack, never instead of it: give it its own ``state_dir`` and a
``port_offset`` (Cassandra authentication is node-wide, so it must be a separate node). The
certificates are the caller's (tests generate them); every file is PEM, no JKS.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from repertory.config import DevstackSettings
from repertory.devstack._cassandra import Cassandra
from repertory.devstack._kafka import Kafka
from repertory.devstack._server import HOST
from repertory.devstack._templates import render
from repertory.errors import DevstackError

__all__ = ["SecureCassandra", "SecureKafka", "StackSecurity"]

# Names and passwords go into StorageTool's ``[name=...,password=...]`` and into JAAS text, so
# they are kept to characters neither syntax treats specially.
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SCRAM_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


@dataclass(frozen=True, slots=True, kw_only=True)
class StackSecurity:
    """The certificates and users of a secured stack.

    Args:
        ca_file: PEM certificate of the CA that signed the server and client certificates.
        server_keystore: PEM with the server's PKCS#8 private key (unencrypted) followed by its
            certificate chain; the certificate must name ``127.0.0.1``.
        client_cert_file: PEM certificate the stack's own probes present (mutual TLS).
        client_key_file: PEM private key of ``client_cert_file``.
        scram_users: Kafka SCRAM users (SHA-512 and SHA-256), name → password.
        plain_users: Kafka PLAIN users, name → password.
        cassandra_superuser: the role the probe logs in as; Cassandra creates
            ``cassandra``/``cassandra`` on first start.
        require_client_certificates: both servers refuse clients without a CA-signed certificate.
    """

    ca_file: Path
    server_keystore: Path
    client_cert_file: Path
    client_key_file: Path
    scram_users: Mapping[str, str] = field(default_factory=dict)
    plain_users: Mapping[str, str] = field(default_factory=dict)
    cassandra_superuser: tuple[str, str] = ("cassandra", "cassandra")
    require_client_certificates: bool = True

    def __post_init__(self) -> None:
        for users in (self.scram_users, self.plain_users):
            for name, password in users.items():
                if not (_SAFE.match(name) and _SAFE.match(password)):
                    raise DevstackError(
                        f"user [{name}]: names and passwords must match {_SAFE.pattern}"
                    )

    def __repr__(self) -> str:  # passwords stay out of logs and test reports
        return (
            f"StackSecurity(ca_file={self.ca_file}, scram_users={sorted(self.scram_users)}, "
            f"plain_users={sorted(self.plain_users)})"
        )

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context trusting the CA and presenting the client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.client_cert_file), str(self.client_key_file))
        return context


class SecureKafka(Kafka):
    """Kafka with a SASL_SSL listener on ``kafka_secure_port`` beside PLAINTEXT."""

    def __init__(self, settings: DevstackSettings, security: StackSecurity) -> None:
        super().__init__(settings)
        self.security = security

    @property
    def secure_bootstrap(self) -> str:
        """``host:port`` of the SASL_SSL listener."""
        return f"{HOST}:{self.settings.port('kafka_secure')}"

    def port_names(self) -> tuple[str, ...]:
        return (*super().port_names(), "kafka_secure")

    def write_config(self) -> None:
        super().write_config()
        security = self.security
        plain = "".join(f' user_{name}="{pw}"' for name, pw in security.plain_users.items())
        extra = render(
            "server-sasl-ssl.properties",
            {
                "port": self.port,
                "secure_port": self.settings.port("kafka_secure"),
                "controller_port": self.settings.port("kafka_controller"),
                "keystore": security.server_keystore,
                "truststore": security.ca_file,
                "client_auth": "required" if security.require_client_certificates else "none",
                "plain_users": plain,
            },
        )
        path = self.conf / "server.properties"
        path.write_text(path.read_text() + extra)

    def prepare(self, java: str) -> None:
        """Format the storage with the SCRAM users (KRaft keeps them in the cluster metadata)."""
        if (self.data / "meta.properties").exists():
            return
        cluster_id = self._tool(java, "random-uuid").strip().splitlines()[-1]
        scram = [
            arg
            for name, password in self.security.scram_users.items()
            for mechanism in SCRAM_MECHANISMS
            for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
        ]
        config = str(self.conf / "server.properties")
        self._tool(java, "format", "-t", cluster_id, "-c", config, *scram)


class SecureCassandra(Cassandra):
    """Cassandra with client TLS (PEM) and PasswordAuthenticator."""

    authenticator = "PasswordAuthenticator"

    def __init__(self, settings: DevstackSettings, security: StackSecurity) -> None:
        super().__init__(settings)
        self.security = security

    def extra_yaml(self) -> str:
        require = "true" if self.security.require_client_certificates else "false"
        return render(
            "cassandra-tls.yaml",
            {
                "keystore": self.security.server_keystore,
                "truststore": self.security.ca_file,
                "require_client_auth": require,
            },
        )

    def probe(self, timeout: float) -> None:
        # Imported here: only the dev stack's probe needs a CQL client in this package part.
        from cassandra.auth import PlainTextAuthProvider
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy

        user, password = self.security.cassandra_superuser
        cluster = Cluster(
            contact_points=[HOST],
            port=self.port,
            protocol_version=5,
            connect_timeout=timeout,
            ssl_context=self.security.client_ssl_context(),
            auth_provider=PlainTextAuthProvider(username=user, password=password),
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(
                    load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout
                )
            },
        )
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            if row is None:
                raise DevstackError("system.local returned no row")
        finally:
            cluster.shutdown()

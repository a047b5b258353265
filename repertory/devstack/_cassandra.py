"""Apache Cassandra 5.0 as a single node on loopback, run straight from ``cassandra-all``.

Readiness is a CQL query over the native protocol, which Cassandra opens only after start-up
has finished (schema loaded, commit log replayed).
"""

from __future__ import annotations

from repertory.devstack._jars import JarSet, cassandra_jars
from repertory.devstack._server import HOST, Server
from repertory.devstack._templates import render
from repertory.errors import DevstackError

# Cassandra's own list for JDK 17 (its conf/jvm17-server.options): the internals it reaches into.
_ADD_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
)
_ADD_OPENS = (
    *(
        f"java.base/{package}"
        for package in (
            "java.lang.module",
            "jdk.internal.loader",
            "jdk.internal.ref",
            "jdk.internal.reflect",
            "jdk.internal.math",
            "jdk.internal.module",
            "jdk.internal.util.jar",
            "sun.nio.ch",
            "java.io",
            "java.nio",
            "java.lang.reflect",
            "java.lang",
            "java.util",
            "java.util.concurrent",
            "java.util.concurrent.atomic",
        )
    ),
    "jdk.management/com.sun.management.internal",
    "jdk.compiler/com.sun.tools.javac",
)
# Start in seconds: a single node has no gossip to wait for and no ring to settle.
_FAST_START = (
    "-Dcassandra.skip_wait_for_gossip_to_settle=0",
    "-Dcassandra.ring_delay_ms=1000",
    "-Dcassandra.superuser_setup_delay_ms=0",
)


class Cassandra(Server):
    name = "cassandra"
    main_class = "org.apache.cassandra.service.CassandraDaemon"

    @property
    def contact(self) -> tuple[str, int]:
        return HOST, self.port

    authenticator = "AllowAllAuthenticator"
    """Cassandra's ``authenticator``; a secured stack uses ``PasswordAuthenticator``."""

    def port_names(self) -> tuple[str, ...]:
        return ("cassandra", "cassandra_storage", "cassandra_jmx")

    def extra_yaml(self) -> str:
        """Appended to ``cassandra.yaml`` (a secured stack's TLS options); nothing by default."""
        return ""

    def jars(self) -> JarSet:
        return cassandra_jars(self.settings.cassandra_version)

    def write_config(self) -> None:
        self.make_dirs()
        yaml = render(
            "cassandra.yaml",
            {
                "port": self.port,
                "storage_port": self.settings.port("cassandra_storage"),
                "data_dir": self.data,
                "authenticator": self.authenticator,
            },
        )
        (self.conf / "cassandra.yaml").write_text(yaml + self.extra_yaml())
        (self.conf / "logback.xml").write_text(render("logback.xml", {}))
        (self.conf / "triggers").mkdir(exist_ok=True)

    def command(self, java: str) -> list[str]:
        heap = self.settings.cassandra_heap
        return [
            java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Xss256k",
            "-XX:+ExitOnOutOfMemoryError",
            f"-javaagent:{self._jamm()}",
            *(f"--add-exports={module}=ALL-UNNAMED" for module in _ADD_EXPORTS),
            *(f"--add-opens={module}=ALL-UNNAMED" for module in _ADD_OPENS),
            "-Djdk.attach.allowAttachSelf=true",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Djava.net.preferIPv4Stack=true",
            "-Djava.awt.headless=true",
            f"-Dcassandra.config=file://{self.conf}/cassandra.yaml",
            f"-Dcassandra.storagedir={self.data}",
            f"-Dcassandra.logdir={self.logs}",
            f"-Dcassandra.triggers_dir={self.conf / 'triggers'}",
            f"-Dlogback.configurationFile=file://{self.conf}/logback.xml",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.jmx.local.port={self.settings.port('cassandra_jmx')}",
            *_FAST_START,
            "-cp",
            f"{self.conf}:{self.lib}/*",
            self.main_class,
        ]

    def probe(self, timeout: float) -> None:
        # Imported here: only the dev stack's probe needs a CQL client in this package part.
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy

        cluster = Cluster(
            contact_points=[HOST],
            port=self.port,
            protocol_version=5,
            connect_timeout=timeout,
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

    def _jamm(self) -> str:
        agents = sorted(self.lib.glob("jamm-*.jar"))
        if not agents:
            raise DevstackError(f"no jamm-*.jar in [{self.lib}]; resolve the jars again")
        return str(agents[-1])

"""Resolves each server's runtime jars with the machine's Maven into a versioned cache.

The cache lives outside the repository (``devstack.cache_dir``), one directory per server and
version. A marker file holding the hash of the pom is written only after Maven succeeded, so a
second run downloads nothing, an interrupted run is redone from scratch, and a changed pom (a new
version, another logging binding) resolves again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from repertory.devstack._templates import render
from repertory.errors import DevstackError

MARKER = "resolved.sha256"
"""Written beside ``lib/`` once every jar is in place; holds the hash of the pom used."""

INSTALL_HINT = "install OpenJDK 17 and Maven: apt-get install openjdk-17-jdk-headless maven"

LOG4J_VERSION = "2.24.3"
"""log4j2 binding for Kafka, whose broker jar ships no slf4j binding of its own."""

SLF4J_VERSION = "2.0.16"
"""The slf4j API the log4j2 binding is built for. Kafka's pom asks for 1.7.36, which finds no
slf4j 2 provider and silently drops every log line; a direct dependency wins over it."""

MVN_TIMEOUT = 1800.0
"""Seconds one Maven resolve may take (a slow mirror, a cold ~/.m2)."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """Maven coordinates of one direct dependency."""

    group_id: str
    artifact_id: str
    version: str


@dataclass(frozen=True, slots=True)
class JarSet:
    """The runtime jars of one server release: what to resolve and where they go."""

    server: str
    version: str
    artifacts: tuple[Artifact, ...]

    def home(self, cache_dir: Path) -> Path:
        """``<cache_dir>/<server>-<version>``: pom, marker and ``lib/``."""
        return cache_dir / f"{self.server}-{self.version}"

    def lib(self, cache_dir: Path) -> Path:
        """The directory holding the jars (the classpath is ``<lib>/*``)."""
        return self.home(cache_dir) / "lib"


def kafka_jars(version: str) -> JarSet:
    """Apache Kafka (Scala 2.13 build) plus a log4j2 binding for its slf4j logging."""
    log4j = "org.apache.logging.log4j"
    return JarSet(
        "kafka",
        version,
        (
            Artifact("org.apache.kafka", "kafka_2.13", version),
            Artifact(log4j, "log4j-core", LOG4J_VERSION),
            Artifact(log4j, "log4j-slf4j2-impl", LOG4J_VERSION),
            Artifact("org.slf4j", "slf4j-api", SLF4J_VERSION),
        ),
    )


def cassandra_jars(version: str) -> JarSet:
    """Apache Cassandra's server jar; it brings logback as its logging binding."""
    server_jar = Artifact("org.apache.cassandra", "cassandra-all", version)
    return JarSet("cassandra", version, (server_jar,))


def render_pom(jars: JarSet) -> str:
    """The pom whose runtime dependencies are exactly the server's jars."""
    dependencies = "\n".join(
        "    <dependency>\n"
        f"      <groupId>{a.group_id}</groupId>\n"
        f"      <artifactId>{a.artifact_id}</artifactId>\n"
        f"      <version>{a.version}</version>\n"
        "    </dependency>"
        for a in jars.artifacts
    )
    return render(
        "pom.xml",
        {
            "artifact_id": f"{jars.server}-jars",
            "version": jars.version,
            "dependencies": dependencies,
        },
    )


def is_resolved(jars: JarSet, cache_dir: Path) -> bool:
    """True when the marker matches this pom, so nothing needs downloading."""
    marker = jars.home(cache_dir) / MARKER
    try:
        recorded = marker.read_text().strip()
    except OSError:
        return False
    return recorded == _digest(render_pom(jars)) and jars.lib(cache_dir).is_dir()


def resolve(jars: JarSet, cache_dir: Path) -> bool:
    """Make sure the server's jars are in the cache.

    Returns:
        True if Maven ran (jars were resolved now), False if the cache already had them.

    Raises:
        DevstackError: Maven is missing or failed (with the tail of its output).
    """
    if is_resolved(jars, cache_dir):
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError(f"[mvn] not found on PATH; {INSTALL_HINT}")
    home = jars.home(cache_dir)
    lib = jars.lib(cache_dir)
    pom_text = render_pom(jars)
    (home / MARKER).unlink(missing_ok=True)
    shutil.rmtree(lib, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    pom = home / "pom.xml"
    pom.write_text(pom_text)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={lib}",
    ]
    _run_maven(jars, command)
    if not any(lib.glob("*.jar")):
        raise DevstackError(f"Maven resolved no jars for [{jars.server} {jars.version}] in [{lib}]")
    (home / MARKER).write_text(_digest(pom_text) + "\n")
    return True


def resolve_all(sets: list[JarSet], cache_dir: Path) -> dict[str, bool]:
    """Resolve several servers at once (each its own Maven process); returns server → ran.

    Raises:
        DevstackError: the first failure, after every resolve finished.
    """
    missing = [jars for jars in sets if not is_resolved(jars, cache_dir)]
    ran = {jars.server: False for jars in sets}
    if not missing:
        return ran
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:
        futures = {jars.server: pool.submit(resolve, jars, cache_dir) for jars in missing}
        errors: list[str] = []
        for server, future in futures.items():
            try:
                ran[server] = future.result()
            except DevstackError as exc:
                errors.append(str(exc))
    if errors:
        raise DevstackError("\n".join(errors))
    return ran


def _run_maven(jars: JarSet, command: list[str]) -> None:
    # Output goes to a file, not a pipe: a quiet Maven prints little, a failing one a lot.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        try:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=MVN_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DevstackError(
                f"Maven took over {MVN_TIMEOUT:.0f} s resolving [{jars.server} {jars.version}]"
            ) from exc
        if result.returncode != 0:
            out.seek(0)
            tail = "\n".join(out.read().splitlines()[-25:])
            raise DevstackError(
                f"Maven failed (exit {result.returncode}) resolving "
                f"[{jars.server} {jars.version}]: {' '.join(command)}\n{tail}"
            )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

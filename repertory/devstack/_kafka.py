"""Apache Kafka as a single KRaft node (broker and controller in one JVM).

Readiness is a produce and a consume of one record through a consumer group, not an open
port: the broker accepts connections well before its metadata and group coordinator serve.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid

from repertory.devstack._jars import JarSet, kafka_jars
from repertory.devstack._server import HOST, Server
from repertory.devstack._templates import render
from repertory.errors import DevstackError

PROBE_TOPIC = "__repertory_devstack_probe"
PROBE_GROUP = "__repertory_devstack_probe"

_TOOL_TIMEOUT = 120.0


class Kafka(Server):
    name = "kafka"
    main_class = "kafka.Kafka"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def port_names(self) -> tuple[str, ...]:
        return ("kafka", "kafka_controller")

    def jars(self) -> JarSet:
        return kafka_jars(self.settings.kafka_version)

    def write_config(self) -> None:
        self.make_dirs()
        properties = render(
            "server.properties",
            {
                "port": self.port,
                "controller_port": self.settings.port("kafka_controller"),
                "data_dir": self.data,
            },
        )
        (self.conf / "server.properties").write_text(properties)
        (self.conf / "log4j2.properties").write_text(render("log4j2.properties", {}))

    def prepare(self, java: str) -> None:
        """Format the KRaft storage once per data directory (its ``meta.properties`` marks it)."""
        if (self.data / "meta.properties").exists():
            return
        cluster_id = self._tool(java, "random-uuid").strip().splitlines()[-1]
        self._tool(java, "format", "-t", cluster_id, "-c", str(self.conf / "server.properties"))

    def command(self, java: str) -> list[str]:
        return [
            java,
            "-Xms512m",
            f"-Xmx{self.settings.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            *self._logging_flags(),
            "-cp",
            f"{self.lib}/*",
            self.main_class,
            str(self.conf / "server.properties"),
        ]

    def probe(self, timeout: float) -> None:
        asyncio.run(asyncio.wait_for(_round_trip(self.bootstrap), timeout))

    def _logging_flags(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile=file:{self.conf}/log4j2.properties",
            f"-Dkafka.logs.dir={self.logs}",
        ]

    def _tool(self, java: str, *args: str) -> str:
        command = [
            java,
            "-Xmx256m",
            *self._logging_flags(),
            "-cp",
            f"{self.lib}/*",
            "kafka.tools.StorageTool",
            *args,
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=_TOOL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise DevstackError(f"kafka StorageTool [{args[0]}] timed out") from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-20:]
            raise DevstackError(
                f"kafka StorageTool [{args[0]}] failed (exit {result.returncode}):\n"
                + "\n".join(output)
            )
        return result.stdout


async def _round_trip(bootstrap: str) -> None:
    # Imported here: only the dev stack's probe needs a Kafka client in this package part.
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(PROBE_TOPIC, 1, 1)])
        for topic_error in response.topic_errors:
            error = for_code(topic_error[1])
            if topic_error[1] and error is not TopicAlreadyExistsError:
                raise error(str(topic_error))
    finally:
        await admin.close()

    token = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5000)
    await producer.start()
    try:
        sent = await producer.send_and_wait(PROBE_TOPIC, token)
    finally:
        await producer.stop()

    partition = TopicPartition(PROBE_TOPIC, sent.partition)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=PROBE_GROUP,
        enable_auto_commit=False,
        request_timeout_ms=5000,
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        while True:
            batches = await consumer.getmany(partition, timeout_ms=1000)
            if any(record.value == token for record in batches.get(partition, [])):
                break
        # A commit makes the broker create its offsets topic now rather than in the first test.
        await consumer.commit({partition: sent.offset + 1})
    finally:
        await consumer.stop()

"""The dev stack's rendered files: server configuration with ports and offsets, and the pom."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from repertory.config import DevstackSettings
from repertory.devstack._cassandra import Cassandra
from repertory.devstack._jars import cassandra_jars, kafka_jars, render_pom
from repertory.devstack._kafka import Kafka
from repertory.devstack._templates import render
from repertory.errors import DevstackError

POM = "{http://maven.apache.org/POM/4.0.0}"


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_kafka_properties_carry_ports_plus_offset(tmp_path: Path) -> None:
    settings = DevstackSettings(state_dir=tmp_path, port_offset=100)
    kafka = Kafka(settings)
    kafka.write_config()
    props = properties(tmp_path / "kafka" / "conf" / "server.properties")

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19192,CONTROLLER://127.0.0.1:19193"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19192"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19193"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert props["process.roles"] == "broker,controller"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.min.isr"):
        assert props[key] == "1"
    assert props["offsets.topic.num.partitions"] == "4"
    assert props["transaction.state.log.num.partitions"] == "4"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["group.min.session.timeout.ms"] == "500"
    assert kafka.bootstrap == "127.0.0.1:19192"
    assert (tmp_path / "kafka" / "conf" / "log4j2.properties").is_file()


def test_cassandra_yaml_carries_ports_plus_offset(tmp_path: Path) -> None:
    settings = DevstackSettings(state_dir=tmp_path, port_offset=7)
    cassandra = Cassandra(settings)
    cassandra.write_config()
    yaml = (tmp_path / "cassandra" / "conf" / "cassandra.yaml").read_text()

    assert "native_transport_port: 19049\n" in yaml
    assert "storage_port: 17007\n" in yaml
    assert 'seeds: "127.0.0.1:17007"' in yaml
    assert f"commitlog_directory: {tmp_path}/cassandra/data/commitlog\n" in yaml
    for setting in (
        "num_tokens: 1",
        "initial_token: 0",
        "paxos_variant: v2",
        "paxos_state_purging: repaired",
        "commitlog_sync: periodic",
        "auto_snapshot: false",
        "storage_compatibility_mode: NONE",
        "batch_size_fail_threshold: 50KiB",
    ):
        assert f"\n{setting}\n" in yaml
    assert "{{" not in yaml
    assert cassandra.contact == ("127.0.0.1", 19049)
    assert cassandra.ports() == {
        "cassandra_port": 19049,
        "cassandra_storage_port": 17007,
        "cassandra_jmx_port": 17206,
    }


def test_cassandra_command_line_has_jdk17_flags_and_the_jamm_agent(tmp_path: Path) -> None:
    settings = DevstackSettings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    cassandra = Cassandra(settings)
    cassandra.lib.mkdir(parents=True)
    (cassandra.lib / "jamm-0.4.0.jar").touch()

    command = cassandra.command("/usr/bin/java")

    assert command[-1] == "org.apache.cassandra.service.CassandraDaemon"
    assert f"-javaagent:{cassandra.lib}/jamm-0.4.0.jar" in command
    assert "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED" in command
    assert "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED" in command
    assert {"-Xms1G", "-Xmx1G", "-Dcassandra.jmx.local.port=17199"} <= set(command)


def test_render_refuses_missing_and_unused_values() -> None:
    with pytest.raises(DevstackError, match=r"missing values \['controller_port'"):
        render("server.properties", {"port": 1, "data_dir": "/x"})
    with pytest.raises(DevstackError, match=r"unused values \['surplus'\]"):
        render("log4j2.properties", {"surplus": 1})


def test_kafka_pom_pins_the_broker_and_its_logging() -> None:
    root = ET.fromstring(render_pom(kafka_jars("4.1.1")))
    deps = {
        (d.findtext(f"{POM}groupId"), d.findtext(f"{POM}artifactId")): d.findtext(f"{POM}version")
        for d in root.iter(f"{POM}dependency")
    }
    assert root.findtext(f"{POM}packaging") == "pom"
    assert deps == {
        ("org.apache.kafka", "kafka_2.13"): "4.1.1",
        ("org.apache.logging.log4j", "log4j-core"): "2.24.3",
        ("org.apache.logging.log4j", "log4j-slf4j2-impl"): "2.24.3",
        ("org.slf4j", "slf4j-api"): "2.0.16",
    }
    plugin = next(root.iter(f"{POM}plugin"))
    assert plugin.findtext(f"{POM}artifactId") == "maven-dependency-plugin"


def test_cassandra_pom_names_cassandra_all_of_the_configured_version() -> None:
    root = ET.fromstring(render_pom(cassandra_jars("5.0.6")))
    [dependency] = list(root.iter(f"{POM}dependency"))
    assert dependency.findtext(f"{POM}artifactId") == "cassandra-all"
    assert dependency.findtext(f"{POM}version") == "5.0.6"
    assert root.findtext(f"{POM}version") == "5.0.6"

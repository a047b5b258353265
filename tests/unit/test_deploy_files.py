"""Dockerfile, docker-compose.yml, Prometheus config and Kubernetes manifests agree with the
engine: every REPERTORY_* variable names a real setting and validates, ports and probes follow
the metrics port, the grace period covers the drain, the CLI accepts the commands given."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

import click
import pytest

from repertory.config import Settings, load_settings
from repertory.observability.metrics import worker_metrics_port
from tests.unit.deploy_support import (
    DEPLOY,
    ROOT,
    load_yaml_documents,
    settings_env_name_exists,
)

K8S = DEPLOY / "k8s"
DRAIN_MARGIN = (10, 60)  # seconds the grace period may exceed the drain by


def settings_from_env(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process would load with exactly these REPERTORY_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith("REPERTORY_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("REPERTORY_"):
            monkeypatch.setenv(name, str(value))
    monkeypatch.chdir(ROOT / "deploy")  # no repertory.toml here
    return load_settings()


def check_cli_accepts(args: list[str]) -> dict[str, Any]:
    """The parameters the real CLI parses from ``args`` (a failure if it would refuse them)."""
    from repertory.cli import main

    command = main.commands.get(args[0])
    assert command is not None, (
        f"the CLI has no [{args[0]}] command: `repertory {shlex.join(args)}`"
    )
    try:
        return dict(
            command.make_context(args[0], list(args[1:]), parent=click.Context(main)).params
        )
    except click.UsageError as exc:
        pytest.fail(f"`repertory {shlex.join(args)}`: {exc}")


def run_processes(params: Mapping[str, Any]) -> int:
    """Engines `repertory run` starts: --workers N processes, else one in its own process."""
    return int(params["workers"] or 1)


def test_the_helper_knows_real_setting_names() -> None:
    assert settings_env_name_exists("REPERTORY_OBSERVABILITY__METRICS_PORT")
    assert settings_env_name_exists("REPERTORY_WORKERS__DRAIN_TIMEOUT")
    assert not settings_env_name_exists("REPERTORY_OBSERVABILITY__PORT")
    assert not settings_env_name_exists("REPERTORY_NOPE__METRICS_PORT")


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_with_init_and_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) == 2 and all("slim" in s for s in stages)
    assert "pip wheel" in text and "COPY --from=builder" in text
    assert re.search(r"^USER 10001", text, re.M)
    entry = re.search(r"^ENTRYPOINT (.+)$", text, re.M)
    assert entry and '"tini", "--", "repertory"' in entry.group(1).replace("/usr/bin/", "")
    env = dict(re.findall(r"(REPERTORY_[A-Z_]+)=(\S+)", text))
    assert all(settings_env_name_exists(name) for name in env)
    port = env["REPERTORY_OBSERVABILITY__METRICS_PORT"]
    assert re.search(rf"^EXPOSE {port}$", text, re.M)
    assert env["REPERTORY_OBSERVABILITY__BIND_ADDRESS"] == "0.0.0.0"
    healthcheck = re.search(r"^HEALTHCHECK .*?\n(.*)$", text, re.M)
    assert healthcheck and "/healthz" in healthcheck.group(1) and "urllib" in healthcheck.group(1)


# --- docker-compose.yml ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (document,) = load_yaml_documents(ROOT / "docker-compose.yml")
    return dict(document)


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "cassandra", "engine", "prometheus", "grafana"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["cassandra"]["image"] == "cassandra:5.0"
    assert services["engine"]["build"] == "."


def test_compose_engine_environment_is_valid_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose["services"]["engine"]["environment"]
    unknown = [n for n in env if n.startswith("REPERTORY_") and not settings_env_name_exists(n)]
    assert unknown == []
    settings = settings_from_env(env, monkeypatch)
    host, port = settings.kafka.bootstrap_servers.split(":")
    kafka_env = compose["services"]["kafka"]["environment"]
    assert f"PLAINTEXT://{host}:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert (
        host in compose["services"] and settings.cassandra.contact_points[0] in compose["services"]
    )
    assert settings.cassandra.port == 9042  # the image's native-protocol port
    topics = compose["services"]["kafka-topics"]["command"][0]
    for topic in (settings.kafka.commands_topic, settings.kafka.state_changes_topic):
        assert f"{topic}:" in topics


def test_compose_publishes_and_scrapes_one_port_per_worker(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from_env(compose["services"]["engine"]["environment"], monkeypatch)
    base = settings.observability.metrics_port
    ports = [worker_metrics_port(base, slot) for slot in range(settings.workers.count)]
    assert base != 0 and settings.observability.bind_address == "0.0.0.0"
    assert compose["services"]["engine"]["ports"] == [f"{p}:{p}" for p in ports]
    (prometheus,) = load_yaml_documents(DEPLOY / "prometheus" / "prometheus.yml")
    (job,) = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"engine:{p}" for p in ports]
    grace = int(compose["services"]["engine"]["stop_grace_period"].rstrip("s"))
    low, high = DRAIN_MARGIN
    assert settings.workers.drain_timeout + low <= grace <= settings.workers.drain_timeout + high


def test_compose_runs_a_cli_command(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = compose["services"]["engine"]
    params = check_cli_accepts(engine["command"])
    assert params["app_module"] == "examples.bank.app"
    settings = settings_from_env(engine["environment"], monkeypatch)
    # the ports published and scraped are per worker of workers.count: run starts that many
    assert run_processes(params) == settings.workers.count


# --- Kubernetes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    (kustomization,) = load_yaml_documents(K8S / "kustomization.yaml")
    found: dict[str, dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for document in load_yaml_documents(K8S / name):
            assert document["kind"] not in found
            found[document["kind"]] = document
    listed = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == listed
    return found


def pod_spec(k8s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = k8s["Deployment"]["spec"]["template"]["spec"]
    return spec


def test_k8s_has_every_object(k8s: dict[str, dict[str, Any]]) -> None:
    assert set(k8s) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}


def test_k8s_settings_are_valid_and_fit_one_worker_per_pod(
    k8s: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = k8s["ConfigMap"]["data"]
    assert [n for n in data if not settings_env_name_exists(n)] == []
    settings = settings_from_env(data, monkeypatch)
    assert settings.workers.count == 1
    assert settings.kafka.enabled and settings.journal.mode == "fenced"
    assert settings.observability.bind_address == "0.0.0.0"
    (container,) = pod_spec(k8s)["containers"]
    assert container["envFrom"] == [
        {"configMapRef": {"name": k8s["ConfigMap"]["metadata"]["name"]}}
    ]


def test_k8s_probes_and_ports_follow_the_metrics_port(
    k8s: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from_env(k8s["ConfigMap"]["data"], monkeypatch)
    (container,) = pod_spec(k8s)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": settings.observability.metrics_port}
    probes = {
        kind: (container[kind]["httpGet"]["path"], ports.get(container[kind]["httpGet"]["port"]))
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    port = settings.observability.metrics_port
    assert probes == {
        "startupProbe": ("/healthz", port),
        "livenessProbe": ("/healthz", port),
        "readinessProbe": ("/readyz", port),
    }
    annotations = k8s["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    (service_port,) = k8s["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == "metrics" and service_port["port"] == port


def test_k8s_grace_period_covers_the_drain(
    k8s: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from_env(k8s["ConfigMap"]["data"], monkeypatch)
    grace = pod_spec(k8s)["terminationGracePeriodSeconds"]
    low, high = DRAIN_MARGIN
    assert settings.workers.drain_timeout + low <= grace <= settings.workers.drain_timeout + high


def test_k8s_selectors_match_the_pods_and_resources_are_requested(
    k8s: dict[str, dict[str, Any]],
) -> None:
    pod_labels = k8s["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert k8s["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert k8s["Service"]["spec"]["selector"].items() <= pod_labels.items()
    pdb = k8s["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["maxUnavailable"] == 1
    (container,) = pod_spec(k8s)["containers"]
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])


def test_k8s_runs_as_the_image_user_and_a_cli_command(k8s: dict[str, dict[str, Any]]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile)
    assert uid is not None
    security = pod_spec(k8s)["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == int(uid.group(1))
    (container,) = pod_spec(k8s)["containers"]
    params = check_cli_accepts(container["args"])
    assert params["app_module"] == "examples.bank.app"
    assert run_processes(params) == 1  # one worker per pod: the pods are the scale unit

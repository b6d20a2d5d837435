"""The kubernetes provisioner against a local HTTP server that speaks the Kubernetes API paths
it calls (no cluster here): the four objects with the right names, labels, image and
resources; `kubernetesStatus` from the Deployment's status; delete removes all four; API
errors and a refused connection answer `done: False` with the API's message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from agentplane.contracts.pap import DEFAULT_IMAGE, PapResources
from agentplane.lifecycle.provisioners.kubernetes import (
    KubernetesProvisioner,
    api_client,
)
from agentplane.lifecycle.provisioners.kubernetes_manifests import (
    AGENT_ID_LABEL,
    CLUSTER_ISSUER_ANNOTATION,
    KubernetesSettings,
    resource_name,
)
from agentplane.testing.fake_kubernetes import FakeKubernetesServer
from agentplane.testing.system import free_port

AGENT_ID = UUID("123e4567-e89b-12d3-a456-426614174000")
NAME = "my-agent"
DEPLOYMENT = "my-agent-123e4567"
NS = "agents"
RESOURCES = PapResources(
    cpu_request="250m", memory_request="128Mi", cpu_limit="500m", memory_limit="512Mi"
)


@pytest.fixture
def server() -> Iterator[FakeKubernetesServer]:
    with FakeKubernetesServer() as running:
        yield running


def provisioner_for(kubeconfig: Path, **settings: object) -> KubernetesProvisioner:
    return KubernetesProvisioner(api_client(str(kubeconfig)), KubernetesSettings(**settings))  # type: ignore[arg-type]


@pytest.fixture
def provisioner(server: FakeKubernetesServer, tmp_path: Path) -> KubernetesProvisioner:
    return provisioner_for(server.kubeconfig(tmp_path / "kubeconfig"), agent_domain="is.test")


def test_names_are_dns_labels_from_the_agent_name_and_a_short_id() -> None:
    assert resource_name(NAME, AGENT_ID) == DEPLOYMENT
    assert resource_name("7eleven", AGENT_ID) == "a-7eleven-123e4567"  # DNS-1035: a letter first
    long = resource_name("x" * 63, AGENT_ID)
    assert len(long) == 63 and long.endswith("-123e4567")


def test_create_makes_the_four_objects(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    outcome = provisioner.deploy(
        AGENT_ID, NAME, "ws-key", image="ghcr.io/x/agent:1", resources=RESOURCES
    )

    assert outcome.done, outcome.message
    assert DEPLOYMENT in outcome.message and f"namespace {NS}" in outcome.message
    assert provisioner.placement(AGENT_ID, NAME) == (NS, DEPLOYMENT)
    posted = [(r.method, r.kind, r.namespace) for r in server.state.received]
    assert posted == [
        ("POST", "Deployment", NS),
        ("POST", "Service", NS),
        ("POST", "Secret", NS),
        ("POST", "Ingress", NS),
    ]
    assert all(r.authorization == f"Bearer {server.TOKEN}" for r in server.state.received)

    deployment = server.state.get("Deployment", NS, DEPLOYMENT)
    assert deployment is not None
    labels = deployment["metadata"]["labels"]
    assert labels[AGENT_ID_LABEL] == str(AGENT_ID)
    assert labels["app.kubernetes.io/managed-by"] == "agentplane"
    assert labels["agentplane.io/agent-name"] == NAME
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/instance": DEPLOYMENT}
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == DEPLOYMENT
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/x/agent:1"
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    # The workspace key never goes into the cluster.
    assert "ws-key" not in repr(server.state.objects)

    service = server.state.get("Service", NS, DEPLOYMENT)
    assert service is not None
    assert service["spec"]["selector"] == {"app.kubernetes.io/instance": DEPLOYMENT}
    assert service["spec"]["ports"][0]["port"] == 80
    assert service["metadata"]["labels"][AGENT_ID_LABEL] == str(AGENT_ID)

    secret = server.state.get("Secret", NS, f"{DEPLOYMENT}-tls")
    assert secret is not None
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["stringData"]["tls.crt"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" in secret["stringData"]["tls.key"]

    ingress = server.state.get("Ingress", NS, DEPLOYMENT)
    assert ingress is not None
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "my-agent.is.test"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": DEPLOYMENT, "port": {"number": 80}}
    assert ingress["spec"]["tls"] == [
        {"hosts": ["my-agent.is.test"], "secretName": f"{DEPLOYMENT}-tls"}
    ]
    assert not ingress["metadata"].get("annotations")


def test_defaults_and_the_cert_manager_annotation(
    server: FakeKubernetesServer, tmp_path: Path
) -> None:
    provisioner = provisioner_for(
        server.kubeconfig(tmp_path / "kubeconfig"),
        namespace="fleet",
        cluster_issuer="letsencrypt",
        ingress_class="nginx",
    )
    assert provisioner.deploy(AGENT_ID, NAME).done
    deployment = server.state.get("Deployment", "fleet", DEPLOYMENT)
    assert deployment is not None
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == DEFAULT_IMAGE
    assert container["resources"]["limits"] == {"cpu": "1000m", "memory": "1Gi"}
    ingress = server.state.get("Ingress", "fleet", DEPLOYMENT)
    assert ingress is not None
    assert ingress["metadata"]["annotations"] == {CLUSTER_ISSUER_ANNOTATION: "letsencrypt"}
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_status_maps_from_the_deployment_status(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    assert provisioner.status(AGENT_ID, NAME) is None  # not deployed: the document's null
    assert provisioner.deploy(AGENT_ID, NAME).done
    server.state.set_status(
        NS,
        DEPLOYMENT,
        {
            "replicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
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
    assert provisioner.status(AGENT_ID, NAME) == {
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
    assert server.state.received[-1].path.endswith(f"/deployments/{DEPLOYMENT}/status")
    server.state.set_status(NS, DEPLOYMENT, {"replicas": 1, "unavailableReplicas": 1})
    status = provisioner.status(AGENT_ID, NAME)
    assert status is not None
    assert status["ready"] is False
    assert (status["readyReplicas"], status["unavailableReplicas"]) == (0, 1)


def test_delete_removes_all_four(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    assert provisioner.deploy(AGENT_ID, NAME).done
    assert len(server.state.objects) == 4
    outcome = provisioner.remove(AGENT_ID, NAME)
    assert outcome.done and not outcome.forced
    assert outcome.message.startswith("Agent my-agent deleted successfully")
    assert server.state.objects == {}
    deletes = [(r.kind, r.name) for r in server.state.received if r.method == "DELETE"]
    assert deletes == [
        ("Deployment", DEPLOYMENT),
        ("Service", DEPLOYMENT),
        ("Ingress", DEPLOYMENT),
        ("Secret", f"{DEPLOYMENT}-tls"),
    ]
    assert all(
        r.query.get("propagationPolicy") == ["Background"]
        for r in server.state.received
        if r.method == "DELETE"
    )
    # 404 is "already gone": a second delete is fine, and says there was nothing left.
    again = provisioner.remove(AGENT_ID, NAME)
    assert again.done
    assert "already gone" in again.message


def test_delete_with_some_already_gone(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    assert provisioner.deploy(AGENT_ID, NAME).done
    server.state.objects.pop(("Ingress", NS, DEPLOYMENT))
    outcome = provisioner.remove(AGENT_ID, NAME)
    assert outcome.done
    assert "already gone: Ingress" in outcome.message
    assert server.state.objects == {}


def test_create_conflict_reports_the_api_message(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    assert provisioner.deploy(AGENT_ID, NAME).done
    outcome = provisioner.deploy(AGENT_ID, NAME)
    assert not outcome.done
    assert "not deployed" in outcome.message
    assert f'409 Conflict: deployments.apps "{DEPLOYMENT}" already exists' in outcome.message
    assert len(server.state.objects) == 4  # the first deploy's objects are untouched


def test_forbidden_midway_rolls_back_and_says_so(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    message = (
        'ingresses.networking.k8s.io is forbidden: User "system:serviceaccount:cp:agentplane" '
        'cannot create resource "ingresses" in API group "networking.k8s.io" in the namespace '
        '"agents"'
    )
    server.state.fail("POST", "Ingress", 403, message)
    outcome = provisioner.deploy(AGENT_ID, NAME)
    assert not outcome.done
    assert (
        f"creating Ingress {DEPLOYMENT} in namespace agents failed: 403 Forbidden: "
        in outcome.message
    )
    assert message in outcome.message
    assert "rolled back Deployment, Service, Secret" in outcome.message
    assert server.state.objects == {}  # nothing left behind


def test_delete_forbidden_is_not_a_success(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    assert provisioner.deploy(AGENT_ID, NAME).done
    server.state.fail("DELETE", "Service", 403, 'services "x" is forbidden: nope')
    outcome = provisioner.remove(AGENT_ID, NAME)
    assert not outcome.done
    assert "not fully deleted" in outcome.message
    assert (
        f'Service {DEPLOYMENT}: 403 Forbidden: services "x" is forbidden: nope' in outcome.message
    )
    assert "(deleted: Deployment, Ingress, Secret)" in outcome.message
    assert list(server.state.objects) == [("Service", NS, DEPLOYMENT)]


def test_connection_refused(tmp_path: Path) -> None:
    with FakeKubernetesServer() as server:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    provisioner = provisioner_for(kubeconfig)
    outcome = provisioner.deploy(AGENT_ID, NAME)
    assert not outcome.done
    assert "creating Deployment" in outcome.message and "failed" in outcome.message
    assert "refused" in outcome.message.lower()
    removed = provisioner.remove(AGENT_ID, NAME)
    assert not removed.done
    assert "refused" in removed.message.lower()
    assert provisioner.status(AGENT_ID, NAME) is None


def test_kubeconfig_from_the_environment_or_in_cluster(
    server: FakeKubernetesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig(tmp_path / "kubeconfig")))
    assert KubernetesProvisioner(api_client(), KubernetesSettings()).deploy(AGENT_ID, NAME).done
    # No kubeconfig at all: the in-cluster service account (token and CA files, env host).
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(Exception, match=r"(?i)service host/port is not set|not in cluster|token"):
        api_client()


def test_the_secret_certificate_is_for_the_agent_host(
    server: FakeKubernetesServer, provisioner: KubernetesProvisioner
) -> None:
    from cryptography import x509

    assert provisioner.deploy(AGENT_ID, NAME).done
    secret = server.state.get("Secret", NS, f"{DEPLOYMENT}-tls")
    assert secret is not None
    cert = x509.load_pem_x509_certificate(secret["stringData"]["tls.crt"].encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["my-agent.is.test"]


def test_the_lifecycle_service_chooses_it_by_setting(
    server: FakeKubernetesServer, tmp_path: Path
) -> None:
    from agentplane.lifecycle.main import build_provisioner
    from agentplane.settings import Settings

    settings = Settings(
        provisioner="kubernetes",
        k8s_kubeconfig=str(server.kubeconfig(tmp_path / "kubeconfig")),
        k8s_namespace="fleet",
        agent_domain="is.test",
        drain_timeout_seconds=12.0,
    )
    provisioner = build_provisioner(settings)
    assert isinstance(provisioner, KubernetesProvisioner)
    assert provisioner.placement(AGENT_ID, NAME) == ("fleet", DEPLOYMENT)
    assert provisioner.deploy(AGENT_ID, NAME).done
    deployment = server.state.get("Deployment", "fleet", DEPLOYMENT)
    assert deployment is not None
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 12
    assert Settings().k8s_namespace == "agents"

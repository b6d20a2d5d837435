"""What the kubernetes provisioner creates for a PAP agent, as client objects: the names and
labels of its four objects, the Deployment, Service, TLS Secret (a self-signed certificate, so
HTTPS answers from the start) and Ingress (see `provisioners/kubernetes.py` for the API calls).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from uuid import UUID

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

from agentplane.contracts.pap import PapResources

MANAGED_BY = "agentplane"
AGENT_ID_LABEL = "agentplane.io/agent-id"
AGENT_NAME_LABEL = "agentplane.io/agent-name"
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
_MAX_NAME = 63
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def resource_name(agent_name: str, agent_id: UUID) -> str:
    """The name of an agent's four objects: a DNS-1035 label (≤ 63, starts with a letter)."""
    suffix = f"-{agent_id.hex[:8]}"
    base = _NOT_DNS.sub("-", agent_name.lower()).strip("-") or "agent"
    if not base[0].isalpha():
        base = f"a-{base}"
    base = base[: _MAX_NAME - len(suffix)].rstrip("-")
    return f"{base}{suffix}"


def tls_secret_name(name: str) -> str:
    return f"{name}-tls"


def _label_value(value: str) -> str:
    """A valid label value (≤ 63, alphanumeric at both ends)."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", value)[:_MAX_NAME].strip("-._")


def self_signed_tls(host: str, days: int = 90) -> dict[str, str]:
    """`tls.crt`/`tls.key` (PEM) of a self-signed certificate for `host`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return {
        "tls.crt": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "tls.key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    }


@dataclass(frozen=True)
class KubernetesSettings:
    """Where and how agents are deployed (from `AGENTPLANE_K8S_*`)."""

    namespace: str = "agents"
    agent_domain: str = "agents.local"
    container_port: int = 8080
    ingress_class: str | None = None
    cluster_issuer: str | None = None
    termination_grace_seconds: int = 30


def agent_labels(agent_id: UUID, agent_name: str, name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "agentplane-agent",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        AGENT_ID_LABEL: str(agent_id),
        AGENT_NAME_LABEL: _label_value(agent_name),
    }


def deployment_manifest(
    settings: KubernetesSettings,
    name: str,
    labels: dict[str, str],
    image: str,
    resources: PapResources,
) -> client.V1Deployment:
    selector = {"app.kubernetes.io/instance": name}
    container = client.V1Container(
        name="agent",
        image=image,
        ports=[client.V1ContainerPort(name="http", container_port=settings.container_port)],
        resources=client.V1ResourceRequirements(
            requests={"cpu": resources.cpu_request, "memory": resources.memory_request},
            limits={"cpu": resources.cpu_limit, "memory": resources.memory_limit},
        ),
        env=[
            client.V1EnvVar(name="PAP_AGENT_ID", value=labels[AGENT_ID_LABEL]),
            client.V1EnvVar(name="PAP_AGENT_NAME", value=labels[AGENT_NAME_LABEL]),
        ],
    )
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=selector),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[container],
                    termination_grace_period_seconds=settings.termination_grace_seconds,
                ),
            ),
        ),
    )


def service_manifest(name: str, labels: dict[str, str]) -> client.V1Service:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1ServiceSpec(
            selector={"app.kubernetes.io/instance": name},
            ports=[client.V1ServicePort(name="http", port=80, target_port="http")],
        ),
    )


def secret_manifest(name: str, labels: dict[str, str], host: str) -> client.V1Secret:
    return client.V1Secret(
        metadata=client.V1ObjectMeta(name=tls_secret_name(name), labels=labels),
        type="kubernetes.io/tls",
        string_data=self_signed_tls(host),
    )


def ingress_manifest(
    settings: KubernetesSettings, name: str, labels: dict[str, str], host: str
) -> client.V1Ingress:
    annotations = (
        {CLUSTER_ISSUER_ANNOTATION: settings.cluster_issuer} if settings.cluster_issuer else None
    )
    backend = client.V1IngressBackend(
        service=client.V1IngressServiceBackend(
            name=name, port=client.V1ServiceBackendPort(number=80)
        )
    )
    return client.V1Ingress(
        metadata=client.V1ObjectMeta(name=name, labels=labels, annotations=annotations),
        spec=client.V1IngressSpec(
            ingress_class_name=settings.ingress_class,
            tls=[client.V1IngressTLS(hosts=[host], secret_name=tls_secret_name(name))],
            rules=[
                client.V1IngressRule(
                    host=host,
                    http=client.V1HTTPIngressRuleValue(
                        paths=[
                            client.V1HTTPIngressPath(path="/", path_type="Prefix", backend=backend)
                        ]
                    ),
                )
            ],
        ),
    )

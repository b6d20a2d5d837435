"""`AGENTPLANE_PROVISIONER=kubernetes`: each PAP agent is a Deployment, Service, Ingress and TLS
Secret in `AGENTPLANE_K8S_NAMESPACE` (default `agents`), through the official Python client.

Names: `<agent name>-<first 8 hex of its id>` (a DNS-1035 label, so valid for every kind; an
agent name starting with a digit gets an `a-` prefix; long names are shortened), labelled
`app.kubernetes.io/managed-by=agentplane` and `agentplane.io/agent-id=<uuid>`.

TLS: the provisioner creates the Secret itself (type `kubernetes.io/tls`, a self-signed
certificate for the agent's DNS name, so HTTPS answers from the start), and the Ingress names
it in `spec.tls`. With `AGENTPLANE_K8S_CLUSTER_ISSUER` set, the Ingress also carries
`cert-manager.io/cluster-issuer`, and cert-manager replaces that certificate with one from the
issuer (e.g. Let's Encrypt) in the same Secret. Delete removes all four objects either way.

Every answer says what really happened: a failed create reports the API's message, rolls back
what it had created and says so; a delete that meets 404 counts the object as already gone.
The client is synchronous; the lifecycle service calls the provisioner in threads.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from agentplane.contracts.pap import DEFAULT_IMAGE, PapResources
from agentplane.lifecycle.provisioners.kubernetes_manifests import (
    KubernetesSettings,
    agent_labels,
    deployment_manifest,
    ingress_manifest,
    resource_name,
    secret_manifest,
    service_manifest,
    tls_secret_name,
)
from agentplane.lifecycle.provisioners.port import Outcome

log = logging.getLogger("agentplane.lifecycle")

# (connect, read) seconds for each API call: a create answers within the gateway's timeout.
REQUEST_TIMEOUT = (3.0, 10.0)
KINDS = ("Deployment", "Service", "Ingress", "Secret")


def api_message(exc: BaseException) -> str:
    """The API server's own words: the Status `message`, else the HTTP status and reason;
    for a connection failure, what the client said."""
    if isinstance(exc, ApiException):
        message = None
        if exc.body:
            try:
                message = json.loads(exc.body).get("message")
            except (ValueError, AttributeError):
                message = None
        return f"{exc.status} {exc.reason}: {message}" if message else f"{exc.status} {exc.reason}"
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError carries the cause
    return f"{type(exc).__name__}: {reason or exc}"


def api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """A client from `kubeconfig` (or `$KUBECONFIG`, or ~/.kube/config when it exists), else
    the in-cluster service account."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    configuration = client.Configuration()
    if kubeconfig or Path(path).exists():
        config.load_kube_config(
            config_file=path, context=context, client_configuration=configuration
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    # Fail fast: one attempt per call (the answer reports the failure, it does not hang).
    configuration.retries = False
    return client.ApiClient(configuration)


class KubernetesProvisioner:
    name = "kubernetes"

    def __init__(self, api: client.ApiClient, settings: KubernetesSettings) -> None:
        self.settings = settings
        self.namespace = settings.namespace
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.networking = client.NetworkingV1Api(api)

    # -- naming -----------------------------------------------------------------------------

    def placement(self, agent_id: UUID, agent_name: str) -> tuple[str, str]:
        """(namespace, deployment name) of the agent."""
        return self.namespace, resource_name(agent_name, agent_id)

    def _deleters(self, name: str) -> list[tuple[str, str, Callable[..., Any]]]:
        ns = self.namespace
        return [
            (
                "Deployment",
                name,
                lambda **kw: self.apps.delete_namespaced_deployment(name, ns, **kw),
            ),
            ("Service", name, lambda **kw: self.core.delete_namespaced_service(name, ns, **kw)),
            (
                "Ingress",
                name,
                lambda **kw: self.networking.delete_namespaced_ingress(name, ns, **kw),
            ),
            (
                "Secret",
                tls_secret_name(name),
                lambda **kw: self.core.delete_namespaced_secret(tls_secret_name(name), ns, **kw),
            ),
        ]

    # -- the port ---------------------------------------------------------------------------

    def deploy(
        self,
        agent_id: UUID,
        agent_name: str,
        api_key: str | None = None,
        image: str | None = None,
        resources: PapResources | None = None,
    ) -> Outcome:
        """Create the four objects; on the first failure, remove those already created.

        `api_key` is not used: the workspace key is never written into the cluster."""
        ns, name = self.placement(agent_id, agent_name)
        labels = agent_labels(agent_id, agent_name, name)
        host = f"{agent_name}.{self.settings.agent_domain}"
        image = image or DEFAULT_IMAGE
        resources = resources or PapResources()
        steps: list[tuple[str, str, Callable[[], Any]]] = [
            (
                "Deployment",
                name,
                lambda: self.apps.create_namespaced_deployment(
                    ns, deployment_manifest(self.settings, name, labels, image, resources),
                    _request_timeout=REQUEST_TIMEOUT,
                ),
            ),
            (
                "Service",
                name,
                lambda: self.core.create_namespaced_service(
                    ns, service_manifest(name, labels), _request_timeout=REQUEST_TIMEOUT
                ),
            ),
            (
                "Secret",
                tls_secret_name(name),
                lambda: self.core.create_namespaced_secret(
                    ns, secret_manifest(name, labels, host), _request_timeout=REQUEST_TIMEOUT
                ),
            ),
            (
                "Ingress",
                name,
                lambda: self.networking.create_namespaced_ingress(
                    ns, ingress_manifest(self.settings, name, labels, host),
                    _request_timeout=REQUEST_TIMEOUT,
                ),
            ),
        ]  # fmt: skip
        created: list[str] = []
        for kind, object_name, create in steps:
            try:
                create()
            except Exception as exc:  # ApiException, or the connection failing
                message = (
                    f"Agent {agent_name} not deployed: creating {kind} {object_name} in "
                    f"namespace {ns} failed: {api_message(exc)}"
                )
                if created:
                    message += f"; {self._roll_back(name, created)}"
                log.warning("%s", message)
                return Outcome(False, message)
            created.append(kind)
        log.info("deployed PAP agent %s as %s/%s", agent_id, ns, name)
        return Outcome(
            True,
            f"Agent {agent_name} deployed successfully as Deployment {name} (with Service, "
            f"Ingress and TLS Secret) in namespace {ns}",
        )

    def _roll_back(self, name: str, created: list[str]) -> str:
        removed, failed = [], []
        for kind, object_name, delete in self._deleters(name):
            if kind not in created:
                continue
            try:
                delete(_request_timeout=REQUEST_TIMEOUT)
                removed.append(kind)
            except ApiException as exc:
                if exc.status == 404:
                    removed.append(kind)
                else:
                    failed.append(f"{kind} {object_name} ({api_message(exc)})")
            except Exception as exc:
                failed.append(f"{kind} {object_name} ({api_message(exc)})")
        said = f"rolled back {', '.join(removed)}" if removed else "nothing rolled back"
        return f"{said}; left behind: {', '.join(failed)}" if failed else said

    def remove(self, agent_id: UUID, agent_name: str) -> Outcome:
        """Delete the four objects (the Deployment's pods get their grace period to drain);
        404 means already gone. `done` only when none is left."""
        ns, name = self.placement(agent_id, agent_name)
        deleted, gone, failed = [], [], []
        for kind, object_name, delete in self._deleters(name):
            try:
                delete(propagation_policy="Background", _request_timeout=REQUEST_TIMEOUT)
                deleted.append(kind)
            except ApiException as exc:
                if exc.status == 404:
                    gone.append(kind)
                else:
                    failed.append(f"{kind} {object_name}: {api_message(exc)}")
            except Exception as exc:
                failed.append(f"{kind} {object_name}: {api_message(exc)}")
        if failed:
            message = f"Agent {agent_name} not fully deleted from namespace {ns}: " + "; ".join(
                failed
            )
            if deleted:
                message += f" (deleted: {', '.join(deleted)})"
            log.warning("%s", message)
            return Outcome(False, message)
        if not deleted:
            return Outcome(
                True,
                f"Agent {agent_name} had no Kubernetes resources left in namespace {ns} "
                "(all already gone)",
            )
        message = f"Agent {agent_name} deleted successfully ({', '.join(deleted)} {name}"
        message += f" in namespace {ns}" + (f"; already gone: {', '.join(gone)})" if gone else ")")
        return Outcome(True, message)

    def status(self, agent_id: UUID, agent_name: str) -> dict[str, Any] | None:
        """`kubernetesStatus` from the Deployment's status; None when there is no Deployment
        (the document's null, "if not deployed") or the API cannot be reached."""
        ns, name = self.placement(agent_id, agent_name)
        try:
            deployment = self.apps.read_namespaced_deployment_status(
                name, ns, _request_timeout=REQUEST_TIMEOUT
            )
        except ApiException as exc:
            if exc.status != 404:
                log.warning("status of %s/%s: %s", ns, name, api_message(exc))
            return None
        except Exception as exc:
            log.warning("status of %s/%s: %s", ns, name, api_message(exc))
            return None
        return deployment_status(deployment)


def deployment_status(deployment: client.V1Deployment) -> dict[str, Any]:
    """The seed 004 `kubernetesStatus` of a Deployment: ready when every desired replica is
    ready (and at least one is desired)."""
    status = deployment.status or client.V1DeploymentStatus()
    desired = (
        deployment.spec.replicas if deployment.spec and deployment.spec.replicas is not None else 1
    )
    ready_replicas = status.ready_replicas or 0
    return {
        "ready": desired > 0 and ready_replicas >= desired,
        "replicas": status.replicas or 0,
        "readyReplicas": ready_replicas,
        "unavailableReplicas": status.unavailable_replicas or 0,
        "conditions": [
            {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
            for c in status.conditions or []
        ],
    }

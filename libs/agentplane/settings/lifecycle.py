"""Settings of the lifecycle service (seed 004 state machine and provisioners)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agentplane.settings.addresses import Addresses


class LifecycleSettings(Addresses):
    """What the lifecycle service reads."""

    # Who deploys an agent's resources (`local`: the reference agent as a local process;
    # `none`: nothing is deployed and the answers say so). A drain that has not finished after
    # `drain_timeout` seconds, and an agent UNHEALTHY for longer than `kill_after` seconds, are
    # KILLED by the control plane.
    provisioner: Literal["none", "local", "kubernetes"] = "local"
    # Where agents the local provisioner starts reach the gateway (default: this machine's
    # http_host:http_port).
    provisioner_gateway_url: str | None = None
    # `kubernetes`: where and how (README "Kubernetes provisioner"). The client reads
    # `k8s_kubeconfig` (else $KUBECONFIG, else ~/.kube/config), or the in-cluster service
    # account when none exists.
    k8s_namespace: str = Field(default="agents", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    k8s_kubeconfig: str | None = None
    k8s_context: str | None = None
    k8s_ingress_class: str | None = None
    k8s_cluster_issuer: str | None = None
    k8s_container_port: int = Field(default=8080, ge=1, le=65535)
    drain_timeout_seconds: float = Field(default=30.0, gt=0)
    kill_after_seconds: float = Field(default=300.0, gt=0)

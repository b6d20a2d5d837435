"""Composition root of the lifecycle service.

Run one replica: the state machine applies registry and liveness events in stream order,
which one consumer guarantees (replicas in a queue group could see an agent's first beat
before its enrollment; the beat would then change nothing).
"""

from __future__ import annotations

import asyncio

import uvloop

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.eventstore.relay import OutboxRelay, ensure_events_stream
from agentplane.eventstore.views import open_view_store
from agentplane.lifecycle.application import AuditLogs
from agentplane.lifecycle.audit_upgrade import upgrade_audit_view
from agentplane.lifecycle.handlers import MACHINE_CONSUMER, register_handlers
from agentplane.lifecycle.kill_timer import kill_overdue_forever
from agentplane.lifecycle.lifecycles import Lifecycles, LifecycleStore
from agentplane.lifecycle.provisioners import cpu_cgroup
from agentplane.lifecycle.provisioners.kubernetes import (
    KubernetesProvisioner,
    api_client,
)
from agentplane.lifecycle.provisioners.kubernetes_manifests import (
    KubernetesSettings,
)
from agentplane.lifecycle.provisioners.local import LocalProvisioner
from agentplane.lifecycle.provisioners.none import NoProvisioner
from agentplane.lifecycle.provisioners.port import Provisioner
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import LifecycleSettings

# How long a delete waits for a local agent process to drain before it is killed (the reply
# to the delete must come within the gateway's request timeout).
LOCAL_STOP_WAIT_SECONDS = 2.0


def build_provisioner(settings: LifecycleSettings) -> Provisioner:
    if settings.provisioner == "local":
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
        return LocalProvisioner(
            settings.provisioner_gateway_url or f"http://{host}:{settings.http_port}",
            settings.service_data_dir() / "pap_agents",
            min(settings.drain_timeout_seconds, LOCAL_STOP_WAIT_SECONDS),
            cpu_cgroup.find(),
        )
    if settings.provisioner == "kubernetes":
        return KubernetesProvisioner(
            api_client(settings.k8s_kubeconfig, settings.k8s_context),
            KubernetesSettings(
                namespace=settings.k8s_namespace,
                agent_domain=settings.agent_domain,
                container_port=settings.k8s_container_port,
                ingress_class=settings.k8s_ingress_class,
                cluster_issuer=settings.k8s_cluster_issuer,
                termination_grace_seconds=max(1, int(settings.drain_timeout_seconds)),
            ),
        )
    return NoProvisioner()


def build(settings: LifecycleSettings) -> ServiceHost:
    assert settings.nats_url, "NATS_URL is required"
    host = ServiceHost("lifecycle", settings.nats_url, service_credential(settings))
    audit = AuditLogs(open_view_store(settings, "lifecycle"))
    # The machine's own view (states by agent for the kill timer) and the relay's position,
    # apart from the audit view that `replay --verify` rebuilds from the stream.
    views = open_view_store(settings, "lifecycle_machine")
    lifecycles = Lifecycles(
        LifecycleStore.from_settings(settings),  # type: ignore[arg-type]
        views,
        build_provisioner(settings),
    )

    async def start() -> None:
        nc = host.broker.connection
        js = nc.jetstream()
        await ensure_events_stream(js)
        relay = OutboxRelay(lifecycles.store, js, views)
        await relay.start()
        loop = asyncio.get_running_loop()
        # Saves happen in threads; the relay's wake-up belongs to the event loop.
        lifecycles.saved_hooks.append(lambda: loop.call_soon_threadsafe(relay.wake))
        await asyncio.to_thread(audit.order_old_entries)
        await asyncio.to_thread(audit.drop_old_states)
        # Before the audit consumer resumes (it subscribes after the start hooks).
        await asyncio.to_thread(upgrade_audit_view, audit.views)
        audit.reply_budget = nc.max_payload // 2
        machine = register_handlers(host, audit, lifecycles, js)

        host.loop(relay.run)
        host.loop(
            lambda: kill_overdue_forever(
                js,
                machine,
                MACHINE_CONSUMER,
                lifecycles,
                settings.drain_timeout_seconds,
                settings.kill_after_seconds,
            )
        )

    async def stop() -> None:
        stop_all = getattr(lifecycles.provisioner, "stop_all", None)
        if stop_all is not None:
            await asyncio.to_thread(stop_all)

    host.on_start(start)
    host.on_stop(stop)
    return host


def main() -> None:
    settings = LifecycleSettings()
    configure_logging(settings.log_level)
    # uvloop: the loop's own work per message (callbacks, timers, socket I/O) runs in C.
    uvloop.run(build(settings).serve())


if __name__ == "__main__":
    main()

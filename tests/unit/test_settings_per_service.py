"""Settings per service: each process parses only its own class, the launcher the whole set."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentplane.settings import (
    DiagnosticsSettings,
    EdgeSettings,
    GatewaySettings,
    HeartbeatSettings,
    LifecycleSettings,
    MessagingSettings,
    RegistrySettings,
    Settings,
    SharedSettings,
    WebhooksSettings,
)

SERVICES = Path(__file__).resolve().parents[2] / "services" / "agentplane"
OWN_CLASS = {
    "gateway": GatewaySettings,
    "registry": RegistrySettings,
    "heartbeat": HeartbeatSettings,
    "lifecycle": LifecycleSettings,
    "webhooks": WebhooksSettings,
    "diagnostics": DiagnosticsSettings,
    "edge": EdgeSettings,
    "messaging": MessagingSettings,
}
LAUNCHER_ONLY = {"nats_max_payload", "nats_observer_password"}


def test_the_whole_set_is_every_service_setting_and_the_launchers() -> None:
    union = set().union(*(cls.model_fields for cls in OWN_CLASS.values()))
    assert set(Settings.model_fields) == union | LAUNCHER_ONLY
    for cls in OWN_CLASS.values():
        assert issubclass(Settings, cls) and issubclass(cls, SharedSettings)


def test_a_service_class_holds_no_other_services_settings() -> None:
    assert not any(f.startswith("webhooks_") for f in GatewaySettings.model_fields)
    assert not any(f.startswith(("k8s_", "check_", "edge_")) for f in RegistrySettings.model_fields)
    assert "heartbeat_partition" not in GatewaySettings.model_fields  # the replica's own
    assert set(WebhooksSettings.model_fields) - set(SharedSettings.model_fields) == {
        "webhooks_allow_private",
        "webhooks_retry_base_seconds",
        "webhooks_retry_max_seconds",
        "webhooks_retry_window_seconds",
        "webhooks_timeout_seconds",
    }


def test_a_bad_value_fails_the_whole_set_and_only_the_service_that_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTPLANE_K8S_NAMESPACE", "Not_A_Label")
    with pytest.raises(ValidationError):
        Settings()  # the launcher: fails at start
    with pytest.raises(ValidationError):
        LifecycleSettings()
    assert GatewaySettings().http_port == 8080  # the gateway never reads it


def test_env_names_are_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTPLANE_WEBHOOKS_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:32001")
    webhooks = WebhooksSettings()
    assert (webhooks.webhooks_timeout_seconds, webhooks.nats_url) == (3.0, "nats://127.0.0.1:32001")
    assert Settings().webhooks_timeout_seconds == 3.0


@pytest.mark.parametrize("service", sorted(OWN_CLASS))
def test_each_service_main_builds_its_own_class(service: str) -> None:
    """The composition root parses the service's class, never the whole set."""
    tree = ast.parse((SERVICES / service / "main.py").read_text())
    built = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id.endswith("Settings") and not node.args and not node.keywords
    }  # fmt: skip
    assert built == {OWN_CLASS[service].__name__}

"""Webhooks without a bus: event mapping, retry policy, SSRF policy, signing, and the use cases
on an in-memory event store with a real SQLite view."""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.idempotency import Idempotency
from agentplane.contracts.lifecycle_events import TriggeredBy
from agentplane.contracts.webhooks import (
    WEBHOOK_EVENTS,
    CreateWebhook,
    DeleteWebhook,
    DeliveryStatus,
    ListDeliveries,
    ListWebhooks,
    webhook_event_of,
    webhook_payload,
)
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.replay import rebuild_local
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.settings import Settings
from agentplane.webhooks.application import Webhooks, WebhooksStore
from agentplane.webhooks.domain import retry_delay
from agentplane.webhooks.projections import WebhooksProjection
from agentplane.webhooks.secret_box import SecretBox
from agentplane.webhooks.sender import signed_request
from agentplane.webhooks.targets import check_target, is_public

STEPS = [
    (None, "NEW", "CREATED", "agent.created"),
    ("NEW", "PROVISIONED", "PROVISIONED", "agent.provisioned"),
    ("PROVISIONED", "ACTIVE", "ACTIVATED", "agent.activated"),
    ("ACTIVE", "UNHEALTHY", "AGENT_UNHEALTHY", "agent.unhealthy"),
    ("UNHEALTHY", "ACTIVE", "RECOVERED", "agent.recovered"),
    ("ACTIVE", "DRAINING", "DRAINING", "agent.draining"),
    ("DRAINING", "TERMINATED", "TERMINATED", "agent.terminated"),
    ("UNHEALTHY", "KILLED", "KILLED", "agent.killed"),
]


def transition(
    from_state: str | None, to_state: str, event_type: str, **fields: Any
) -> AgentTransitioned:
    values: dict[str, Any] = {
        "transition_id": uuid4().hex,
        "agent_id": uuid4(),
        "workspace_id": f"ws_{uuid4().hex}",
        "agent_name": "my-agent",
        "from_state": from_state,
        "to_state": to_state,
        "event_type": event_type,
        "triggered_by": TriggeredBy.SYSTEM,
        "at": datetime.now(UTC),
    }
    if isinstance(fields.get("workspace_id"), UUID):
        fields["workspace_id"] = f"ws_{fields['workspace_id'].hex}"  # the public form
    return AgentTransitioned(**(values | fields))


@pytest.mark.parametrize(("from_state", "to_state", "event_type", "name"), STEPS)
def test_every_transition_names_its_event(
    from_state: str | None, to_state: str, event_type: str, name: str
) -> None:
    assert webhook_event_of(transition(from_state, to_state, event_type)) == name


def test_every_event_is_reachable_and_payload_has_the_documented_shape() -> None:
    assert {s[3] for s in STEPS} == set(WEBHOOK_EVENTS)
    t = transition(
        "PROVISIONED", "ACTIVE", "ACTIVATED", at=datetime(2025, 11, 13, 8, 0, 45, tzinfo=UTC)
    )
    payload = webhook_payload("agent.activated", t)
    assert payload == {
        "event": "agent.activated",
        "agent_uuid": str(t.agent_id),
        "agent_name": "my-agent",
        "timestamp": "2025-11-13T08:00:45Z",
        "data": {
            "from_state": "PROVISIONED",
            "to_state": "ACTIVE",
            "event_type": "ACTIVATED",
            "triggered_by": "system",
            "reason": "",
        },
    }


def test_retry_delay_doubles_up_to_the_cap_and_covers_a_day() -> None:
    assert [retry_delay(n, 5.0, 3600.0, 1.0) for n in range(1, 5)] == [5.0, 10.0, 20.0, 40.0]
    assert retry_delay(20, 5.0, 3600.0, 1.0) == 3600.0
    assert retry_delay(3, 5.0, 3600.0, 0.5) == 10.0
    assert retry_delay(10_000, 5.0, 3600.0, 1.0) == 3600.0  # no overflow
    # Even with the smallest jitter, 40 attempts span more than 24 h.
    assert sum(retry_delay(n, 5.0, 3600.0, 0.5) for n in range(1, 41)) > 24 * 3600 / 2


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "224.0.0.1", "255.255.255.255"],
)  # fmt: skip
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(ServiceError) as refused:
        asyncio.run(check_target(url, allow_private=False))
    assert refused.value.kind is ErrorKind.VALIDATION
    assert "private" in refused.value.body.message
    asyncio.run(check_target(url, allow_private=True))


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "example.com/hook", "https://user:pw@example.com/", "http:///x"]
)
def test_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(ServiceError):
        asyncio.run(check_target(url, allow_private=True))


def test_signature_verifies_with_standardwebhooks(tmp_path: Path) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body, headers = signed_request(secret, "msg_1", {"event": "agent.created"}, datetime.now(UTC))
    assert StandardWebhook(secret).verify(body, headers) == {"event": "agent.created"}
    with pytest.raises(Exception, match="signature"):
        StandardWebhook(secret).verify(body + b" ", headers)


# -- use cases ------------------------------------------------------------------------------


@pytest.fixture
def hooks(tmp_path: Path) -> Webhooks:
    settings = Settings(
        data_dir=tmp_path, webhooks_retry_base_seconds=1.0, webhooks_retry_window_seconds=60.0
    )
    return Webhooks(
        WebhooksStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SecretBox(tmp_path),
        settings,
    )


def test_create_list_delete_and_secret_only_once(hooks: Webhooks, tmp_path: Path) -> None:
    ws = str(uuid4())
    created = hooks.create(CreateWebhook(workspace_id=ws, url="https://example.com/h"))
    assert created.secret.startswith("whsec_")
    assert created.webhook.events == list(WEBHOOK_EVENTS)
    listed = hooks.list(ListWebhooks(workspace_id=ws)).webhooks
    assert listed == [created.webhook]
    assert created.secret not in repr(listed)
    # At rest the secret is a ciphertext only: not in the view, not in any stored event.
    assert created.secret.encode() not in (tmp_path / "views.sqlite").read_bytes()
    for n in hooks.store.recorder.select_notifications(0, 100):
        assert created.secret.encode() not in n.state
        public = to_integration(
            "webhooks", n.id, hooks.store.mapper.to_domain_event(n), hooks.store.translator
        )
        assert "secret_ciphertext" not in public.data
    assert hooks.list(ListWebhooks(workspace_id=str(uuid4()))).webhooks == []
    hooks.delete(DeleteWebhook(workspace_id=ws, webhook_id=created.webhook.webhook_id))
    hooks.delete(DeleteWebhook(workspace_id=ws, webhook_id=created.webhook.webhook_id))
    assert hooks.list(ListWebhooks(workspace_id=ws)).webhooks == []
    with pytest.raises(ServiceError) as other:
        hooks.delete(
            DeleteWebhook(workspace_id=str(uuid4()), webhook_id=created.webhook.webhook_id)
        )
    assert other.value.kind is ErrorKind.NOT_FOUND


def test_unknown_events_are_refused(hooks: Webhooks) -> None:
    with pytest.raises(ServiceError) as refused:
        hooks.create(
            CreateWebhook(workspace_id="w", url="https://e.com", events=["agent.exploded"])
        )
    assert refused.value.body.details["field"] == "events"


def test_idempotency_key_returns_the_first_answer(hooks: Webhooks) -> None:
    key = Idempotency(scope="w", key="k1", fingerprint="a" * 64)
    first = hooks.create(CreateWebhook(workspace_id="w", url="https://e.com", idempotency=key))
    again = hooks.create(CreateWebhook(workspace_id="w", url="https://e.com", idempotency=key))
    assert again == first
    other = key.model_copy(update={"fingerprint": "b" * 64})
    with pytest.raises(ServiceError) as refused:
        hooks.create(CreateWebhook(workspace_id="w", url="https://e.com", idempotency=other))
    assert refused.value.kind is ErrorKind.CONFLICT


def test_fan_out_records_once_and_attempts_until_success(hooks: Webhooks, tmp_path: Path) -> None:
    ws = uuid4()
    created = hooks.create(
        CreateWebhook(workspace_id=f"ws_{ws.hex}", url="https://e.com", events=["agent.created"])
    )
    hook_id = created.webhook.webhook_id
    wanted = transition(None, "NEW", "CREATED", workspace_id=ws)
    ignored = transition("NEW", "ACTIVE", "ACTIVATED", workspace_id=ws)
    before = transition(
        None, "NEW", "CREATED", workspace_id=ws, at=datetime.now(UTC) - timedelta(days=1)
    )
    (pending,) = hooks.sending.schedule([(wanted, 7), (ignored, 8), (before, 9)])
    assert hooks.sending.schedule([(wanted, 7)]) == []  # redelivered: nothing new
    target = hooks.sending.target(pending.delivery_id, hook_id)
    assert target is not None and target.secret == created.secret
    again = hooks.sending.record(pending.delivery_id, 503, None)
    assert again is not None and again.due > pending.due
    assert hooks.sending.record(pending.delivery_id, None, "connection refused") is not None
    assert hooks.sending.record(pending.delivery_id, 204, None) is None
    (delivery,) = hooks.deliveries(
        ListDeliveries(workspace_id=f"ws_{ws.hex}", webhook_id=hook_id)
    ).deliveries
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert [(a.attempt, a.status_code, a.error) for a in delivery.attempts] == [
        (1, 503, None),
        (2, None, "connection refused"),
        (3, 204, None),
    ]
    assert delivery.next_attempt_at is None
    assert hooks.sending.pending() == []
    # The view is exactly what the log rebuilds.
    scratch = SQLiteViewStore(tmp_path / "scratch.sqlite")
    result = rebuild_local("webhooks", hooks.store, WebhooksProjection(), hooks.views, scratch)
    assert result.identical, result


def test_delete_cancels_pending_deliveries(hooks: Webhooks) -> None:
    ws = uuid4()
    created = hooks.create(CreateWebhook(workspace_id=f"ws_{ws.hex}", url="https://e.com"))
    (pending,) = hooks.sending.schedule([(transition(None, "NEW", "CREATED", workspace_id=ws), 1)])
    _, cancelled = hooks.delete(
        DeleteWebhook(workspace_id=f"ws_{ws.hex}", webhook_id=created.webhook.webhook_id)
    )
    assert cancelled == [pending.delivery_id]
    assert hooks.sending.target(pending.delivery_id, created.webhook.webhook_id) is None
    (delivery,) = hooks.deliveries(
        ListDeliveries(workspace_id=f"ws_{ws.hex}", webhook_id=created.webhook.webhook_id)
    ).deliveries
    assert delivery.status is DeliveryStatus.CANCELLED


def test_delivery_fails_after_the_retry_window(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    hooks = Webhooks(
        WebhooksStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SecretBox(tmp_path),
        Settings(data_dir=tmp_path, webhooks_retry_window_seconds=3600.0),
        clock=lambda: now[0],
    )
    ws = uuid4()
    hooks.create(CreateWebhook(workspace_id=f"ws_{ws.hex}", url="https://e.com"))
    (pending,) = hooks.sending.schedule([(transition(None, "NEW", "CREATED", workspace_id=ws), 1)])
    now[0] += timedelta(minutes=59)
    assert hooks.sending.record(pending.delivery_id, 500, None) is not None
    now[0] += timedelta(minutes=2)
    assert hooks.sending.record(pending.delivery_id, 500, None) is None
    assert hooks.sending.pending() == []


def test_secret_scan_finds_a_leaked_signing_secret() -> None:
    from agentplane.testing.secret_scan import scan_bytes
    from agentplane.webhooks.secret_box import new_signing_secret

    secret = new_signing_secret()
    (leak,) = scan_bytes(Path("x.log"), b'{"secret": "' + secret.encode() + b'"}')
    assert leak.kind == "webhook secret" and secret not in str(leak)
    assert scan_bytes(Path("x.log"), secret[:20].encode()) == []

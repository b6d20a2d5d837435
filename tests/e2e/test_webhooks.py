"""Lifecycle webhooks over HTTP, delivered to a real receiver on 127.0.0.1 and verified with the
`standardwebhooks` package.

Transitions are real `AgentTransitioned` integration events published into the AP_EVENTS
stream with the service credential (the lifecycle service's contract). These tests run on a
system of their own: private targets allowed (the receiver is on loopback) and a shortened
retry schedule (0.5 s doubling up to 2 s instead of 5 s up to 1 h), so "down for 10 minutes"
becomes "down for ~8 s and several retries". The refusal of private targets is tested on the
session system, which has the default setting.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.e2e.webhook_receiver import Receiver, eventually, publish, transition

from agentplane.contracts.webhooks import WEBHOOK_EVENTS
from agentplane.sdk import Client
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

ENV = {
    "AGENTPLANE_WEBHOOKS_ALLOW_PRIVATE": "true",
    "AGENTPLANE_WEBHOOKS_RETRY_BASE_SECONDS": "0.5",
    "AGENTPLANE_WEBHOOKS_RETRY_MAX_SECONDS": "2",
}
LIFE = [
    (None, "NEW", "CREATED"),
    ("NEW", "PROVISIONED", "PROVISIONED"),
    ("PROVISIONED", "ACTIVE", "ACTIVATED"),
    ("ACTIVE", "UNHEALTHY", "AGENT_UNHEALTHY"),
    ("UNHEALTHY", "ACTIVE", "RECOVERED"),
    ("ACTIVE", "DRAINING", "DRAINING"),
    ("DRAINING", "TERMINATED", "TERMINATED"),
]
LIFE_EVENTS = [
    "agent.created",
    "agent.provisioned",
    "agent.activated",
    "agent.unhealthy",
    "agent.recovered",
    "agent.draining",
    "agent.terminated",
]


@pytest.fixture(scope="module")
def hooks_system(system_factory: Callable[..., RunningSystem]) -> Iterator[RunningSystem]:
    running = system_factory(env=ENV)
    yield running
    # Every read model of this system (the webhooks view included) is what its logs rebuild.
    result = running.cli("replay", "--verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "webhooks" in result.stdout


@pytest.fixture
def client(hooks_system: RunningSystem) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hooks_system.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture
def ws(client: httpx.Client, hooks_system: RunningSystem) -> dict[str, Any]:
    return create_workspace(client, hooks_system.admin_token, "enterprise")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def key(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"], "Content-Type": "application/json"}


def subscribe(
    http: httpx.Client, ws: dict[str, Any], url: str, events: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = events
    response = http.post("/v1/webhooks", json=body, headers=key(ws))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliveries(http: httpx.Client, ws: dict[str, Any], hook_id: str) -> list[dict[str, Any]]:
    response = http.get(f"/v1/webhooks/{hook_id}/deliveries", headers=key(ws))
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def life(ws: dict[str, Any], agent: uuid.UUID, name: str = "my-agent") -> list[Any]:
    return [transition(ws["workspaceId"], agent, f, t, e, name) for f, t, e in LIFE]


# -- the endpoints --------------------------------------------------------------------------


def test_create_list_delete(client: httpx.Client, ws: dict[str, Any], receiver: Receiver) -> None:
    response = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["agent.activated", "agent.created"]},
        headers=key(ws),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "url", "events", "description", "secret", "createdAt"}
    assert created["id"].startswith("wh_")
    assert created["url"] == receiver.url
    assert created["events"] == ["agent.created", "agent.activated"]  # lifecycle order
    assert created["secret"].startswith("whsec_")
    every = subscribe(client, ws, receiver.url)
    assert every["events"] == list(WEBHOOK_EVENTS)

    listed = client.get("/v1/webhooks", headers=key(ws))
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [w["id"] for w in body["webhooks"]] == [created["id"], every["id"]]
    assert body["nextCursor"] is None
    assert "secret" not in listed.text and created["secret"] not in listed.text
    page = client.get("/v1/webhooks", params={"limit": 1}, headers=key(ws)).json()
    assert [w["id"] for w in page["webhooks"]] == [created["id"]]
    rest = client.get("/v1/webhooks", params={"cursor": page["nextCursor"]}, headers=key(ws))
    assert [w["id"] for w in rest.json()["webhooks"]] == [every["id"]]

    assert deliveries(client, ws, created["id"]) == []
    deleted = client.delete(f"/v1/webhooks/{created['id']}", headers=key(ws))
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    again = client.delete(f"/v1/webhooks/{created['id']}", headers=key(ws))
    assert again.status_code == 200
    listed = client.get("/v1/webhooks", headers=key(ws)).json()["webhooks"]
    assert [w["id"] for w in listed] == [every["id"]]


def test_errors(client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem) -> None:
    url = "http://127.0.0.1:9/hooks"
    assert client.post("/v1/webhooks", json={"url": url}).status_code == 401
    bad_key = {"x-api-key": "pc_nope"}
    assert client.get("/v1/webhooks", headers=bad_key).status_code == 401
    for body, field in [
        ({"url": url, "events": ["agent.exploded"]}, "events"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://user:pass@example.com/x"}, "url"),
        ({"events": ["agent.created"]}, "url"),
        ({"url": url, "events": "agent.created"}, "events"),
    ]:
        response = client.post("/v1/webhooks", json=body, headers=key(ws))
        assert response.status_code == 400, (body, response.text)
        assert field in response.text
    other = create_workspace(client, hooks_system.admin_token, "enterprise")
    theirs = subscribe(client, other, url)
    for hook_id in (theirs["id"], "wh_" + uuid.uuid4().hex, "nope"):
        response = client.delete(f"/v1/webhooks/{hook_id}", headers=key(ws))
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "Webhook not found"
        response = client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=key(ws))
        assert response.status_code == 404, response.text
    for limit in (0, 201):
        assert (
            client.get("/v1/webhooks", params={"limit": limit}, headers=key(ws)).status_code == 400
        )
    assert client.get("/v1/webhooks", params={"cursor": "x"}, headers=key(ws)).status_code == 400


def test_idempotency_key_returns_the_first_answer(
    client: httpx.Client, ws: dict[str, Any], receiver: Receiver
) -> None:
    headers = {**key(ws), "Idempotency-Key": uuid.uuid4().hex}
    first = client.post("/v1/webhooks", json={"url": receiver.url}, headers=headers)
    again = client.post("/v1/webhooks", json={"url": receiver.url}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = client.post("/v1/webhooks", json={"url": receiver.url + "x"}, headers=headers)
    assert other.status_code == 409, other.text
    assert len(client.get("/v1/webhooks", headers=key(ws)).json()["webhooks"]) == 1


def test_private_targets_are_refused_by_default(system: RunningSystem, http: httpx.Client) -> None:
    ws = create_workspace(http, system.admin_token, "enterprise")
    for url in (
        "http://127.0.0.1:8080/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "http://10.0.0.7/hooks",
        "http://192.168.1.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
    ):
        response = http.post("/v1/webhooks", json={"url": url}, headers=key(ws))
        assert response.status_code == 400, (url, response.text)
        assert "private" in response.json()["error"]
    assert http.get("/v1/webhooks", headers=key(ws)).json()["webhooks"] == []


# -- deliveries -----------------------------------------------------------------------------


def test_every_event_signed_in_order_per_agent(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    hook = subscribe(client, ws, receiver.url)
    first, second = uuid.uuid4(), uuid.uuid4()
    killed = [
        transition(ws["workspaceId"], second, None, "NEW", "CREATED", "other"),
        transition(ws["workspaceId"], second, "NEW", "KILLED", "KILLED", "other"),
    ]
    publish(hooks_system, *life(ws, first), *killed)
    assert eventually(lambda: len(receiver.unique(hook["secret"])) == 9), receiver.received

    payloads = receiver.payloads(hook["secret"])  # every one verified with standardwebhooks
    by_agent = {
        agent: [p["event"] for p in payloads if p["agent_uuid"] == str(agent)]
        for agent in (first, second)
    }
    assert by_agent[first] == LIFE_EVENTS
    assert by_agent[second] == ["agent.created", "agent.killed"]
    activated = next(p for p in payloads if p["event"] == "agent.activated")
    assert set(activated) == {"event", "agent_uuid", "agent_name", "timestamp", "data"}
    assert activated["agent_name"] == "my-agent"
    assert activated["data"]["from_state"] == "PROVISIONED"
    assert activated["data"]["to_state"] == "ACTIVE"
    assert activated["timestamp"].endswith("Z")
    request = receiver.received[0]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["webhook-id"].startswith("msg_")

    listed = eventually(
        lambda: [d for d in deliveries(client, ws, hook["id"]) if d["status"] == "succeeded"]
    )
    assert len(listed) == 9
    done = listed[0]
    assert done["attempt"] == 1 and done["statusCode"] == 200
    assert done["attempts"][0]["statusCode"] == 200 and done["nextAttemptAt"] is None
    assert done["id"] in receiver.unique(hook["secret"])
    assert hook["secret"] not in client.get(f"/v1/webhooks/{hook['id']}/deliveries",
                                            headers=key(ws)).text  # fmt: skip


def test_receiver_down_gets_every_event_afterwards_in_order(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    hook = subscribe(client, ws, receiver.url)
    receiver.stop()  # connections refused from now on
    agent, other = uuid.uuid4(), uuid.uuid4()
    publish(hooks_system, *life(ws, agent)[:4], *life(ws, other, "other")[:2])

    def retried() -> bool:
        found = deliveries(client, ws, hook["id"])
        heads = [d for d in found if d["attempt"] >= 3]
        return len(found) == 6 and len(heads) == 2

    # Only the oldest delivery of each agent is tried; each has failed several times.
    assert eventually(retried), deliveries(client, ws, hook["id"])
    for delivery in deliveries(client, ws, hook["id"]):
        assert delivery["status"] == "pending"
        assert delivery["nextAttemptAt"] is not None
        for attempt in delivery["attempts"]:
            assert attempt["statusCode"] is None and attempt["error"]
    publish(hooks_system, *life(ws, agent)[4:])
    receiver.start()  # the same port again

    assert eventually(lambda: len(receiver.unique(hook["secret"])) == 9), receiver.received
    payloads = receiver.payloads(hook["secret"])
    mine = [p["event"] for p in payloads if p["agent_uuid"] == str(agent)]
    assert mine == LIFE_EVENTS
    theirs = [p["event"] for p in payloads if p["agent_uuid"] == str(other)]
    assert theirs == ["agent.created", "agent.provisioned"]
    final = eventually(
        lambda: all(d["status"] == "succeeded" for d in deliveries(client, ws, hook["id"]))
    )
    assert final, deliveries(client, ws, hook["id"])


def test_error_statuses_are_retried_and_recorded(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    answers = iter([500, 503])
    receiver.answer = lambda: next(answers, 204)
    hook = subscribe(client, ws, receiver.url, ["agent.created"])
    publish(hooks_system, transition(ws["workspaceId"], uuid.uuid4(), None, "NEW", "CREATED"))
    (delivery,) = eventually(
        lambda: [d for d in deliveries(client, ws, hook["id"]) if d["status"] == "succeeded"]
    )
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 503, 204]
    assert delivery["attempt"] == 3 and delivery["statusCode"] == 204
    assert len(receiver.unique(hook["secret"])) == 1  # one event, the same webhook-id thrice
    assert len(receiver.received) == 3


def test_filters_workspaces_and_deletion(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    only = subscribe(client, ws, receiver.url, ["agent.unhealthy"])
    other = create_workspace(client, hooks_system.admin_token, "enterprise")
    agent = uuid.uuid4()
    publish(
        hooks_system,
        *life(ws, agent)[:5],
        *life(other, uuid.uuid4())[:4],
    )
    assert eventually(lambda: len(receiver.unique(only["secret"])) == 1)
    (payload,) = receiver.unique(only["secret"]).values()
    assert payload["event"] == "agent.unhealthy" and payload["agent_uuid"] == str(agent)

    assert client.delete(f"/v1/webhooks/{only['id']}", headers=key(ws)).status_code == 200
    marker = subscribe(client, ws, receiver.url, ["agent.unhealthy"])
    publish(hooks_system, life(ws, uuid.uuid4())[3])
    assert eventually(lambda: len(receiver.unique(marker["secret"])) == 1)
    assert len(receiver.unique(only["secret"])) == 1  # nothing after the deletion
    assert len(deliveries(client, ws, only["id"])) == 1  # its history stays readable


def test_pending_deliveries_survive_a_webhooks_crash(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    hook = subscribe(client, ws, receiver.url)
    receiver.stop()
    agent = uuid.uuid4()
    publish(hooks_system, *life(ws, agent)[:3])
    assert eventually(lambda: len(deliveries(client, ws, hook["id"])) == 3)
    old = hooks_system.signal_service("webhooks", signal.SIGKILL)
    hooks_system.wait_restarted("webhooks", old)
    receiver.start()
    assert eventually(lambda: len(receiver.unique(hook["secret"])) == 3)
    events = [p["event"] for p in receiver.payloads(hook["secret"])]
    assert list(dict.fromkeys(events)) == LIFE_EVENTS[:3]


def test_pap_agent_through_the_http_api(
    client: httpx.Client, ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    """A real PAP agent created, beating and deleted over HTTP: every transition the lifecycle
    service publishes (AgentTransitioned) arrives as a signed webhook, in order."""
    hook = subscribe(client, ws, receiver.url)
    bearer = {"Authorization": f"Bearer {ws['apiKey']}", "Content-Type": "application/json"}
    created = client.post("/api/agents", json={"name": "hooked"}, headers=bearer)
    assert created.status_code == 201, created.text
    agent_uuid = created.json()["agent"]["uuid"]
    assert eventually(lambda: deliveries(client, ws, hook["id"]), timeout=8.0)
    beat = client.post(
        f"/api/agents/{agent_uuid}/heartbeat",
        json={"mode": "IDLE", "uptime_seconds": 1},
        headers=bearer,
    )
    assert beat.status_code == 200, beat.text
    assert eventually(
        lambda: "agent.activated" in {p["event"] for p in receiver.payloads(hook["secret"])}
    )
    assert client.delete(f"/api/agents/{agent_uuid}", headers=bearer).status_code == 200
    assert eventually(
        lambda: "agent.terminated" in {p["event"] for p in receiver.payloads(hook["secret"])}
    )
    events = [p["event"] for p in receiver.payloads(hook["secret"])]
    mine = list(dict.fromkeys(events))
    assert mine == ["agent.created", "agent.activated", "agent.draining", "agent.terminated"]
    payloads = {p["event"]: p for p in receiver.payloads(hook["secret"])}
    assert payloads["agent.activated"]["agent_uuid"] == agent_uuid
    assert payloads["agent.activated"]["agent_name"] == "hooked"
    assert payloads["agent.activated"]["data"]["from_state"] == "NEW"
    assert payloads["agent.activated"]["data"]["triggered_by"] == "heartbeat"
    assert payloads["agent.draining"]["data"]["triggered_by"] == "user"


def test_sdk_round_trip(
    ws: dict[str, Any], hooks_system: RunningSystem, receiver: Receiver
) -> None:
    with Client(hooks_system.base_url, api_key=ws["apiKey"]) as sdk:
        hook = sdk.webhooks.create(receiver.url, ["agent.created"], description="ops")
        assert hook.secret and hook.secret.startswith("whsec_") and hook.description == "ops"
        listed = sdk.webhooks.list().webhooks
        assert [(w.id, w.secret) for w in listed] == [(hook.id, None)]
        publish(hooks_system, transition(ws["workspaceId"], uuid.uuid4(), None, "NEW", "CREATED"))
        page = eventually(lambda: sdk.webhooks.deliveries(hook.id).deliveries)
        assert page[0].event == "agent.created" and page[0].payload
        assert sdk.webhooks.delete(hook.id).success is True
        assert sdk.webhooks.list().webhooks == []

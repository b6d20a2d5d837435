"""Every list works when the fleet does not fit one NATS message.

A private system whose nats-server allows only 32 KB per message: more agents (of seeds 000,
002 and 004) than fit in one message are registered, and every list endpoint still returns
all of them, as the documents show — and page by page with `limit` and `cursor`, the next
cursor in `X-Next-Cursor`. Before paging, the registry answered a whole workspace in one reply,
which this payload limit refuses (503 after the request timeout).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

MAX_PAYLOAD = 32 * 1024
V1_AGENTS = 150
ORCHESTRATOR_AGENTS = 70
PAP_AGENTS = 60
AUDITED_CHANGES = 130
LONG = "x" * 90  # long names and labels: fewer agents exceed a message


@pytest.fixture(scope="module")
def fleet(system_factory: Callable[..., RunningSystem]) -> dict[str, Any]:
    system = system_factory(
        {"AGENTPLANE_NATS_MAX_PAYLOAD": str(MAX_PAYLOAD), "AGENTPLANE_LOG_LEVEL": "WARNING"}
    )
    with httpx.Client(base_url=system.base_url, timeout=30) as http:
        ws = create_workspace(http, system.admin_token, tier="enterprise")
    return asyncio.run(_populate(system, ws))


async def _populate(system: RunningSystem, ws: dict[str, Any]) -> dict[str, Any]:
    key = {"x-api-key": ws["apiKey"]}
    slots = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=system.base_url, timeout=60) as http:

        async def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            async with slots:
                response = await http.request(method, path, **kwargs)
            assert response.status_code in (200, 201, 202), response.text
            return dict(response.json())

        async def v1(n: int) -> str:
            agent_id, token = str(uuid.uuid4()), "agent_tok_" + uuid.uuid4().hex * 2
            body = {"agentId": agent_id, "token": token, "name": f"v1-{n}-{LONG}", "label": LONG}
            await call("POST", "/v1/agents/register", json=body, headers=key)
            capability = {"name": "gpu", "metadata": {"model": "A100", "note": LONG}}
            await call(
                "POST", f"/v1/agents/{agent_id}/capabilities",
                json={"capabilities": [capability]}, headers=key,
            )  # fmt: skip
            await call("POST", "/v1/agents/heartbeat", json={"agentId": agent_id, "token": token})
            return agent_id

        async def orchestrator(n: int) -> str:
            token = await call(
                "POST", "/v1/enrollment-tokens", json={"kind": "registration"}, headers=key
            )
            body = {
                "name": f"orch-{n}-{uuid.uuid4().hex[:8]}",
                "version": "1.0.0",
                "capabilities": ["docker", "compose"],
                "labels": {"datacenter": "us-east-1", "note": LONG},
            }
            registered = await call(
                "POST", "/api/v1/agents/register", json=body,
                headers={"X-Agent-Token": token["token"]},
            )  # fmt: skip
            return str(registered["agentId"])

        async def pap(n: int) -> str:
            body = {"name": f"pap-{n}-{uuid.uuid4().hex[:8]}", "description": LONG}
            created = await call(
                "POST", "/api/agents", json=body,
                headers={"Authorization": f"Bearer {ws['apiKey']}"},
            )  # fmt: skip
            return str(created["agent"]["uuid"])

        v1_ids = await asyncio.gather(*(v1(n) for n in range(V1_AGENTS)))
        orchestrator_ids = await asyncio.gather(
            *(orchestrator(n) for n in range(ORCHESTRATOR_AGENTS))
        )
        pap_ids = await asyncio.gather(*(pap(n) for n in range(PAP_AGENTS)))
        # One agent with a long history: its audit log does not fit one message either.
        audited = v1_ids[0]
        for n in range(AUDITED_CHANGES):
            capability = {"name": f"cap-{n}", "metadata": {"note": LONG}}
            await call(
                "POST", f"/v1/agents/{audited}/capabilities",
                json={"capabilities": [capability]}, headers=key,
            )  # fmt: skip
    return {
        "system": system,
        "ws": ws,
        "v1": v1_ids,
        "gpu": v1_ids[1:],  # the audited agent's capabilities were replaced since
        "orchestrator": orchestrator_ids,
        "pap": pap_ids,
        "audited": audited,
    }


def _get(fleet: dict[str, Any], path: str, **params: Any) -> httpx.Response:
    system: RunningSystem = fleet["system"]
    headers = {"x-api-key": fleet["ws"]["apiKey"]}
    if path.startswith("/api/agents"):
        headers = {"Authorization": f"Bearer {fleet['ws']['apiKey']}"}
    with httpx.Client(base_url=system.base_url, timeout=60) as http:
        return http.get(path, params=params, headers=headers)


def _whole(fleet: dict[str, Any], path: str, field: str | None) -> list[dict[str, Any]]:
    """The documented answer: every item in one body (no cursor)."""
    response = _get(fleet, path)
    assert response.status_code == 200, response.text
    assert "X-Next-Cursor" not in response.headers
    body = response.json()
    return list(body if field is None else body[field])


def _paged(fleet: dict[str, Any], path: str, field: str | None, limit: int) -> list[Any]:
    """The same list walked with `limit` and `cursor`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = _get(fleet, path, **params)
        assert response.status_code == 200, response.text
        page = response.json() if field is None else response.json()[field]
        assert len(page) <= limit
        items += page
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return items
    pytest.fail("the cursor never ended")


def _ids(items: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [str(item[key]) for item in items]


ALL = ["v1", "orchestrator", "pap"]
LISTS = [
    # path, field, id key, the agents it must hold, exactly those?
    ("/v1/agents", None, "id", ALL, True),
    ("/v1/agents/online", None, "id", ["v1"], False),
    ("/v1/agents/orchestration", "agents", "id", ALL, True),
    ("/v1/agents/by-capability/gpu", "agents", "id", ["gpu"], True),
    ("/v1/agents/expiring-tokens", "agents", "id", ["v1"], False),
    ("/api/v1/agents", None, "id", ["orchestrator"], True),
    ("/api/agents", None, "uuid", ["pap"], True),
]


def test_the_fleet_does_not_fit_one_message(fleet: dict[str, Any]) -> None:
    # The registry's records are bigger still than these bodies (attributes, tokens' prefixes).
    for path in ("/v1/agents", "/v1/agents/orchestration", "/api/agents"):
        assert len(_get(fleet, path).content) > MAX_PAYLOAD, path


@pytest.mark.parametrize(("path", "field", "id_key", "kinds", "exact"), LISTS)
def test_every_list_returns_the_whole_fleet(
    fleet: dict[str, Any], path: str, field: str | None, id_key: str, kinds: list[str], exact: bool
) -> None:
    expected = {agent_id for kind in kinds for agent_id in fleet[kind]}
    items = _whole(fleet, path, field)
    ids = _ids(items, id_key)
    assert len(ids) == len(set(ids)), "an agent was listed twice"
    if exact:
        assert set(ids) == expected
    else:
        assert expected <= set(ids)
    paged = _paged(fleet, path, field, limit=23)
    assert _ids(paged, id_key) == ids, "pages must add up to the whole list, in its order"


def test_whole_lists_keep_their_order(fleet: dict[str, Any]) -> None:
    agents = _whole(fleet, "/v1/agents", None)
    created = [datetime.fromisoformat(a["createdAt"]) for a in agents]
    assert created == sorted(created), "oldest first"
    expiring = _whole(fleet, "/v1/agents/expiring-tokens", "agents")
    expiry = [datetime.fromisoformat(a["tokenExpiresAt"]) for a in expiring]
    assert expiry == sorted(expiry), "soonest first"


def test_a_long_audit_log_is_whole_and_newest_first(fleet: dict[str, Any]) -> None:
    path = f"/v1/agents/{fleet['audited']}/audit-logs"
    logs = _whole(fleet, path, "logs")
    assert len(logs) >= AUDITED_CHANGES
    stamps = [datetime.fromisoformat(e["timestamp"]) for e in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert _ids(_paged(fleet, path, "logs", limit=40)) == _ids(logs)


def test_limit_alone_is_the_first_page(fleet: dict[str, Any]) -> None:
    whole = _ids(_whole(fleet, "/v1/agents", None))
    response = _get(fleet, "/v1/agents", limit=5)
    assert response.status_code == 200
    assert _ids(response.json()) == whole[:5]
    assert response.headers["X-Next-Cursor"]


@pytest.mark.parametrize("params", [{"cursor": "not-a-cursor!"}, {"limit": 0}, {"limit": 5001}])
def test_bad_paging_parameters_are_400(fleet: dict[str, Any], params: dict[str, Any]) -> None:
    response = _get(fleet, "/v1/agents", **params)
    assert response.status_code == 400, response.text
    details = response.json().get("details", {})
    named = [f["field"] for f in details.get("fields", [])] + [details.get("field")]
    assert next(iter(params)) in named, response.text

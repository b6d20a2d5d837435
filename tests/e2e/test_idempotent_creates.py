"""`Idempotency-Key` on creating requests: a retry returns the first answer, secrets included,
and creates nothing more."""

from __future__ import annotations

import uuid

import httpx

from agentplane.testing.system import RunningSystem


def _create(http: httpx.Client, system: RunningSystem, name: str, key: str | None, **body: str):
    headers = {"Authorization": f"Bearer {system.admin_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/v1/admin/workspaces", json={"name": name, **body}, headers=headers)


def test_a_retried_workspace_create_returns_the_same_key(
    http: httpx.Client, system: RunningSystem
) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    first = _create(http, system, name, key)
    assert first.status_code == 201, first.text
    again = _create(http, system, name, key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    # The key works, and it is the only workspace of that name.
    assert http.get("/v1/agents", headers={"x-api-key": first.json()["apiKey"]}).status_code == 200
    assert _create(http, system, name, None).status_code == 409


def test_the_same_key_for_another_request_is_409(
    http: httpx.Client, system: RunningSystem
) -> None:
    key = str(uuid.uuid4())
    assert _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", key).status_code == 201
    other = _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", key)
    assert other.status_code == 409, other.text
    assert other.json()["kind"] == "conflict"


def test_keys_are_per_principal_and_bounded(http: httpx.Client, system: RunningSystem) -> None:
    too_long = _create(http, system, f"idem-{uuid.uuid4().hex[:8]}", "k" * 256)
    assert too_long.status_code == 400, too_long.text
    # A body cannot smuggle an idempotency scope in: the field is the gateway's alone.
    name = f"idem-{uuid.uuid4().hex[:8]}"
    smuggled = http.post(
        "/v1/admin/workspaces",
        json={"name": name, "idempotency": {"scope": "x", "key": "k", "fingerprint": "0" * 64}},
        headers={"Authorization": f"Bearer {system.admin_token}"},
    )
    assert smuggled.status_code == 201, smuggled.text
    assert _create(http, system, name, None).status_code == 409

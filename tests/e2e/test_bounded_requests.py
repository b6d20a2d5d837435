"""Bodies over 1 MiB are refused with 413 before parsing or authentication, chunked ones too;
JSON nested deeper than 64 levels is 400. Each in the dialect's error body."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from agentplane.gateway.json_depth import MAX_JSON_DEPTH

MIB = 1024 * 1024


def test_a_large_body_is_413_before_authentication(http: httpx.Client) -> None:
    big = b'{"token": "' + b"x" * (MIB + 10) + b'"}'
    for path in ("/api/agent/enroll", "/v1/agents/heartbeat", "/v1/admin/workspaces"):
        response = http.post(path, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        if path.startswith("/api/agent/"):  # seed 003's error body
            assert response.json() == {"success": False, "error": response.json()["error"]}
        else:
            assert response.json()["kind"] == "too_large"


def test_a_chunked_body_is_counted_as_it_arrives(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"token": "'
        for _ in range(40):
            yield b"y" * 64 * 1024  # 2.5 MiB in all, no Content-Length
        yield b'"}'

    for path in ("/api/agent/enroll", "/v1/agents/register"):
        response = http.post(path, content=chunks(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.text[:200])


def test_a_body_under_the_limit_is_parsed_as_usual(http: httpx.Client) -> None:
    response = http.post("/api/agent/enroll", json={"token": "x" * 1000})
    assert response.status_code in (400, 401), response.text


def test_json_nested_too_deep_is_400_before_authentication(http: httpx.Client) -> None:
    for depth in (MAX_JSON_DEPTH + 1, 200_000):  # the second would overflow Python's parser
        body = b'{"token": ' + b"[" * depth + b"]" * depth + b"}"
        for path in ("/v1/agents/heartbeat", "/api/agent/enroll", "/api/agents"):
            response = http.post(path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (path, depth, response.text[:200])
            assert "nested deeper" in response.json()["error"]


def test_json_at_the_depth_limit_reaches_the_route(http: httpx.Client) -> None:
    depth = MAX_JSON_DEPTH - 1
    body = b'{"agentId": "x", "token": ' + b"[" * depth + b"]" * depth + b"}"
    response = http.post(
        "/v1/agents/heartbeat", content=body, headers={"Content-Type": "application/json"}
    )
    # The route's own validation answers (token must be a string), not the depth bound.
    assert response.status_code == 400, response.text
    assert "nested deeper" not in response.json()["error"]

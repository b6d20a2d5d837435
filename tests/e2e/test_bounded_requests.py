"""Bodies over 1 MiB are refused with 413 before parsing or authentication, chunked ones too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

MIB = 1024 * 1024


def test_a_large_body_is_413_before_authentication(http: httpx.Client) -> None:
    big = b'{"token": "' + b"x" * (MIB + 10) + b'"}'
    for path in ("/api/agent/enroll", "/v1/agents/heartbeat", "/v1/admin/workspaces"):
        response = http.post(path, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert response.json()["kind"] == "too_large"


def test_a_chunked_body_is_counted_as_it_arrives(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"token": "'
        for _ in range(40):
            yield b"y" * 64 * 1024  # 2.5 MiB in all, no Content-Length
        yield b'"}'

    response = http.post(
        "/api/agent/enroll", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text[:200]


def test_a_body_under_the_limit_is_parsed_as_usual(http: httpx.Client) -> None:
    response = http.post("/api/agent/enroll", json={"token": "x" * 1000})
    assert response.status_code in (400, 401), response.text

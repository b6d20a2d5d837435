"""Failed authentications throttled per client address (gateway/auth_throttle.py), on a small
app that answers 401 or 200 as told, with the production default limit.

What it tries: the limit's last failure still answers 401 and the next request (a good one
too) 429 with Retry-After; /health stays open; another address is not affected; an address
in X-Forwarded-For counts only with the forwarding secret (a client cannot dodge the limit by
naming another address; `client_address` itself: tests/unit/test_rate_windows.py); 0 turns
the throttle off. The same behaviour through two real gateway replicas:
tests/e2e/test_rate_limits_replicas.py.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from agentplane.gateway.auth_throttle import AuthFailureThrottle
from agentplane.gateway.client_certificates import FORWARDING_SECRET_HEADER
from agentplane.gateway.rate_limits import RateLimits
from agentplane.settings import Settings

DEFAULT = Settings.model_fields["auth_failure_limit_per_minute"].default
SECRET = "forwarding-secret"


async def guarded(request: Request) -> JSONResponse:
    good = request.headers.get("x-api-key") == "good"
    return JSONResponse({}, status_code=200 if good else 401)


def _client(limit: int = DEFAULT) -> TestClient:
    app = Starlette(routes=[Route("/v1/agents", guarded), Route("/health", guarded)])
    app.state.rate_limits = RateLimits(auth_failures_per_minute=limit)
    app.state.tls_forwarding_secret = SECRET
    app.add_middleware(AuthFailureThrottle)
    return TestClient(app)


def _from(address: str, secret: str = SECRET, key: str = "bad") -> dict[str, str]:
    return {FORWARDING_SECRET_HEADER: secret, "X-Forwarded-For": address, "x-api-key": key}


def test_the_production_limit_then_429_for_that_address_only() -> None:
    assert DEFAULT == 60
    client = _client()
    statuses = [
        client.get("/v1/agents", headers=_from("203.0.113.5")).status_code for _ in range(DEFAULT)
    ]
    assert statuses == [401] * DEFAULT
    refused = client.get("/v1/agents", headers=_from("203.0.113.5", key="good"))
    assert refused.status_code == 429
    assert refused.json()["kind"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Health stays open to the address; another address is not affected.
    assert client.get("/health", headers=_from("203.0.113.5", key="good")).status_code == 200
    assert client.get("/v1/agents", headers=_from("203.0.113.6", key="good")).status_code == 200


def test_a_forwarded_address_counts_only_with_the_secret() -> None:
    client = _client(limit=3)
    for n in range(3):
        # A different forwarded address each time, but no valid secret: the peer counts.
        headers = _from(f"203.0.113.{n}", secret="guessed")
        assert client.get("/v1/agents", headers=headers).status_code == 401
    assert client.get("/v1/agents", headers=_from("203.0.113.9", "guessed")).status_code == 429
    # The terminator's own forwards are other addresses.
    assert client.get("/v1/agents", headers=_from("203.0.113.9", key="good")).status_code == 200


def test_zero_turns_it_off() -> None:
    client = _client(limit=0)
    answers = [client.get("/v1/agents").status_code for _ in range(DEFAULT + 5)]
    assert answers == [401] * (DEFAULT + 5)

"""Rate limits with the production scope (`AGENTPLANE_RATE_LIMIT_SCOPE=all`) on two gateway
replicas of the session system (same NATS, same services):

- one bucket per workspace key across the routes of every dialect;
- agent-credential routes limited per agent;
- failed authentications throttled per client address, across the replicas;
- the replicas together admit the tier's limit, not twice it.

The session system's own gateway runs with the suite's scope (`pap`) and a failed-
authentication limit the suite cannot reach, so these replicas are the only place where the
whole scope is on; their per-agent limit is lowered so the tests are short, their
failed-authentication limit is the production default.

The replicas are reached as in a deployment, through the TLS terminator: every request names
its client's address in X-Forwarded-For with the forwarding secret. So what the rest of the
suite fails from 127.0.0.1 on the session gateway (counted there and shared with these
replicas like any count) is not this module's address.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from nats.aio.msg import Msg

from agentplane.contracts.rate_hits import RateHits
from agentplane.contracts.subjects import Gateway
from agentplane.gateway.client_certificates import FORWARDING_KEY_FILE, FORWARDING_SECRET_HEADER
from agentplane.settings import Settings
from agentplane.testing.extra_gateway import ExtraGateway
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

AGENT_PER_MINUTE = 20
AGENT_BURST = 5
# The production default: the replicas are not told otherwise.
AUTH_FAILURES = Settings.model_fields["auth_failure_limit_per_minute"].default
REPLICA_ENV = {
    "AGENTPLANE_RATE_LIMIT_SCOPE": "all",
    "AGENTPLANE_AGENT_RATE_LIMIT_PER_MINUTE": str(AGENT_PER_MINUTE),
    "AGENTPLANE_AGENT_RATE_LIMIT_BURST": str(AGENT_BURST),
}
# This module's client address (documentation range, RFC 5737), as the terminator forwards it.
CLIENT_ADDRESS = "198.51.100.1"
T = TypeVar("T")


@pytest.fixture(scope="module")
def replicas(system: RunningSystem) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    started = [ExtraGateway(system, REPLICA_ENV), ExtraGateway(system, REPLICA_ENV)]
    forwarded = via_terminator(system, CLIENT_ADDRESS)
    try:
        for gateway in started:
            gateway.start()
        with (
            httpx.Client(base_url=started[0].base_url, timeout=30.0, headers=forwarded) as a,
            httpx.Client(base_url=started[1].base_url, timeout=30.0, headers=forwarded) as b,
        ):
            yield a, b
    finally:
        for gateway in started:
            gateway.stop()


class Heard:
    """Counts the replicas told each other on `ap.gateway.rate.hits`, heard by the test itself
    (its own NATS client on a thread of its own). A check that a count is shared waits until
    the test has heard all of it: the replicas subscribe to the same server, so they have it
    by then too, however late a busy machine runs their 10 ms batches. No guessed sleep."""

    def __init__(self, system: RunningSystem) -> None:
        self.counts: dict[str, int] = {}
        self.changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc = self._run(system.nats_connect(name="rate-limit-test"))
        self._run(self.nc.subscribe(Gateway.RATE_HITS, cb=self._on_hits))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def _on_hits(self, msg: Msg) -> None:
        batch = RateHits.model_validate_json(msg.data)
        with self.changed:
            for key, count in batch.hits.items():
                self.counts[key] = self.counts.get(key, 0) + count
            self.changed.notify_all()

    def wait_for(self, key: str, count: int, timeout: float = 30.0) -> None:
        with self.changed:
            heard = self.changed.wait_for(lambda: self.counts.get(key, 0) >= count, timeout)
        assert heard, f"{key}: {self.counts.get(key, 0)} of {count} shared within {timeout} s"

    def close(self) -> None:
        self._run(self.nc.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def heard(system: RunningSystem) -> Iterator[Heard]:
    listener = Heard(system)
    yield listener
    listener.close()


def via_terminator(system: RunningSystem, address: str) -> dict[str, str]:
    """As the TLS terminator forwards a client (gateway/auth_throttle.py): the address counts
    only with the forwarding secret."""
    secret = (system.data_dir / FORWARDING_KEY_FILE).read_text().strip()
    return {FORWARDING_SECRET_HEADER: secret, "X-Forwarded-For": address}


def paced(
    send: Callable[[int], httpx.Response], count: int, per_second: int
) -> list[httpx.Response]:
    """`count` requests one after the other, never more than `per_second` within one second
    (each waits for the answer to the one `per_second` before it plus 1.2 s: the replicas
    date what they hear from each other by the admission, which precedes the answer)."""
    answers: list[httpx.Response] = []
    answered_at: list[float] = []
    for n in range(count):
        if n >= per_second:
            time.sleep(max(0.0, answered_at[n - per_second] + 1.2 - time.monotonic()))
        answers.append(send(n))
        answered_at.append(time.monotonic())
    return answers


def key(ws: dict[str, Any]) -> dict[str, str]:
    return {"x-api-key": ws["apiKey"]}


def test_one_workspace_bucket_across_every_dialect(
    replicas: tuple[httpx.Client, httpx.Client], http: httpx.Client, system: RunningSystem
) -> None:
    a, _ = replicas
    ws = create_workspace(http, system.admin_token, "free")
    missing = str(uuid.uuid4())
    # One route of each dialect the workspace key opens.
    calls: list[Callable[[], httpx.Response]] = [
        lambda: a.get("/v1/agents", headers=key(ws)),  # seed 000
        lambda: a.get("/api/v1/agents", headers=key(ws)),  # seed 002, the operator
        lambda: a.post(f"/v1/agents/{missing}/api-key/rotate", headers=key(ws)),  # seed 003
        lambda: a.get("/api/agents", headers={"Authorization": f"Bearer {ws['apiKey']}"}),  # 004
    ]
    started = time.monotonic()
    answers = paced(lambda n: calls[n % 4](), 60, 10)
    elapsed = time.monotonic() - started
    assert elapsed < 50, f"60 paced requests took {elapsed:.0f} s: the minute window is over"
    for count, answer in enumerate(answers, start=1):
        assert answer.status_code in (200, 404), answer.text
        assert answer.headers["X-RateLimit-Limit"] == "60"
        assert answer.headers["X-RateLimit-Remaining"] == str(60 - count), count
    # The minute is spent on every dialect at once, and each says when to come back.
    for call in calls:
        refused = call()
        assert refused.status_code == 429, refused.text
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Seed 004 heartbeats stay unlimited (the control path).
    pap_agent = a.post(
        "/api/agents", json={"name": "beats"}, headers={"Authorization": f"Bearer {ws['apiKey']}"}
    )
    assert pap_agent.status_code == 429
    other = create_workspace(http, system.admin_token, "free")
    assert a.get("/v1/agents", headers=key(other)).status_code == 200


def _provisioned(client: httpx.Client, ws: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(
        "/v1/agents/provision", json={"clientType": "cursor", "name": "beats"}, headers=key(ws)
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_agent_credential_routes_are_limited_per_agent(
    replicas: tuple[httpx.Client, httpx.Client],
    http: httpx.Client,
    system: RunningSystem,
    heard: Heard,
) -> None:
    a, b = replicas
    ws = create_workspace(http, system.admin_token, "enterprise")
    one, two = _provisioned(a, ws), _provisioned(a, ws)

    def beat(client: httpx.Client, agent: dict[str, Any]) -> httpx.Response:
        body = {"agentId": agent["agentId"], "token": agent["token"]}
        return client.post("/v1/agents/heartbeat", json=body)

    started = time.monotonic()
    # Both replicas, one agent: together they admit the agent's minute.
    answers = paced(lambda n: beat((a, b)[n % 2], one), AGENT_PER_MINUTE, AGENT_BURST)
    assert time.monotonic() - started < 50
    assert [r.status_code for r in answers] == [200] * AGENT_PER_MINUTE, [r.text for r in answers]
    heard.wait_for(f"agent:{one['agentId']}", AGENT_PER_MINUTE)
    # Heard here does not mean applied there: each replica applies the other's hits as they
    # reach it. Asked without counting (a wrong token), so the wait spends nothing of `one`.
    for client in (a, b):
        _wait_until_spent(system, client, one)
    refused = beat(a, one)
    assert refused.status_code == 429, refused.text
    assert refused.json()["kind"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == str(AGENT_PER_MINUTE)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert beat(b, one).status_code == 429
    # Another agent of the same workspace has its own budget; the workspace key its own.
    assert beat(a, two).status_code == 200
    assert a.get("/v1/agents", headers=key(ws)).status_code == 200


def _wait_until_spent(system: RunningSystem, client: httpx.Client, agent: dict[str, Any]) -> None:
    """Until `client`'s replica refuses `agent` (10 s at most). With a wrong token: the limit
    refuses it without counting it (a wrong token never spends the agent's budget), and each
    try comes from another address, so the failed authentications throttle no one."""
    token = agent["token"]
    wrong = {"agentId": agent["agentId"], "token": token[:-1] + ("1" if token[-1] == "0" else "0")}
    deadline = time.monotonic() + 10.0
    n = 0
    while time.monotonic() < deadline:
        n += 1
        address = via_terminator(system, f"203.0.113.{n % 250 + 1}")
        answer = client.post("/v1/agents/heartbeat", json=wrong, headers=address)
        if answer.status_code == 429:
            return
        assert answer.status_code == 401, answer.text
        time.sleep(0.05)


def test_failed_authentications_are_throttled_per_address_across_replicas(
    replicas: tuple[httpx.Client, httpx.Client],
    http: httpx.Client,
    system: RunningSystem,
    heard: Heard,
) -> None:
    a, b = replicas
    ws = create_workspace(http, system.admin_token, "enterprise")
    guesser = via_terminator(system, "198.51.100.7")
    bystander = via_terminator(system, "198.51.100.8")
    bad = {**guesser, "x-api-key": "ap_wrong"}
    # The failures alternate between the replicas; together they reach the limit.
    statuses = [
        (a, b)[n % 2].get("/v1/agents", headers=bad).status_code for n in range(AUTH_FAILURES)
    ]
    assert statuses == [401] * AUTH_FAILURES
    heard.wait_for("authfail:198.51.100.7", AUTH_FAILURES)
    for client in (a, b):
        # Heard here does not mean applied there: each replica applies the other's hits as
        # they reach it. A good key's 200 meanwhile counts no failure.
        refused = _first_refusal(client, {**guesser, **key(ws)})
        assert refused.status_code == 429, refused.text
        assert refused.json()["kind"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The device dialect answers in its own shape.
    device = b.get("/api/agent/tasks", headers=guesser)
    assert device.status_code == 429
    assert device.json()["success"] is False
    # Health stays open; another address is not affected.
    assert a.get("/health", headers=guesser).status_code == 200
    assert a.get("/v1/agents", headers={**bystander, **key(ws)}).status_code == 200


def _first_refusal(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    """The first 429 within 10 s, or the last answer."""
    deadline = time.monotonic() + 10.0
    while True:
        answer = client.get("/v1/agents", headers=headers)
        if answer.status_code != 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_two_replicas_together_admit_the_tier_limit_not_twice(
    replicas: tuple[httpx.Client, httpx.Client], http: httpx.Client, system: RunningSystem
) -> None:
    """Four clients, two on each replica, as fast as they can: the pro tier's 300."""
    ws = create_workspace(http, system.admin_token, "pro")
    admitted = [0, 0]
    lock = threading.Lock()
    minute_spent = threading.Event()
    started = time.monotonic()

    def client(n: int) -> None:
        replica = replicas[n % 2]
        while not minute_spent.is_set() and time.monotonic() - started < 40:
            answer = replica.get(
                f"/api/agents/{uuid.uuid4()}", headers={"Authorization": f"Bearer {ws['apiKey']}"}
            )
            if answer.status_code == 404:
                with lock:
                    admitted[n % 2] += 1
            elif answer.status_code == 429:
                if answer.headers["X-RateLimit-Remaining"] == "0":
                    minute_spent.set()
                else:
                    time.sleep(0.05)  # the burst (50 in any second); the minute is not spent
            else:
                raise AssertionError(answer.text)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(4)))
    elapsed = time.monotonic() - started
    total = sum(admitted)
    print(f"\ntwo replicas admitted {admitted} = {total} of the pro tier's 300 in {elapsed:.1f} s")
    assert minute_spent.is_set(), f"the minute was not spent within 40 s ({total} admitted)"
    assert elapsed < 60
    # Each replica alone would admit 300; together they admit 300 plus what one admits while
    # the other has not yet heard of it (10 ms batches): a few requests.
    assert 300 <= total <= 310, admitted
    assert min(admitted) > 0

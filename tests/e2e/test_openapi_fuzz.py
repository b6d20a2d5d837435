"""Schemathesis against the running system: every answer is one the OpenAPI document declares.

What it covers: every operation of `/openapi.json` (all five dialects), served by the real
gateway over HTTP in front of the session's running system (`system` fixture). Schemathesis
generates valid and invalid requests (its examples, coverage and fuzzing phases, a bounded
number per operation) and every answer must pass four checks:
- `not_a_server_error`: no 5xx;
- `status_code_conformance`: the status is one the operation documents;
- `response_schema_conformance`: the body matches the schema documented for that status;
- `response_headers_conformance`: the headers the status documents as required are there
  (Retry-After on a 429), and those it documents and the answer carries match their schema
  (X-RateLimit-*, X-Next-Cursor).

Credentials are real, so requests get past 401 into the handlers: for each generated case a
drawn `caller` decides who calls — the admin token on /v1/admin, the workspace key
(`x-api-key`, or `Authorization: Bearer` for seed 004), a seed 002 orchestrator agent's
token, a seed 003 device's key with a fresh timestamp, a seed 000 agent's token in the body —
or nobody (whatever the generator made, which exercises 401). A drawn `real_ids` puts the ids
of objects that exist in the path (an agent of each dialect, a service, a task), so the
success paths answer too; otherwise the generated ids reach the 404 and 400 paths.

The workspace is of the enterprise tier, so its rate limit rarely answers 429 (declared).
The `nobody` callers fail authentication from 127.0.0.1 several hundred times (346 and 468
answers 401 in two runs of its 70 s): the session system's gateway counts them like any
failure, against a limit the suite cannot reach (`SUITE_AUTH_FAILURE_LIMIT`; production: 60,
proven in tests/e2e/test_rate_limits_replicas.py).

No request leaves the machine because of this test: every body or query field that names a
network target (`url`, `…Url`, `targetHost`, `host`) is pointed at the loopback address
before sending, so no webhook, external service check or release download goes elsewhere.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError, MissingHeaders, UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentplane.gateway.app import create_app
from agentplane.settings import Settings
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem

pytestmark = pytest.mark.system

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Generated cases per operation in the fuzzing phase (the examples and coverage phases add
# their own): about 20 requests per operation, some 1,400 in all.
MAX_EXAMPLES = 20
# The fuzzing's wall time is bounded whatever the machine's load: each operation gets an
# equal share of what is left of this budget; once its share is spent (and it sent at least
# one request, none failing) the rest of its cases are neither generated nor sent and it is
# reported as skipped with that reason. On an idle 2-core machine nothing is cut.
BUDGET_SECONDS = 70.0
LOOPBACK_URL = "http://127.0.0.1:9/fuzz"
LOOPBACK_HOST = "127.0.0.1"
CALLERS = ("default", "agent", "nobody")


@dataclass
class World:
    """Objects of every dialect that exist in the fuzzed workspace, and their credentials."""

    admin_token: str
    api_key: str
    agent_id: str  # seed 000
    agent_token: str
    device_id: str  # seed 003
    device_key: str
    orchestrator_id: str  # seed 002
    orchestrator_token: str
    registration_token: str
    task_id: str
    pap_agent: str  # seed 004
    service_id: str  # seed 001
    # What DELETE with real ids removes, so the objects above live through the whole run.
    doomed: dict[str, str]
    requests: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    budget: Budget = field(default_factory=lambda: Budget(BUDGET_SECONDS, len(OPERATIONS)))


@dataclass
class Budget:
    """The run's time budget, shared out operation by operation (in the order they run)."""

    seconds: float
    operations: int
    deadline: float | None = None
    current: str | None = None
    current_deadline: float = 0.0
    started: int = 0
    sent: int = 0
    failing: bool = False
    cut: int = 0  # operations whose share ran out

    def allows(self, label: str) -> bool:
        """Whether this operation may send another case (False: its share is spent)."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        if label != self.current:
            left = max(self.operations - self.started, 1)
            self.current, self.started, self.sent, self.failing = label, self.started + 1, 0, False
            self.current_deadline = now + max(self.deadline - now, 0.0) / left
        if now < self.current_deadline or self.sent == 0 or self.failing:
            self.sent += 1
            return True
        self.cut += 1
        return False


class Maker:
    """Creates the fuzzed workspace's objects the documented way (each must succeed)."""

    def __init__(self, http: httpx.Client, api_key: str) -> None:
        self.http = http
        self.api_key = api_key
        self.key = {"x-api-key": api_key}

    def post(self, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers=headers or self.key)
        assert response.status_code in (200, 201), (path, response.text)
        return dict(response.json())

    def one_time(self, kind: str) -> str:
        return str(self.post("/v1/enrollment-tokens", {"kind": kind})["token"])

    def orchestrator(self, name: str) -> dict[str, Any]:
        token = self.one_time("registration")
        body = {"name": name, "version": "1.0"}
        return self.post("/api/v1/agents/register", body, **{"X-Agent-Token": token})

    def task(self, agent_id: str) -> str:
        body = {"taskType": "docker.pull", "payload": {"image": "fuzz"}}
        return str(self.post(f"/api/v1/agents/{agent_id}/tasks", body)["taskId"])

    def pap_agent(self, name: str) -> str:
        bearer = {"Authorization": f"Bearer {self.api_key}"}
        return str(self.post("/api/agents", {"name": name}, **bearer)["agent"]["uuid"])

    def service(self, agent_id: str, name: str) -> str:
        body = {"agentId": agent_id, "name": name, "targetHost": LOOPBACK_HOST, "targetPort": 9}
        return str(self.post("/v1/services/register", body)["service"]["id"])


def _world(system: RunningSystem) -> World:
    with httpx.Client(base_url=system.base_url, timeout=30.0) as http:
        ws = create_workspace(http, system.admin_token, tier="enterprise")
        make = Maker(http, ws["apiKey"])
        agent = make.post("/v1/agents/provision", {"clientType": "cursor"})
        enroll = {"token": make.one_time("enrollment"), "hostname": "fuzz", "os": "linux",
                  "arch": "amd64", "agent_version": "1.0.0"}  # fmt: skip
        device = make.post("/api/agent/enroll", enroll, **{"Content-Type": "application/json"})
        orchestrator = make.orchestrator("fuzz-orchestrator")
        return World(
            admin_token=system.admin_token,
            api_key=ws["apiKey"],
            agent_id=agent["agentId"],
            agent_token=agent["token"],
            device_id=device["data"]["agent_id"],
            device_key=device["data"]["api_key"],
            orchestrator_id=orchestrator["agentId"],
            orchestrator_token=orchestrator["token"],
            registration_token=make.one_time("registration"),
            task_id=make.task(orchestrator["agentId"]),
            pap_agent=make.pap_agent("fuzz-pap"),
            service_id=make.service(agent["agentId"], "fuzz"),
            doomed={
                "orchestrator": make.orchestrator("fuzz-doomed-orchestrator")["agentId"],
                "task": make.task(orchestrator["agentId"]),
                "pap": make.pap_agent("fuzz-doomed-pap"),
                "service": make.service(agent["agentId"], "fuzz-doomed-service"),
            },
        )


@pytest.fixture(scope="module")
def world(system: RunningSystem) -> Iterator[World]:
    built = _world(system)
    yield built
    by_status = Counter(status for (_, status) in built.statuses.elements())
    operations = sorted({label for label, _ in built.statuses})
    print(f"\nschemathesis: {built.requests} requests to {len(operations)} operations "
          f"({built.budget.cut} cut short by the {BUDGET_SECONDS:g} s budget); "
          f"answers by status: {dict(sorted(by_status.items()))}")  # fmt: skip
    for label in operations:
        answers = {s: n for (op, s), n in sorted(built.statuses.items()) if op == label}
        print(f"  {label}: {answers}")


# The gateway's own document, built at collection time: parametrize needs the operations before
# the system runs (Schemathesis' fixture-based loading does not work with this pytest).
# `test_the_running_gateway_serves_this_document` proves it is what the system serves.
DOCUMENT = create_app(Settings()).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [(method, path) for path, item in DOCUMENT["paths"].items() for method in item]


def test_the_running_gateway_serves_this_document(http: httpx.Client) -> None:
    assert http.get("/openapi.json").json() == DOCUMENT


def test_the_checks_catch_what_the_document_does_not_say(
    world: World, system: RunningSystem
) -> None:
    """The same checks against a document with one lie each: the fuzzing cannot pass blindly."""
    path, method = "/v1/services/{service_id}", "get"
    lies = ((404, UndefinedStatusCode), ("missing", JsonSchemaError), ("header", MissingHeaders))
    for lie, failure in lies:
        document = copy.deepcopy(DOCUMENT)
        if lie == 404:  # the 404 of an unknown service is not declared
            del document["paths"][path][method]["responses"]["404"]
        elif lie == "missing":  # the error schema requires a field no error has
            document["components"]["schemas"]["Error"]["required"].append("missing")
        else:  # a header the answer lacks (the session system limits only seed 004 routes)
            document["components"]["headers"]["RateLimitLimit"]["required"] = True
        operation = schemathesis.openapi.from_dict(document)[path][method.upper()]
        case = operation.Case(path_parameters={"service_id": "svc_nope"},
                              headers={"x-api-key": world.api_key})  # fmt: skip
        with pytest.raises(FailureGroup) as found:
            case.call_and_validate(base_url=system.base_url, checks=CHECKS, timeout=30)
        assert [type(e) for e in found.value.exceptions] == [failure], found.value.exceptions


def _loopback_targets(value: Any) -> Any:
    """The same document with every network target pointed at the loopback address."""
    if isinstance(value, dict):
        return {
            k: (_target_for(k) if isinstance(k, str) and _target_for(k) and isinstance(v, str)
                else _loopback_targets(v))
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_loopback_targets(v) for v in value]
    return value


def _target_for(key: str) -> str | None:
    lowered = key.lower()
    if lowered.endswith("url"):
        return LOOPBACK_URL
    if lowered.endswith("host"):
        return LOOPBACK_HOST
    return None


def _set_header(case: schemathesis.Case, name: str, value: str | None) -> None:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != name.lower()}
    if value is not None:
        headers[name] = value
    case.headers = headers


def _real_path_ids(case: schemathesis.Case, world: World) -> None:
    path = case.operation.path
    params = dict(case.path_parameters or {})
    # A DELETE removes the last object its path names; the one it removes is doomed.
    deletes = case.operation.method.lower() == "delete"
    last = path.rsplit("{", 1)[-1].rstrip("}") if deletes else None
    if "agent_uuid" in params:
        params["agent_uuid"] = world.doomed["pap"] if last == "agent_uuid" else world.pap_agent
    if "agent_id" in params:
        if path.startswith("/api/v1/"):
            doomed = world.doomed["orchestrator"]
            params["agent_id"] = doomed if last == "agent_id" else world.orchestrator_id
        elif path.endswith("/api-key/rotate"):
            params["agent_id"] = world.device_id
        else:
            params["agent_id"] = world.agent_id
    if "task_id" in params and path.startswith("/api/v1/"):
        params["task_id"] = world.doomed["task"] if last == "task_id" else world.task_id
    if "service_id" in params:
        params["service_id"] = world.doomed["service"] if last == "service_id" else world.service_id
    if "service" in params:
        params["service"] = "registry"
    case.path_parameters = params


def _credentials(case: schemathesis.Case, world: World, caller: str) -> None:
    """Real credentials for the operation's dialect (`nobody` keeps the generated ones)."""
    if caller == "nobody":
        return
    path = case.operation.path
    declared = {p.name.lower() for p in case.operation.headers}
    if path.startswith("/v1/admin/"):
        _set_header(case, "Authorization", f"Bearer {world.admin_token}")
    elif path.startswith("/api/agent/"):
        _set_header(case, "X-Agent-ID", world.device_id)
        _set_header(case, "X-Agent-Key", world.device_key)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _set_header(case, "X-Request-Timestamp", stamp)
    elif path.startswith("/api/agents"):
        _set_header(case, "Authorization", f"Bearer {world.api_key}")
    elif path == "/api/v1/agents/register":
        _set_header(case, "X-Agent-Token", world.registration_token)
    elif path.startswith("/api/v1/") and caller == "agent":
        _set_header(case, "x-api-key", None)
        _set_header(case, "Authorization", f"Bearer {world.orchestrator_token}")
    elif "x-api-key" in declared:
        _set_header(case, "x-api-key", world.api_key)
        _set_header(case, "Authorization", None)
    elif path in ("/v1/agents/heartbeat", "/v1/agents/rotate-token") and isinstance(
        case.body, dict
    ):
        token_field = "token" if path.endswith("heartbeat") else "currentToken"
        case.body = {**case.body, "agentId": world.agent_id, token_field: world.agent_token}


@schema.parametrize()
@schema.given(caller=st.sampled_from(CALLERS), real_ids=st.booleans())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_answer_is_documented(
    case: schemathesis.Case, caller: str, real_ids: bool, world: World, system: RunningSystem
) -> None:
    if real_ids:
        _real_path_ids(case, world)
    _credentials(case, world, caller)
    if case.body is not None:
        case.body = _loopback_targets(case.body)
    if case.query:
        case.query = _loopback_targets(case.query)
    if not world.budget.allows(case.operation.label):
        # Stops Hypothesis at once: no more cases generated for this operation.
        pytest.skip(f"time budget: {world.budget.sent} requests sent, the rest not generated")
    try:
        response = case.call_and_validate(base_url=system.base_url, checks=CHECKS, timeout=30)
    except Exception:
        world.budget.failing = True
        raise
    world.requests += 1
    world.statuses[(case.operation.label, response.status_code)] += 1
    if case.operation.path == "/v1/agents/rotate-token" and response.status_code == 200:
        world.agent_token = response.json()["newToken"]

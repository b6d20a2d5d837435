"""Task executors with real subprocesses and a real local HTTP server, through the registry
and runner that publish progress, log lines and the result."""

from __future__ import annotations

import asyncio
import socket
import sys
import time

from tests.agent.recorder import Published

from agentplane.agent.tasks import TaskRunner, default_registry
from agentplane.contracts.channel import TaskOfferBody, TaskOutcome
from agentplane.contracts.subjects import AgentChannel


def offer(
    task_type: str, payload: dict[str, object], timeout: float | None = None
) -> TaskOfferBody:
    return TaskOfferBody(
        task_id=f"t-{time.monotonic_ns()}", task_type=task_type, payload=payload,
        timeout_seconds=timeout,
    )  # fmt: skip


def run(published: Published, body: TaskOfferBody) -> object:
    return asyncio.run(TaskRunner(default_registry(), published).run(body))


def test_shell_streams_lines_in_order_and_reports_the_exit_code(published: Published) -> None:
    script = (
        "import sys\nfor i in range(3): print('line', i, flush=True)\nsys.stderr.write('oops\\n')"
    )
    result = run(published, offer("shell", {"argv": [sys.executable, "-c", script]}))
    assert result.outcome == TaskOutcome.SUCCEEDED  # type: ignore[attr-defined]
    assert result.result["exit_code"] == 0 and result.result["stdout_lines"] == 3  # type: ignore[attr-defined]
    lines = published.of(AgentChannel.TASK_LOG)
    stdout = [(entry.seq, entry.line) for entry in lines if entry.stream == "stdout"]
    assert [line for _, line in stdout] == ["line 0", "line 1", "line 2"]
    assert [entry.line for entry in lines if entry.stream == "stderr"] == ["oops"]
    assert sorted(entry.seq for entry in lines) == list(range(4))
    states = [p.state for p in published.of(AgentChannel.TASK_PROGRESS)]
    assert states == ["accepted", "running"]
    assert published.of(AgentChannel.TASK_RESULT) == [result]


def test_shell_non_zero_exit_fails_with_its_code(published: Published) -> None:
    result = run(published, offer("shell", {"argv": ["sh", "-c", "exit 7"]}))
    assert result.outcome == TaskOutcome.FAILED  # type: ignore[attr-defined]
    assert result.result["exit_code"] == 7 and result.error == "exit code 7"  # type: ignore[attr-defined]


def test_shell_timeout_kills_the_process_group(published: Published) -> None:
    started = time.monotonic()
    body = offer("shell", {"argv": ["sh", "-c", "echo start; sleep 30 & sleep 30"]}, timeout=0.5)
    result = run(published, body)
    assert time.monotonic() - started < 5
    assert result.outcome == TaskOutcome.TIMED_OUT  # type: ignore[attr-defined]
    assert [e.line for e in published.of(AgentChannel.TASK_LOG)] == ["start"]


def test_shell_payload_errors_and_missing_programs_fail_clearly(published: Published) -> None:
    bad = run(published, offer("shell", {"argv": "echo hi"}))
    assert bad.outcome == TaskOutcome.FAILED and "argv" in bad.error  # type: ignore[attr-defined]
    missing = run(published, offer("shell", {"argv": ["/nonexistent/program"]}))
    assert missing.outcome == TaskOutcome.FAILED and "cannot start" in missing.error  # type: ignore[attr-defined]


def test_unknown_task_type_fails_naming_the_known_ones(published: Published) -> None:
    result = run(published, offer("teleport", {}))
    assert result.outcome == TaskOutcome.FAILED  # type: ignore[attr-defined]
    assert "unknown task type 'teleport'" in result.error and "http, shell" in result.error  # type: ignore[attr-defined]


def test_cancel_ends_a_running_task_as_cancelled(published: Published) -> None:
    async def scenario() -> object:
        runner = TaskRunner(default_registry(), published)
        body = offer("shell", {"argv": ["sleep", "30"]})
        running = asyncio.create_task(runner.run(body))
        await asyncio.sleep(0.3)
        assert runner.describe() == [body.task_id]
        assert runner.cancel(body.task_id) is True
        result = await asyncio.wait_for(running, 5)
        assert runner.describe() == []
        return result

    result = asyncio.run(scenario())
    assert result.outcome == TaskOutcome.CANCELLED  # type: ignore[attr-defined]
    assert published.of(AgentChannel.TASK_RESULT) == [result]


def test_a_repeated_offer_of_a_running_task_runs_it_once(published: Published) -> None:
    async def scenario() -> None:
        runner = TaskRunner(default_registry(), published)
        body = offer("shell", {"argv": ["sh", "-c", "sleep 0.3; echo once"]})
        first, second = await asyncio.gather(runner.run(body), runner.run(body))
        assert first == second

    asyncio.run(scenario())
    assert [e.line for e in published.of(AgentChannel.TASK_LOG)] == ["once"]
    assert len(published.of(AgentChannel.TASK_RESULT)) == 1


def test_a_draining_agent_refuses_new_tasks(published: Published) -> None:
    async def scenario() -> object:
        runner = TaskRunner(default_registry(), published)
        runner.draining = True
        return await runner.run(offer("shell", {"argv": ["true"]}))

    result = asyncio.run(scenario())
    assert result.outcome == TaskOutcome.FAILED and "draining" in result.error  # type: ignore[attr-defined]


def test_http_reports_status_timing_and_sends_method_headers_body(
    published: Published, http_server: str
) -> None:
    payload = {
        "method": "POST", "url": f"{http_server}/echo", "headers": {"X-Test": "yes"},
        "body": "hello",
    }  # fmt: skip
    result = run(published, offer("http", payload))
    assert result.outcome == TaskOutcome.SUCCEEDED  # type: ignore[attr-defined]
    assert result.result["status"] == 200 and result.result["elapsed_ms"] >= 0  # type: ignore[attr-defined]
    echoed = result.result["body"]  # type: ignore[attr-defined]
    assert '"method": "POST"' in echoed and '"body": "hello"' in echoed and '"yes"' in echoed


def test_http_error_status_is_a_completed_request(published: Published, http_server: str) -> None:
    result = run(published, offer("http", {"url": f"{http_server}/missing"}))
    assert result.outcome == TaskOutcome.SUCCEEDED and result.result["status"] == 404  # type: ignore[attr-defined]


def test_http_unreachable_and_invalid_payloads_fail(published: Published) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = run(published, offer("http", {"url": f"http://127.0.0.1:{port}/"}))
    assert refused.outcome == TaskOutcome.FAILED and "ConnectError" in refused.error  # type: ignore[attr-defined]
    invalid = run(published, offer("http", {"url": "ftp://x", "method": "GET"}))
    assert invalid.outcome == TaskOutcome.FAILED and "url" in invalid.error  # type: ignore[attr-defined]
    method = run(published, offer("http", {"url": "http://x", "method": "BREW"}))
    assert method.outcome == TaskOutcome.FAILED and "method" in method.error  # type: ignore[attr-defined]

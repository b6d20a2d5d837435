"""Seed 000 remote commands as the agent runs them; every command ends in a result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agentplane.contracts.channel import CommandAction, CommandBody, CommandOutcome, CommandResult

NOT_SUPPORTED = "not supported by this agent version"


def _result(
    body: CommandBody, ok: bool, result: dict[str, Any] | None = None, error: str | None = None
) -> CommandResult:
    return CommandResult(
        command_id=body.command_id,
        outcome=CommandOutcome.SUCCEEDED if ok else CommandOutcome.FAILED,
        result=result or {},
        error=error,
        finished_at=datetime.now(UTC),
    )


class Commands:
    """Runs a command; `restart` and `stop` only say what follows, the runtime does it after
    the result went out (so the hub always hears how the command ended)."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        allowed: Callable[[str, int], bool] = lambda host, port: True,
    ) -> None:
        self.status = status
        # Whether this agent carries tunnels to host:port at all (its `--allow` list).
        self.allowed = allowed

    def execute(self, body: CommandBody) -> tuple[CommandResult, str | None]:
        """The result and the follow-up action (`restart`, `stop` or None)."""
        if body.expires_at <= datetime.now(UTC):
            return _result(body, False, error="command expired before it reached the agent"), None
        if body.action == CommandAction.STATUS:
            return _result(body, True, self.status()), None
        if body.action == CommandAction.RESTART:
            return _result(body, True, {"restarting": True}), "restart"
        if body.action == CommandAction.STOP:
            return _result(body, True, {"stopping": True}), "stop"
        if body.action == CommandAction.EXPOSE:
            return self._expose(body), None
        if body.action == CommandAction.REACH:
            return _result(body, False, error=f"{body.action.value}: {NOT_SUPPORTED}"), None
        return _result(body, False, error=f"unknown command action {body.action!r}"), None

    def _expose(self, body: CommandBody) -> CommandResult:
        """The hub registered the service; the agent says whether it will carry its tunnels
        (tunnel streams open only to targets the registration names, within `--allow`)."""
        params = body.params
        host, port = params.get("targetHost"), params.get("targetPort")
        if not isinstance(host, str) or not isinstance(port, int) or not params.get("serviceId"):
            return _result(body, False, error="expose: the hub sent no registered service")
        if not self.allowed(host, port):
            return _result(body, False, error=f"expose: {host}:{port} is not in this agent's "
                                              "--allow list")  # fmt: skip
        shown = {k: params.get(k) for k in ("serviceId", "name", "tunnelPort", "protocol")}
        return _result(body, True, {**shown, "target": f"{host}:{port}"})


def unknown_command(command_id: str, action: object) -> CommandResult:
    """A command whose action this agent does not know (a newer hub): fail it, loudly."""
    return CommandResult(
        command_id=command_id,
        outcome=CommandOutcome.FAILED,
        error=f"unknown command action {str(action)[:100]!r}: {NOT_SUPPORTED}",
        finished_at=datetime.now(UTC),
    )

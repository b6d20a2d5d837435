"""Seed 000 remote commands, and their state (operator endpoints of DESIGN §1)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from agentplane.contracts.channel import MAX_PARAMS_BYTES
from agentplane.contracts.commands import (
    COMMAND_PAGE_DEFAULT,
    COMMAND_PAGE_MAX,
    DEFAULT_COMMAND_TTL_SECONDS,
    CancelCommand,
    CommandAccepted,
    CommandPage,
    CommandView,
    GetCommand,
    ListCommands,
    SendCommand,
)
from agentplane.contracts.errors import too_large
from agentplane.contracts.http.commands import CommandBody
from agentplane.contracts.subjects import Messaging
from agentplane.gateway.auth import Bus, Workspace, app_bus
from agentplane.gateway.formats import iso_ms
from agentplane.gateway.idempotency import checked_key
from agentplane.gateway.path_ids import agent_uuid

router = APIRouter(tags=["remote commands (seed 000)"])

NEXT_CURSOR = "X-Next-Cursor"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request (the field is named)"},
    401: {"description": "Missing or invalid API key"},
    404: {"description": "Agent (or command) not found in this workspace"},
    503: {"description": "A service is unavailable; try again"},
}


def command_json(view: CommandView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "commandId": view.command_id,
        "agentId": str(view.agent_id),
        "action": view.action.value,
        "status": view.status,
        "result": view.result,
        "error": view.error,
        "createdAt": iso_ms(view.created_at),
        "updatedAt": iso_ms(view.updated_at),
        "expiresAt": iso_ms(view.expires_at),
        "deliveredAt": iso_ms(view.delivered_at),
        "acknowledgedAt": iso_ms(view.acknowledged_at),
        "finishedAt": iso_ms(view.finished_at),
    }
    if view.params is not None:
        body["params"] = view.params
    return body


@router.post(
    "/v1/agents/{agent_id}/command",
    responses={
        **ERRORS,
        409: {"description": "Idempotency-Key used for another command"},
        413: {"description": f"params larger than {MAX_PARAMS_BYTES} bytes"},
    },
)
async def send_command(
    agent_id: str,
    body: CommandBody,
    ws: Workspace,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Send a command; an offline agent gets it when it reconnects, in the order sent."""
    target = agent_uuid(agent_id)
    if len(json.dumps(body.params, separators=(",", ":")).encode()) > MAX_PARAMS_BYTES:
        raise too_large(f"params larger than {MAX_PARAMS_BYTES} bytes", field="params")
    checked_key(idempotency_key)
    cmd = SendCommand(
        workspace_id=ws.workspace_id,
        agent_id=target,
        action=body.action,
        params=body.params,
        ttl_seconds=body.ttl_seconds or DEFAULT_COMMAND_TTL_SECONDS,
        idempotency_key=idempotency_key,
    )
    bus = app_bus(request)
    accepted = CommandAccepted.model_validate(await bus.request(Messaging.COMMAND_SEND, cmd))
    return {
        "success": True,
        "commandId": accepted.command.command_id,
        "message": f"Command '{body.action.value}' sent to agent",
        "agentOnline": accepted.agent_online,
    }


@router.get("/v1/agents/{agent_id}/commands", responses=ERRORS)
async def list_commands(
    agent_id: str,
    ws: Workspace,
    bus: Bus,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=COMMAND_PAGE_MAX)] = COMMAND_PAGE_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> list[dict[str, Any]]:
    """The agent's commands, newest first; the next page's cursor is in `X-Next-Cursor`."""
    query = ListCommands(
        workspace_id=ws.workspace_id, agent_id=agent_uuid(agent_id), limit=limit, cursor=cursor
    )
    page = CommandPage.model_validate(await bus.request(Messaging.COMMAND_LIST, query))
    if page.next_cursor:
        response.headers[NEXT_CURSOR] = page.next_cursor
    return [command_json(c) for c in page.commands]


@router.get("/v1/agents/{agent_id}/commands/{command_id}", responses=ERRORS)
async def get_command(agent_id: str, command_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """One command: its state with timestamps, and the agent's result once it finished."""
    query = GetCommand(
        workspace_id=ws.workspace_id, agent_id=agent_uuid(agent_id), command_id=command_id[:100]
    )
    return command_json(CommandView.model_validate(await bus.request(Messaging.COMMAND_GET, query)))


@router.delete(
    "/v1/agents/{agent_id}/commands/{command_id}",
    responses={**ERRORS, 409: {"description": "The command was already delivered or ended"}},
)
async def cancel_command(agent_id: str, command_id: str, ws: Workspace, bus: Bus) -> dict[str, Any]:
    """Cancel a command that has not been delivered yet."""
    cmd = CancelCommand(
        workspace_id=ws.workspace_id, agent_id=agent_uuid(agent_id), command_id=command_id[:100]
    )
    view = CommandView.model_validate(await bus.request(Messaging.COMMAND_CANCEL, cmd))
    return {"success": True, **command_json(view)}

"""The registry's read model: workspaces, their key hashes, and agents.

Agents are listed per workspace in creation order (`sort` = creation time), and their live
tokens once more by expiry (`AGENT_EXPIRY`, soonest first); a deleted agent leaves both
lists (its document stays, unscoped, for lookups by id).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from agentplane.eventstore.paging import sort_key
from agentplane.eventstore.views import ViewTx
from agentplane.registry.catalog_projection import apply_catalog
from agentplane.registry.domain import Agent, CredentialsRevoked, Workspace
from agentplane.registry.domain.workspace import external_id

WORKSPACE = "workspace"
WORKSPACE_KEY = "workspace_key"
AGENT = "agent"
# Agents whose token can still expire (not deleted, terminated or revoked), by expiry time.
AGENT_EXPIRY = "agent_expiry"
# The `AgentSummary` of each agent, in the same scope and order as its `AGENT` document.
AGENT_SUMMARY = "agent_summary"
SUMMARY_FIELDS = ("id", "name", "label", "created_at")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def agent_doc(event: Agent.Provisioned | Agent.Registered | Agent.Enrolled) -> dict[str, Any]:
    """The view document of a newly created agent (also its first `AgentRecord`)."""
    agent_id = str(event.originator_id)
    return {
        "id": agent_id,
        "workspace_id": event.workspace_id,
        "name": event.name,
        "label": event.label,
        "client_type": getattr(event, "client_type", None),
        "dialect": getattr(event, "dialect", "v1"),
        "attributes": getattr(event, "attributes", {}),
        "registered": not isinstance(event, Agent.Provisioned),
        "created_at": _iso(event.timestamp),
        "token_prefix": event.token_prefix,
        "token_expires_at": _iso(event.token_expires_at),
        "capabilities": [],
        "services": [],
        "deleted": False,
        "terminated_at": None,
    }


class RegistryProjection:
    """Pure mapping of registry events onto view documents."""

    name = "registry"
    # 2: agents ordered by creation, as summaries too, and indexed by token expiry (a replay
    # fills them).
    version = 2

    def apply(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        if isinstance(event, Workspace.Created):
            ws_id = external_id(event.originator_id)
            tx.put(
                WORKSPACE,
                ws_id,
                {"workspace_id": ws_id, "workspace_name": event.name, "tier": event.tier},
            )
            # Keyed hash → workspace: how a presented key is resolved without scanning.
            tx.put(WORKSPACE_KEY, event.api_key_hash, {"workspace_id": ws_id})
        elif isinstance(event, Agent.Provisioned | Agent.Registered | Agent.Enrolled):
            doc = agent_doc(event)
            sort = sort_key(event.timestamp)
            tx.put(AGENT, doc["id"], doc, scope=event.workspace_id, sort=sort)
            tx.put(AGENT_SUMMARY, doc["id"], _summary(doc), scope=event.workspace_id, sort=sort)
            _index_expiry(doc, tx)
        elif not apply_catalog(event, tx):
            self._change_agent(event, tx)

    def _change_agent(self, event: DomainEventProtocol[Any], tx: ViewTx) -> None:
        doc = tx.get(AGENT, str(event.originator_id))
        if doc is None:
            return
        if isinstance(event, Agent.RegistrationCompleted):
            doc.update(name=event.name, label=event.label, registered=True)
        elif isinstance(event, Agent.TokenRotated):
            doc.update(
                token_prefix=event.token_prefix, token_expires_at=_iso(event.token_expires_at)
            )
        elif isinstance(event, Agent.CapabilitiesReplaced):
            doc["capabilities"] = event.capabilities
        elif isinstance(event, Agent.AttributesUpdated):
            doc["attributes"] = {**doc.get("attributes", {}), **event.changes}
        elif isinstance(event, Agent.Deleted):
            doc["deleted"] = True
        elif isinstance(event, CredentialsRevoked):
            # Revoked tokens are not "expiring" (seed 000 expiring-tokens leaves them out).
            doc["revoked"] = True
        elif isinstance(event, Agent.Terminated):
            doc["terminated_at"] = _iso(event.at)
        else:
            return
        scope = "" if doc["deleted"] else doc["workspace_id"]
        tx.put(AGENT, doc["id"], doc, scope=scope)
        tx.put(AGENT_SUMMARY, doc["id"], _summary(doc), scope=scope)
        _index_expiry(doc, tx)


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    return {field: doc[field] for field in SUMMARY_FIELDS}


def _index_expiry(doc: dict[str, Any], tx: ViewTx) -> None:
    """Keep the agent in the expiry index while its token can still expire."""
    live = not (doc["deleted"] or doc.get("terminated_at") or doc.get("revoked"))
    if live and doc.get("token_expires_at"):
        entry = {"id": doc["id"], "name": doc["name"], "token_expires_at": doc["token_expires_at"]}
        sort = sort_key(doc["token_expires_at"])
        tx.put(AGENT_EXPIRY, doc["id"], entry, scope=doc["workspace_id"], sort=sort)
    else:
        tx.delete(AGENT_EXPIRY, doc["id"])
